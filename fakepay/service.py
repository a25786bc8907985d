"""The fake payment server's core: what every endpoint does, with no HTTP in it.

``PaymentService`` holds one instance's parts (the store, the clock, the secrets, the failure
policy, the journal), carries out the four operations over them, and can return to its
scenario's start at any time. It publishes every change to ``events``.
"""

from __future__ import annotations

import copy
import gc
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TextIO

from .auth import Authenticator
from .calls import Call, Decision
from .clock import Clock
from .errors import (
    AlreadyCancelled,
    AlreadyPaid,
    InvalidRequest,
    PaymentFailed,
    PaymentNotFound,
    PaymentNotPaid,
    StateReset,
)
from .events import Events
from .journal import Journal
from .payments import CANCELLED, FAILED, PAID, Payment, PaymentStore
from .policy import FailurePolicy
from .rules import Attempt, Kind, Operation
from .scenario import Scenario, SeedPayment
from .validation import InstantPaymentRequest
from .views import clock_data, config_data, payment_data
from .wire import dumps, encode_payment, encode_receipt

__all__ = ["Epochs", "PaymentService"]

#: How many lookups' answers are remembered (then forgotten all at once), and how long one may be.
ANSWERS_KEPT = 10_000
ANSWER_KEPT_BYTES = 1024
#: Seeding at least this many payments at once moves everything that exists to the collector's
#: permanent generation (``gc.freeze``), so that full collections stay short with millions stored.
FREEZE_AFTER = 10_000


#: What a call asks, by operation.
_ASKED = {
    Operation.AUTH: "issuing the secret of '{}'",
    Operation.GET: "lookup of payment '{}'",
    Operation.CANCEL: "cancel of payment '{}'",
    Operation.INSTANT: "payment '{}'",
}


def _random_seed() -> int:
    return int.from_bytes(os.urandom(4), "big")


class Epochs:
    """Which state a request was sent to. Every reset (of everything, or of one owner) begins a
    new epoch; a request that began in an older one has outlived the state it was sent to."""

    #: How many owners' last resets are remembered; past that the oldest is forgotten, and a
    #: request older than it counts as outlived whatever its owner.
    OWNERS_KEPT = 10_000

    def __init__(self) -> None:
        #: The epoch a request that arrives now begins in.
        self.current = 0
        self._everything = 0
        self._owners: dict[str, int] = {}
        self._forgotten = 0

    def begin(self, owner: str | None = None) -> None:
        """A reset of everything (``owner`` None) or of ``owner``'s store begins a new epoch."""
        self.current += 1
        if owner is None:
            self._everything = self.current
            self._owners = {}
            return
        self._owners.pop(owner, None)  # to the end: the dict stays in the order of the resets
        self._owners[owner] = self.current
        if len(self._owners) > self.OWNERS_KEPT:
            oldest = next(iter(self._owners))
            self._forgotten = self._owners.pop(oldest)

    def outlived(self, epoch: int, owner: str | None) -> bool:
        """Whether a request that began in ``epoch`` (for ``owner``, if known) was sent to a state
        that has since been reset."""
        if epoch < self._everything:
            return True
        return owner is not None and epoch < self._owners.get(owner, self._forgotten)


class PaymentService:
    """One fake CEOS payment server: its scenario, state and behaviour."""

    scenario: Scenario
    config: Scenario
    start_seed: int
    clock: Clock
    auth: Authenticator
    store: PaymentStore

    def __init__(self, scenario: Scenario | None = None, *, journal_sink: TextIO | None = None) -> None:
        self.events = Events()
        self.journal = Journal(sink=journal_sink, events=self.events)
        self.policy = FailurePolicy(self.events)
        self.epochs = Epochs()
        #: Told of every reset (its owner, None for everything), to let go of requests held for it.
        self.reset_listeners: list[Callable[[str | None], None]] = []
        self.load(scenario or Scenario())

    # -- scenario, reset, configuration ------------------------------------------------------

    def load(self, scenario: Scenario) -> None:
        """Make ``scenario`` the start of this instance, and go there."""
        self.scenario = scenario
        self.start_seed = scenario.seed if scenario.seed is not None else _random_seed()
        self.reset()
        if self.events.subscribers:
            self.events.publish("scenario", scenario=scenario.name, seed=self.policy.seed)

    def reset(self, owner: str | None = None) -> None:
        """Return to the scenario's start; with ``owner``, only that store's payments, random
        stream and journal entries. Requests in flight are kept out of the new state (see
        ``decide``), and those held are let go."""
        self.epochs.begin(owner)
        self._answers: dict[tuple[str, str], tuple[Payment, bytes]] = {}
        if owner is not None:
            self.store.clear(owner)
            self.policy.forget(owner)
            self.journal.clear(owner)
            self._seed_payments(p for p in self.scenario.payments if p.owner == owner)
        else:
            self._reset_all()
        for listener in self.reset_listeners:
            listener(owner)
        if self.events.subscribers:
            self.events.publish("reset", owner=owner)

    def _reset_all(self) -> None:
        self.config = self.scenario
        self.policy.restart(self.start_seed, self.scenario.rules)
        self._set_clock()
        self._build_auth()
        self.store = PaymentStore()
        self.journal.clear(max_entries=self.scenario.journal_max_entries)
        self._seed_payments(self.scenario.payments)

    def configure(self, patch: Any) -> None:
        """Change part of the configuration in force (until the next reset); ``ScenarioError``
        (nothing changed) when the patch is invalid."""
        config = self.config.patched(patch)
        self.config = config
        if "seed" in patch:
            self.policy.reseed(config.seed if config.seed is not None else _random_seed())
        if "clock" in patch:
            self._set_clock()
        if "auth" in patch or "stores" in patch:
            self._build_auth()
        if "journal" in patch:
            self.journal.resize(config.journal_max_entries)
        if self.events.subscribers:
            self.events.publish("config", config=config_data(self))

    def _set_clock(self) -> None:
        self.clock = Clock(self.config.clock.timezone, self.config.clock.frozen_at)
        self.journal.zone = self.clock.zone

    def _build_auth(self) -> None:
        declared = {s.secret: s.github_id for s in self.config.stores if s.secret}
        self.auth = Authenticator(self.config.auth.signing_key, self.config.auth.mode, declared)

    def add_payments(self, payments: tuple[SeedPayment, ...]) -> list[Payment]:
        """Store seeded payments (replacing any with the same owner and id)."""
        stored = self._seed_payments(payments)
        if self.events.subscribers:
            for payment in stored:
                self._publish_payment(payment)
        return stored

    def _publish_payment(self, payment: Payment) -> None:
        self.events.publish("payment", payment=payment_data(payment))

    def _seed_payments(self, payments: Iterable[SeedPayment]) -> list[Payment]:
        now = self.clock.now()
        stored = []
        for seed in payments:
            paid_at = None if seed.status == FAILED else (seed.paid_at or now)
            payment = Payment.asked(seed.owner, seed.payment_id, seed.request, seed.status, paid_at,
                                    paid_at or now, paid_at or now)
            self.store.put(payment)
            stored.append(payment)
        if len(stored) >= FREEZE_AFTER:
            gc.freeze()  # the garbage collector need not scan what was just seeded, ever again
        return stored

    # -- the time ----------------------------------------------------------------------------

    def move_clock(self, *, resume: bool = False, freeze: bool = False, at: datetime | None = None,
                   advance_ms: float | None = None) -> None:
        """Resume the clock, then freeze it (at ``at``, or now), then advance it, all or nothing:
        ``InvalidRequest``, and no change, if that leaves the years 1 to 9999 (a running clock:
        1 to 9998, so that it cannot run out of years while it runs)."""
        clock = copy.copy(self.clock)
        if resume:
            clock.resume()
        if freeze:
            clock.freeze(at)
        if advance_ms is not None:
            try:
                clock.advance(timedelta(milliseconds=advance_ms))
            except OverflowError:
                limit = "9999" if clock.frozen else "9998 (the clock is running)"
                raise InvalidRequest(f"advancing the clock by {advance_ms:g} ms leaves the years 1 to {limit}") from None
        self.clock = clock
        if self.events.subscribers:
            self.events.publish("clock", clock=clock_data(self))

    def latency(self) -> float:
        """Seconds to hold the next request (``latency.fixed_ms`` plus seeded jitter)."""
        return self.policy.latency(self.config.latency)

    # -- the public API ----------------------------------------------------------------------

    def identify(self, call: Call) -> None:
        """Note the owner of the call's credentials, or ``Unauthorized``."""
        call.owner = self.auth.owner(call.authorization)

    def decide(self, call: Call) -> Decision:
        """The one decision for a call whose context is complete (path value, owner, parsed
        body), the same for the four operations: carried out or not as the seeded draw and the
        rules say, with the answer to send. The operation's own errors (a payment not found,
        already paid, ...) are raised, and ``StateReset`` for a call that outlived the state it
        was sent to (nothing stored or drawn)."""
        operation, value = call.operation, call.path_value
        assert value is not None
        if call.epoch is not None and self.epochs.outlived(call.epoch, call.owner):
            raise StateReset(_ASKED[operation].format(value))
        if operation is Operation.AUTH:
            decision = self.issue_secret(value)
        else:
            owner = call.owner
            assert owner is not None
            if operation is Operation.GET:
                decision = self.get(owner, value)
            elif operation is Operation.CANCEL:
                decision = self.cancel(owner, value)
            else:
                assert call.payment is not None
                decision = self.pay(owner, value, call.payment)
        fault = decision.fault
        if decision.failed:
            what = _ASKED[operation].format(value)
            decision.failure = PaymentFailed(f"{what} failed: the payment system declined it (simulated failure)",
                                             self.config.failure.status)
        elif fault is not None and fault.kind is Kind.STATUS:
            decision.status, decision.body = fault.status, dumps(fault.body)
        elif decision.value is None:  # the connection is closed before any answer
            pass
        elif operation is Operation.AUTH:
            decision.body, decision.text = decision.value.encode("ascii"), True
        elif operation is Operation.INSTANT:
            decision.body = encode_receipt(decision.value)
        else:
            decision.body = self._encoded(decision.value)
        return decision

    def _encoded(self, payment: Payment) -> bytes:
        """The payment's JSON, remembered for its stored version (a change stores a new object,
        which replaces the old one here too, so nothing remembered can go stale); only small
        answers, and at most ``ANSWERS_KEPT``, so that memory stays bounded."""
        key = payment.owner, payment.payment_id
        cached = self._answers.get(key)
        if cached is not None and cached[0] is payment:
            return cached[1]
        encoded = encode_payment(payment)
        if len(encoded) > ANSWER_KEPT_BYTES:
            self._answers.pop(key, None)  # nor an older version of it
        else:
            if len(self._answers) >= ANSWERS_KEPT:
                self._answers = {}
            self._answers[key] = payment, encoded
        return encoded

    def issue_secret(self, github_id: str) -> Decision:
        """The API secret of ``github_id`` (``InvalidRequest`` for a bad id)."""
        secret = self.auth.issue(github_id)
        return self.policy.decide(Decision(secret), Attempt(Operation.AUTH, github_id))

    def pay(self, owner: str, payment_id: str, request: InstantPaymentRequest) -> Decision:
        """An instant payment: stored ``PAID``, or ``FAILED`` by the seeded draw or a rule."""
        existing = self.store.get(owner, payment_id)
        if existing is not None and (existing.status != FAILED or not self.config.failure.reuse_failed_payment_id):
            raise AlreadyPaid(payment_id, existing.status)
        decision = Decision(None, failed=self.policy.fails(owner, self.config.failure.rate))
        if self.policy.rules:
            decision = self.policy.decide(decision, Attempt(Operation.INSTANT, owner, payment_id, request))
        if decision.fault is not None and not decision.fault.kind.carries_out:
            return decision  # nothing is stored: the connection is closed or a rule's status answers
        now = self.clock.now()
        status, paid_at = (FAILED, None) if decision.failed else (PAID, now)
        created_at, attempts = (now, 1) if existing is None else (existing.created_at, existing.attempts + 1)
        payment = Payment.asked(owner, payment_id, request, status, paid_at, created_at, now, attempts)
        self.store.put(payment)
        if self.events.subscribers:
            self._publish_payment(payment)
        decision.value = payment
        return decision

    def cancel(self, owner: str, payment_id: str) -> Decision:
        """Cancel a ``PAID`` payment."""
        payment = self._payment(owner, payment_id)
        if payment.status == CANCELLED:
            raise AlreadyCancelled(payment_id)
        if payment.status == FAILED:
            raise PaymentNotPaid(payment_id)
        decision = self._decide(Decision(payment), Operation.CANCEL, payment)
        if decision.carried_out:
            decision.value = payment._replace(status=CANCELLED, updated_at=self.clock.now())
            self.store.put(decision.value)
            if self.events.subscribers:
                self._publish_payment(decision.value)
        return decision

    def get(self, owner: str, payment_id: str) -> Decision:
        """Look a payment up."""
        payment = self._payment(owner, payment_id)
        return self._decide(Decision(payment), Operation.GET, payment)

    def _payment(self, owner: str, payment_id: str) -> Payment:
        payment = self.store.get(owner, payment_id)
        if payment is None:
            raise PaymentNotFound(payment_id)
        return payment

    def _decide(self, decision: Decision, operation: Operation, payment: Payment) -> Decision:
        """``decision`` as the rules decide it for ``operation`` on a stored payment."""
        if not self.policy.rules:  # no rule: nothing to match, and no Attempt to build
            return decision
        return self.policy.decide(decision, Attempt(operation, payment.owner, payment.payment_id, payment.request))

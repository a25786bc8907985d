"""The fake payment server's core: what every endpoint does, with no HTTP in it.

``PaymentService`` owns the store, the clock, the failure policy (a seeded draw per payment of
each owner, then rules) and the journal, and can return to its scenario's start at any time. It
publishes every change to ``events``.
"""

from __future__ import annotations

import copy
import gc
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import blake2b
from typing import Any, TextIO

from .auth import Authenticator
from .clock import Clock
from .errors import (
    AlreadyCancelled,
    AlreadyPaid,
    InvalidRequest,
    ItemNotFound,
    PaymentNotFound,
    PaymentNotPaid,
)
from .events import Events
from .journal import Journal
from .payments import CANCELLED, FAILED, PAID, Payment, PaymentStore
from .rules import Attempt, Kind, Outcome, Rule
from .scenario import Scenario, SeedPayment, seed_payment_data
from .validation import InstantPaymentRequest
from .wire import format_local_datetime

__all__ = ["ActiveRule", "PaymentService", "Result"]

#: Seeding at least this many payments at once moves everything that exists to the collector's
#: permanent generation (``gc.freeze``), so that full collections stay short with millions stored.
FREEZE_AFTER = 10_000


@dataclass(slots=True)
class Result:
    """What an operation came to: its value, whether it failed (simulated), and the matching
    rule's fault for the HTTP layer to apply (``delay``, ``timeout``, ``reset``,
    ``lost_response``, ``status``)."""

    value: Any
    failed: bool = False
    fault: Outcome | None = None
    rule: int | None = None

    @property
    def outcome(self) -> str:
        """``ok``, ``failed`` or the fault applied, as the journal shows it."""
        if self.fault is not None:
            return self.fault.kind.value
        return "failed" if self.failed else "ok"

    @property
    def carried_out(self) -> bool:
        """Whether the operation happens: not failed, and no fault that stops it."""
        return not self.failed and (self.fault is None or self.fault.kind.carries_out)


@dataclass(slots=True)
class ActiveRule:
    """A rule in force: its id, and how many more times it may match (None: unlimited)."""

    id: int
    rule: Rule
    remaining: int | None

    def to_data(self) -> dict[str, Any]:
        return {"id": self.id, **self.rule.to_data(), "remaining": self.remaining}


def _random_seed() -> int:
    return int.from_bytes(os.urandom(4), "big")


class PaymentService:
    """One fake CEOS payment server: its scenario, state and behaviour."""

    scenario: Scenario
    config: Scenario
    start_seed: int
    seed: int
    clock: Clock
    auth: Authenticator
    store: PaymentStore
    rules: list[ActiveRule]

    def __init__(self, scenario: Scenario | None = None, *, journal_sink: TextIO | None = None) -> None:
        self.events = Events()
        self.journal = Journal(sink=journal_sink, events=self.events)
        self.load(scenario or Scenario())

    # -- scenario, reset, configuration ------------------------------------------------------

    def load(self, scenario: Scenario) -> None:
        """Make ``scenario`` the start of this instance, and go there."""
        self.scenario = scenario
        self.start_seed = scenario.seed if scenario.seed is not None else _random_seed()
        self.reset()
        if self.events.subscribers:
            self.events.publish("scenario", scenario=scenario.name, seed=self.seed)

    def reset(self, owner: str | None = None) -> None:
        """Return to the scenario's start; with ``owner``, only that store's payments, random
        stream and journal entries."""
        if owner is not None:
            self.store.clear(owner)
            self._draws.pop(owner, None)
            self.journal.clear(owner)
            self._seed_payments(p for p in self.scenario.payments if p.owner == owner)
        else:
            self._reset_all()
        if self.events.subscribers:
            self.events.publish("reset", owner=owner)

    def _reset_all(self) -> None:
        self.config = self.scenario
        self.seed = self.start_seed
        self._set_clock()
        self._build_auth()
        self.store = PaymentStore()
        self._draws: dict[str, int] = {}
        self._latency = random.Random(f"{self.seed}:latency")
        self.rules = [ActiveRule(i, rule, rule.times) for i, rule in enumerate(self.scenario.rules, 1)]
        self._next_rule_id = len(self.rules) + 1
        self.journal.clear(max_entries=self.scenario.journal_max_entries)
        self._seed_payments(self.scenario.payments)

    def configure(self, patch: Any) -> None:
        """Change part of the configuration in force (until the next reset); ``ScenarioError``
        (nothing changed) when the patch is invalid."""
        config = self.config.patched(patch)
        self.config = config
        if "seed" in patch:
            self.seed = config.seed if config.seed is not None else _random_seed()
            self._draws.clear()
            self._latency = random.Random(f"{self.seed}:latency")
        if "clock" in patch:
            self._set_clock()
        if "auth" in patch or "stores" in patch:
            self._build_auth()
        if "journal" in patch:
            self.journal.resize(config.journal_max_entries)
        if self.events.subscribers:
            self.events.publish("config", config=self.config_data())

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

    def _seed_payments(self, payments: Any) -> list[Payment]:
        now = self.clock.now()
        stored = []
        for seed in payments:
            paid_at = None if seed.status == FAILED else (seed.paid_at or now)
            payment = Payment(
                owner=seed.owner,
                payment_id=seed.payment_id,
                store_id=seed.store_id,
                order_name=seed.order_name,
                total_pay_amount=seed.total_pay_amount,
                currency=seed.currency,
                custom_data=seed.custom_data,
                status=seed.status,
                paid_at=paid_at,
                created_at=paid_at or now,
                updated_at=paid_at or now,
            )
            self.store.put(payment)
            stored.append(payment)
        if len(stored) >= FREEZE_AFTER:
            gc.freeze()  # the garbage collector need not scan what was just seeded, ever again
        return stored

    def add_rule(self, rule: Rule) -> ActiveRule:
        """Add a rule after the others (first match wins); it lasts until reset."""
        active = ActiveRule(self._next_rule_id, rule, rule.times)
        self._next_rule_id += 1
        self.rules.append(active)
        self._publish_rules()
        return active

    def delete_rule(self, rule_id: int) -> None:
        """Remove the rule ``rule_id``; ``ItemNotFound`` if there is none."""
        kept = [active for active in self.rules if active.id != rule_id]
        if len(kept) == len(self.rules):
            raise ItemNotFound(f"no rule with id {rule_id}")
        self.rules = kept
        self._publish_rules()

    def clear_rules(self) -> None:
        self.rules = []
        self._publish_rules()

    def _publish_rules(self) -> None:
        if self.events.subscribers:
            self.events.publish("rules", rules=[active.to_data() for active in self.rules])

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
            self.events.publish("clock", clock=self.clock_data())

    def latency(self) -> float:
        """Seconds to hold the next request (``latency.fixed_ms`` plus seeded jitter)."""
        latency = self.config.latency
        if not latency.fixed_ms and not latency.jitter_ms:
            return 0.0
        return (latency.fixed_ms + self._latency.random() * latency.jitter_ms) / 1000

    # -- the public API ----------------------------------------------------------------------

    def issue_secret(self, github_id: str) -> Result:
        """The API secret of ``github_id`` (``InvalidRequest`` for a bad id)."""
        secret = self.auth.issue(github_id)
        return self._decide(Result(secret), Attempt("auth", github_id)) if self.rules else Result(secret)

    def pay(self, owner: str, payment_id: str, request: InstantPaymentRequest) -> Result:
        """An instant payment: stored ``PAID``, or ``FAILED`` by the seeded draw or a rule."""
        existing = self.store.get(owner, payment_id)
        if existing is not None and (existing.status != FAILED or not self.config.failure.reuse_failed_payment_id):
            raise AlreadyPaid(payment_id, existing.status)
        result = Result(None, failed=self._draw(owner) < self.config.failure.rate)
        if self.rules:
            attempt = Attempt("instant", owner, payment_id, request.store_id, request.order_name,
                              request.currency, request.total_pay_amount)
            result = self._decide(result, attempt)
        if result.fault is not None and not result.fault.kind.carries_out:
            return result  # nothing is stored: the connection is closed or a rule's status answers
        now = self.clock.now()
        status, paid_at = (FAILED, None) if result.failed else (PAID, now)
        created_at, attempts = (now, 1) if existing is None else (existing.created_at, existing.attempts + 1)
        payment = Payment(owner, payment_id, request.store_id, request.order_name, request.total_pay_amount,
                          request.currency, request.custom_data, status, paid_at, created_at, now, attempts)
        self.store.put(payment)
        if self.events.subscribers:
            self._publish_payment(payment)
        result.value = payment
        return result

    def cancel(self, owner: str, payment_id: str) -> Result:
        """Cancel a ``PAID`` payment."""
        payment = self._payment(owner, payment_id)
        if payment.status == CANCELLED:
            raise AlreadyCancelled(payment_id)
        if payment.status == FAILED:
            raise PaymentNotPaid(payment_id)
        result = self._decide(Result(payment), self._attempt("cancel", payment)) if self.rules else Result(payment)
        if result.carried_out:
            result.value = payment._replace(status=CANCELLED, updated_at=self.clock.now())
            self.store.put(result.value)
            if self.events.subscribers:
                self._publish_payment(result.value)
        return result

    def get(self, owner: str, payment_id: str) -> Result:
        """Look a payment up."""
        payment = self._payment(owner, payment_id)
        return self._decide(Result(payment), self._attempt("get", payment)) if self.rules else Result(payment)

    def _draw(self, owner: str) -> float:
        """The owner's next number in [0, 1) of the seeded failure stream: the n-th draw of an
        owner depends only on the seed, the owner and n (a counter is all an owner costs)."""
        count = self._draws.get(owner, 0)
        self._draws[owner] = count + 1
        digest = blake2b(f"{self.seed}:{owner}:{count}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def _payment(self, owner: str, payment_id: str) -> Payment:
        payment = self.store.get(owner, payment_id)
        if payment is None:
            raise PaymentNotFound(payment_id)
        return payment

    @staticmethod
    def _attempt(operation: str, payment: Payment) -> Attempt:
        return Attempt(operation, payment.owner, payment.payment_id, payment.store_id, payment.order_name,
                       payment.currency, payment.total_pay_amount)

    def _decide(self, result: Result, attempt: Attempt) -> Result:
        """``result`` as the first matching rule (if any) changes it, the same for every operation:
        ``succeed`` and ``fail`` decide whether it fails; a fault is handed on (a simulated failure
        stands only under ``delay``); a lookup or a secret has no change to lose, so there
        ``lost_response`` is a ``reset``."""
        active = self._match(attempt)
        if active is None:
            return result
        result.rule = active.id
        then = active.rule.then
        if then.kind is Kind.SUCCEED or then.kind is Kind.FAIL:
            result.failed = then.kind is Kind.FAIL
            return result
        read_only = attempt.operation in ("get", "auth")
        result.fault = Outcome(Kind.RESET) if read_only and then.kind is Kind.LOST_RESPONSE else then
        result.failed = result.failed and then.kind is Kind.DELAY
        return result

    def _match(self, attempt: Attempt) -> ActiveRule | None:
        for active in self.rules:
            if active.remaining != 0 and active.rule.when.matches(attempt):
                if active.remaining is not None:
                    active.remaining -= 1
                    self._publish_rules()
                return active
        return None

    # -- what the control API shows ----------------------------------------------------------

    def config_data(self) -> dict[str, Any]:
        """The configuration in force (not its payments or rules), with the seed in use."""
        config = self.config.to_data()
        shown = ("name", "seed", "clock", "auth", "failure", "latency", "journal")
        return {key: self.seed if key == "seed" else config[key] for key in shown}

    def clock_data(self) -> dict[str, Any]:
        return {"now": format_local_datetime(self.clock.now()), "frozen": self.clock.frozen, "timezone": self.clock.timezone}

    def state(self, owner: str | None = None) -> dict[str, Any]:
        """Everything: configuration in force, stores and every payment (of ``owner`` only, if given)."""
        owners = sorted(set(self.store.owners()) | {s.github_id for s in self.config.stores} | set(self._draws))
        if owner is not None:
            owners = [owner]
        payments = [p for o in owners for p in self.store.of(o)]
        return {
            "scenario": self.config.name,
            "seed": self.seed,
            "config": self.config_data(),
            "clock": self.clock_data(),
            "rules": [active.to_data() for active in self.rules],
            "stores": [
                {
                    "githubId": o,
                    "payments": len(self.store.of(o)),
                    "attempts": sum(p.attempts for p in self.store.of(o)),
                }
                for o in owners
            ],
            "payments": [payment_data(p) for p in payments],
        }


def payment_data(payment: Payment) -> dict[str, Any]:
    """Every field of a stored payment, for the control API."""
    return {
        **seed_payment_data(
            SeedPayment(
                payment.owner, payment.payment_id, payment.store_id, payment.order_name, payment.total_pay_amount,
                payment.currency, payment.custom_data, payment.status, payment.paid_at,
            )
        ),
        "attempts": payment.attempts,
        "createdAt": format_local_datetime(payment.created_at),
        "updatedAt": format_local_datetime(payment.updated_at),
    }

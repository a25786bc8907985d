"""What an instance keeps for the CEOS API (its payments and its secrets), and the four
operations carried out on it."""

from __future__ import annotations

import gc
import secrets
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from ...core.calls import Decision
from ...core.errors import PaymentNotFound
from ...core.events import PaymentChanged
from ...core.store import Store
from .errors import AlreadyCancelled, AlreadyPaid, PaymentNotPaid
from .models import InstantPaymentRequest
from .payments import CANCELLED, FAILED, PAID, Payment
from .scenario import SECTION, CeosSection, SeedPayment
from .secrets import DEFAULT_SIGNING_KEY, Authenticator
from .wire import encode_payment

if TYPE_CHECKING:
    from ...core.instance import Instance

__all__ = ["CeosState"]

#: How many lookups' answers are remembered (then forgotten all at once), and how long one may be.
ANSWERS_KEPT = 10_000
ANSWER_KEPT_BYTES = 1024
#: Seeding at least this many payments at once moves everything that exists to the collector's
#: permanent generation (``gc.freeze``), so that full collections stay short with millions stored.
FREEZE_AFTER = 10_000


class CeosState:
    """The payments of every githubId, and the ``Authenticator`` of the configuration in force."""

    store: Store[Payment]
    auth: Authenticator

    def __init__(self, instance: Instance) -> None:
        self._instance = instance
        #: A sandbox signs with a key of its own (kept across resets) unless its scenario names one.
        self._own_key = secrets.token_urlsafe(32) if instance.sandbox is not None else DEFAULT_SIGNING_KEY
        self.store = Store()
        self._answers: dict[tuple[str, str], tuple[Payment, bytes]] = {}

    @property
    def _section(self) -> CeosSection:
        return self._instance.config.section or SECTION.default

    # -- the state's life ---------------------------------------------------------------------

    def reset(self, owner: str | None) -> None:
        self._answers = {}
        payments = (self._instance.scenario.section or SECTION.default).payments
        if owner is not None:
            self.store.clear(owner)
            self._seed(p for p in payments if p.owner == owner)
        else:
            self._build_auth()
            self.store = Store()
            self._seed(payments)

    def configured(self, changed: Collection[str]) -> None:
        if "auth" in changed or "stores" in changed:
            self._build_auth()

    def _build_auth(self) -> None:
        section = self._section
        declared = {s.secret: s.github_id for s in section.stores if s.secret}
        key = self._own_key if section.auth.signing_key == DEFAULT_SIGNING_KEY else section.auth.signing_key
        self.auth = Authenticator(key, section.auth.mode, declared, self._instance.sandbox)

    @property
    def failure_status(self) -> int:
        """The status a simulated failure is answered with."""
        return self._instance.config.failure.status

    def identify(self, authorization: str | None) -> str:
        return self.auth.owner(authorization)

    def secret(self, owner: str) -> str:
        return self.auth.issue(owner)

    # -- what the control API reads and seeds ---------------------------------------------------

    def payment(self, owner: str, payment_id: str) -> Payment | None:
        return self.store.get(owner, payment_id)

    def payments_of(self, owner: str) -> list[Payment]:
        return self.store.of(owner)

    def owners(self) -> Iterable[str]:
        return set(self.store.owners()) | {s.github_id for s in self._section.stores}

    def add_payments(self, seeds: Iterable[SeedPayment]) -> list[Payment]:
        stored = self._seed(seeds)
        events = self._instance.events
        if events.listeners:
            for payment in stored:
                events.publish(PaymentChanged(payment.owner, payment.payment_id, payment))
        return stored

    def _seed(self, seeds: Iterable[SeedPayment]) -> list[Payment]:
        clock = self._instance.clock
        now = clock.now()
        stored = []
        for seed in seeds:
            paid_at = None if seed.status == FAILED else (now if seed.paid_at is None else clock.local(seed.paid_at))
            payment = Payment.asked(seed.owner, seed.payment_id, seed.request, seed.status, paid_at,
                                    paid_at or now, paid_at or now)
            self.store.put(payment.owner, payment.payment_id, payment)
            stored.append(payment)
        if len(stored) >= FREEZE_AFTER:
            gc.freeze()  # the garbage collector need not scan what was just seeded, ever again
        return stored

    # -- the operations -----------------------------------------------------------------------

    def issue_secret(self, github_id: str) -> Decision:
        """The API secret of ``github_id`` (``InvalidRequest`` for a bad id)."""
        secret = self.auth.issue(github_id)
        return self._instance.ruled(Decision(secret), "auth", github_id)

    def pay(self, owner: str, payment_id: str, request: InstantPaymentRequest) -> Decision:
        """An instant payment: stored ``PAID``, or ``FAILED`` by the seeded draw or a rule."""
        instance = self._instance
        existing = self.store.get(owner, payment_id)
        if existing is not None and (existing.status != FAILED or not instance.config.failure.reuse_failed_payment_id):
            raise AlreadyPaid(payment_id, existing.status)
        decision = instance.ruled(Decision(None, failed=instance.fails(owner)), "instant", owner, payment_id, request)
        if decision.fault is not None and not decision.fault.kind.carries_out:
            return decision  # nothing is stored: the connection is closed or a rule's status answers
        now = instance.clock.now()
        status, paid_at = (FAILED, None) if decision.failed else (PAID, now)
        created_at, attempts = (now, 1) if existing is None else (existing.created_at, existing.attempts + 1)
        payment = Payment.asked(owner, payment_id, request, status, paid_at, created_at, now, attempts)
        self._store(payment)
        decision.value = payment
        return decision

    def cancel(self, owner: str, payment_id: str) -> Decision:
        """Cancel a ``PAID`` payment."""
        payment = self._payment(owner, payment_id)
        if payment.status == CANCELLED:
            raise AlreadyCancelled(payment_id)
        if payment.status == FAILED:
            raise PaymentNotPaid(payment_id)
        decision = self._instance.ruled(Decision(payment), "cancel", owner, payment_id, payment.request)
        if decision.carried_out:
            decision.value = payment._replace(status=CANCELLED, updated_at=self._instance.clock.now())
            self._store(decision.value)
        return decision

    def get(self, owner: str, payment_id: str) -> Decision:
        """Look a payment up."""
        payment = self._payment(owner, payment_id)
        return self._instance.ruled(Decision(payment), "get", owner, payment_id, payment.request)

    def _payment(self, owner: str, payment_id: str) -> Payment:
        payment = self.store.get(owner, payment_id)
        if payment is None:
            raise PaymentNotFound(payment_id)
        return payment

    def _store(self, payment: Payment) -> None:
        self.store.put(payment.owner, payment.payment_id, payment)
        events = self._instance.events
        if events.listeners:
            events.publish(PaymentChanged(payment.owner, payment.payment_id, payment))

    def encoded(self, payment: Payment) -> bytes:
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

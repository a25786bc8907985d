"""What an instance keeps for PortOne V2 (payments, billing keys, pre-registrations, access
tokens, of each API secret) and its operations carried out on it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ...core.calls import Decision
from ...core.errors import InvalidRequest, PaymentNotFound, Unauthorized
from ...core.events import PaymentChanged
from ...core.store import Store
from ...core.text import printable, show
from .errors import (
    AlreadyPaid,
    BillingKeyAlreadyDeleted,
    BillingKeyNotFound,
    CancelAmountExceedsCancellableAmount,
    CancellableAmountConsistencyBroken,
    CancelTaxFreeAmountExceedsCancellableTaxFreeAmount,
    InformationMismatch,
    InvalidPaymentToken,
    PaymentAlreadyCancelled,
    PaymentNotPaid,
    SumOfPartsExceedsCancelAmount,
    SumOfPartsExceedsTotalAmount,
)
from .models import FILTER_STATUSES, PAYMENT_STATUSES, Instant
from .payments import (
    CANCELLABLE,
    CANCELLED,
    FAILED,
    PAID,
    PARTIAL_CANCELLED,
    PAY_PENDING,
    PAYABLE,
    READY,
    VIRTUAL_ACCOUNT_ISSUED,
    Cancellation,
    Failure,
    Key,
    Payment,
    new_id,
    owner_id,
)
from .scenario import SECTION, PortOneSection, SeedKey, SeedPayment
from .webhooks import Webhooks
from .wire import encode_payment

if TYPE_CHECKING:
    from ...core.instance import Instance

__all__ = ["ACCESS_TOKEN_S", "REFRESH_TOKEN_S", "PortOneState", "sandbox_of"]

#: How long an access token acts for its secret, and a refresh token may be used, on fakepay's clock.
ACCESS_TOKEN_S = 24 * 3600
REFRESH_TOKEN_S = 7 * 24 * 3600
#: Tokens kept at most (then the oldest are forgotten).
TOKENS_KEPT = 10_000
#: How many lookups' answers are remembered (then forgotten all at once).
ANSWERS_KEPT = 10_000
#: What a declined payment's failure says.
DECLINED = Failure("the payment gateway declined the payment (simulated)", "FAKEPAY_DECLINED",
                   "declined by fakepay's simulated payment gateway")
_SANDBOX_SECRET = re.compile("sbx_([0-9a-f]{16})_")


def sandbox_of(authorization: str) -> str | None:
    """The sandbox a ``PortOne`` secret (or ``Bearer`` token) names: ``sbx_<sandbox id>_…``."""
    match = _SANDBOX_SECRET.match(authorization.strip().partition(" ")[2].strip())
    return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class _Token:
    owner: str
    refresh: bool
    expires: datetime


@dataclass(frozen=True, slots=True)
class _Registered:
    total: int | None
    tax_free: int | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class Page:
    """A page of payments: the items, which page, and how many there are in all."""

    items: list[Payment]
    number: int
    size: int
    total: int


class PortOneState:
    """The payments and billing keys of every API secret."""

    def __init__(self, instance: Instance) -> None:
        self._instance = instance
        #: What a secret of this sandbox starts with (a server's own: none).
        self._prefix = f"sbx_{instance.sandbox}_" if instance.sandbox is not None else ""
        self.payments: Store[Payment] = Store()
        self.keys: Store[Key] = Store()
        self._registered: dict[tuple[str, str], _Registered] = {}
        self._tokens: dict[str, _Token] = {}
        self._answers: dict[tuple[str, str], tuple[Payment, bytes]] = {}
        self.webhooks = Webhooks(instance, lambda: self.section.webhook)

    @property
    def section(self) -> PortOneSection:
        return self._instance.config.section or SECTION.default

    # -- the state's life ---------------------------------------------------------------------

    def reset(self, owner: str | None) -> None:
        self._answers = {}
        self.webhooks.forget(owner)
        start = self._instance.scenario.section or SECTION.default
        if owner is None:
            self.payments, self.keys, self._registered, self._tokens = Store(), Store(), {}, {}
            self._seed(start.payments)
            self._seed_keys(start.billing_keys)
            return
        self.payments.clear(owner)
        self.keys.clear(owner)
        self._registered = {key: value for key, value in self._registered.items() if key[0] != owner}
        self._tokens = {token: value for token, value in self._tokens.items() if value.owner != owner}
        self._seed(p for p in start.payments if p.owner == owner)
        self._seed_keys(k for k in start.billing_keys if k.owner == owner)

    def configured(self, changed: Collection[str]) -> None:
        """Nothing is derived from the configuration: the secrets allowed and where webhooks go are
        read from it as calls come."""

    # -- credentials --------------------------------------------------------------------------

    def identify(self, authorization: str | None) -> str:
        """The secret a ``PortOne <secret>`` or ``Bearer <access token>`` header stands for."""
        if authorization is None:
            raise Unauthorized("an API call needs 'Authorization: PortOne <API secret>' (or 'Bearer <access token>')")
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        scheme = scheme.lower()
        if scheme == "portone":
            return self.owner_of(credential)
        if scheme == "bearer":
            token = self._tokens.get(credential)
            if token is None or token.refresh:
                raise Unauthorized("the access token is not one fakepay issued (POST /login/api-secret issues them)")
            if token.expires <= self._instance.clock.now():
                raise Unauthorized("the access token has expired; refresh it (POST /token/refresh) or log in again")
            return token.owner
        raise Unauthorized("Authorization must be 'PortOne <API secret>' or 'Bearer <access token>', "
                           f"got the scheme {show(scheme)}")

    def owner_of(self, secret: str) -> str:
        """Whose a secret is (itself, less a sandbox's prefix), or ``Unauthorized``: empty, not
        printable, of another sandbox, or not one a scenario's ``secrets`` allow."""
        if not secret or not printable(secret) or any(c.isspace() for c in secret):
            raise Unauthorized("the API secret must be printable text without spaces")
        if self._prefix:
            if not secret.startswith(self._prefix):
                raise Unauthorized("the API secret is not one of this sandbox's")
            owner = secret[len(self._prefix):]
        elif _SANDBOX_SECRET.match(secret):
            raise Unauthorized("the API secret names a sandbox that is gone (deleted, or expired after being idle)")
        else:
            owner = secret
        allowed = self.section.secrets
        if allowed and owner not in allowed:
            raise Unauthorized("the API secret is not one this server accepts (the scenario's 'secrets')")
        return owner

    def owner_named(self, name: str) -> str:
        """The owner a control call names, by its secret or by itself, or ``Unauthorized``."""
        return self.owner_of(name if name.startswith(self._prefix) else self._prefix + name)

    def _stripped(self, name: str) -> str:
        """An owner named by its secret or by itself (unchecked)."""
        return name[len(self._prefix):] if self._prefix and name.startswith(self._prefix) else name

    def secret(self, owner: str) -> str:
        """The API secret that stands for ``owner`` here."""
        return self._prefix + owner

    def login(self, owner: str) -> Decision:
        """An access token and a refresh token for the owner's secret (``owner_of``)."""
        return self._instance.ruled(Decision(self._issue_tokens(owner)), "loginViaApiSecret", owner)

    def refresh(self, refresh_token: str) -> Decision:
        """New tokens for a refresh token's secret (the old refresh token is spent)."""
        token = self._tokens.get(refresh_token)
        if token is None or not token.refresh or token.expires <= self._instance.clock.now():
            raise Unauthorized("the refresh token is not one fakepay issued, was used already, or has expired")
        del self._tokens[refresh_token]
        return self._instance.ruled(Decision(self._issue_tokens(token.owner)), "refreshToken", token.owner)

    def _issue_tokens(self, owner: str) -> dict[str, str]:
        now = self._instance.clock.now()
        if len(self._tokens) >= TOKENS_KEPT:
            for old in list(self._tokens)[: TOKENS_KEPT // 10]:
                del self._tokens[old]
        access, refresh = (f"{self._prefix}{kind}-{secrets.token_urlsafe(24)}" for kind in ("access", "refresh"))
        self._tokens[access] = _Token(owner, False, now + timedelta(seconds=ACCESS_TOKEN_S))
        self._tokens[refresh] = _Token(owner, True, now + timedelta(seconds=REFRESH_TOKEN_S))
        return {"accessToken": access, "refreshToken": refresh}

    # -- what the control API reads and seeds ---------------------------------------------------

    def payment(self, owner: str, payment_id: str) -> Payment | None:
        return self.payments.get(self._stripped(owner), payment_id)

    def payments_of(self, owner: str) -> list[Payment]:
        return self.payments.of(self._stripped(owner))

    def owners(self) -> Iterable[str]:
        return set(self.payments.owners()) | set(self.keys.owners()) | set(self.section.secrets)

    def add_payments(self, seeds: Iterable[SeedPayment]) -> list[Payment]:
        stored = self._seed(seeds)
        for payment in stored:
            self._published(payment)
        return stored

    def _seed(self, seeds: Iterable[SeedPayment]) -> list[Payment]:
        now = self._instance.clock.now()
        stored = [seed.payment(now) for seed in seeds]
        for payment in stored:
            self.payments.put(payment.owner, payment.payment_id, payment)
        return stored

    def _seed_keys(self, seeds: Iterable[SeedKey]) -> None:
        now = self._instance.clock.now()
        for seed in seeds:
            self.keys.put(seed.owner, seed.billing_key, seed.key(now))

    # -- payments -----------------------------------------------------------------------------

    def get(self, owner: str, payment_id: str, store_id: str | None) -> Decision:
        """Look a payment up (of the store named, if one is)."""
        payment = self._payment(owner, payment_id, store_id)
        return self._instance.ruled(Decision(payment), "getPayment", owner, payment_id, payment)

    def encoded(self, payment: Payment) -> bytes:
        """The payment's JSON, remembered for its stored version (a change stores a new record)."""
        key = payment.owner, payment.payment_id
        cached = self._answers.get(key)
        if cached is not None and cached[0] is payment:
            return cached[1]
        encoded = encode_payment(payment)
        if len(self._answers) >= ANSWERS_KEPT:
            self._answers = {}
        self._answers[key] = payment, encoded
        return encoded

    def page(self, owner: str, read: Mapping[str, Any]) -> Decision:
        """A page of the owner's payments that the filter lets through, newest first."""
        page, found = read.get("page", {}), self._filtered(owner, read.get("filter", {}))
        number, size = page.get("number", 0), page.get("size", 10)
        items = found[number * size:(number + 1) * size]
        return self._instance.ruled(Decision(Page(items, number, size, len(found))), "getPayments", owner)

    def _filtered(self, owner: str, terms: Mapping[str, Any]) -> list[Payment]:
        statuses = {PAYMENT_STATUSES[FILTER_STATUSES.index(s)] for s in terms.get("status", ())}
        changed = terms.get("timestampType") == "STATUS_CHANGED_AT"
        since, until = terms.get("from"), terms.get("until")
        found = []
        for payment in self.payments.of(owner):
            at = payment.status_changed_at if changed else payment.requested_at
            if ((statuses and payment.status not in statuses)
                    or ("storeId" in terms and payment.store_id != terms["storeId"])
                    or ("isTest" in terms and payment.is_test != terms["isTest"])
                    or ("currency" in terms and payment.currency != terms["currency"])
                    or (since is not None and at < since) or (until is not None and at >= until)):
                continue
            found.append(payment)
        found.reverse()  # newest first
        return found

    def by_cursor(self, owner: str, read: Mapping[str, Any]) -> Decision:
        """The owner's payments after the cursor, oldest first, each with its cursor."""
        found = self._filtered(owner, {key: read[key] for key in ("storeId", "from", "until") if key in read})
        found.reverse()
        cursor = read.get("cursor")
        start = 0
        if cursor is not None:
            if not cursor.isdigit() or int(cursor) > len(found):
                raise InvalidRequest(f"cursor {show(cursor)} is not one fakepay gave")
            start = int(cursor)
        size = read.get("size", 10)
        items = [(payment, str(start + index + 1)) for index, payment in enumerate(found[start:start + size])]
        return self._instance.ruled(Decision(items), "getAllPaymentsByCursor", owner)

    def pay(self, operation: str, owner: str, payment_id: str, asked: Instant, platform: str = "API",
            outcome: str = PAID, manual: bool = False) -> Decision:
        """A payment: stored ``PAID`` (or as ``outcome`` says), or ``FAILED`` by the seeded draw or
        a rule; a failed or ready id may be paid again."""
        instance = self._instance
        if asked.tax_free + (asked.vat or 0) > asked.total:
            raise SumOfPartsExceedsTotalAmount(f"the tax-free and VAT parts ({asked.tax_free} and {asked.vat or 0}) "
                                               f"are more than the total {asked.total}")
        existing = self.payments.get(owner, payment_id)
        if existing is not None and existing.status not in PAYABLE:
            raise AlreadyPaid(payment_id)
        failed = outcome == FAILED or instance.fails(owner)
        decision = instance.ruled(Decision(None, failed=failed), operation, owner, payment_id, asked)
        if decision.fault is not None and not decision.fault.kind.carries_out:
            return decision
        now = instance.clock.now()
        payment = Payment(
            owner, payment_id, new_id("transaction"), asked.store_id or owner_id("store", owner), asked.channel_key,
            READY, asked.order_name, asked.currency, asked.total, asked.tax_free, asked.vat, asked.method, platform,
            asked.customer, asked.custom_data, asked.billing_key, asked.is_test, asked.notice_urls,
            requested_at=now if existing is None else existing.requested_at, updated_at=now, status_changed_at=now,
            attempts=1 if existing is None else existing.attempts + 1,
        )
        if decision.failed:
            payment = payment.moved(FAILED, now, failure=DECLINED, failed_at=now)
        elif manual or outcome == "CLOSED":
            payment = payment._replace(payment_token=f"payment-token-{secrets.token_urlsafe(16)}" if manual else None)
        elif outcome in (VIRTUAL_ACCOUNT_ISSUED, PAY_PENDING):
            payment = payment.moved(outcome, now, pg_tx_id=new_id("pg"))
        else:
            payment = payment.moved(PAID, now, paid_at=now, pg_tx_id=new_id("pg"))
        self._store(payment, asked.skip_webhook)
        decision.value = payment
        return decision

    def checked_registration(self, owner: str, payment_id: str, total: int, tax_free: int, currency: str) -> None:
        """``InformationMismatch`` unless a checkout's amount is what was pre-registered, if anything was."""
        registered = self._registered.get((owner, payment_id))
        if registered is None:
            return
        for name, given, expected in (("totalAmount", total, registered.total),
                                      ("taxFreeAmount", tax_free, registered.tax_free),
                                      ("currency", currency, registered.currency)):
            if expected is not None and given != expected:
                raise InformationMismatch(f"{name} {show(given)} is not the pre-registered {show(expected)} "
                                          f"of payment '{payment_id}'")

    def pay_with_billing_key(self, owner: str, payment_id: str, asked: Instant) -> Decision:
        """A payment with a billing key of the owner's that is not deleted."""
        assert asked.billing_key is not None
        key = self._key(owner, asked.billing_key)
        if key.deleted_at is not None:
            raise BillingKeyAlreadyDeleted(key.billing_key)
        return self.pay("payWithBillingKey", owner, payment_id, asked)

    def pre_register(self, owner: str, payment_id: str, read: Mapping[str, Any]) -> Decision:
        """Note the amount a checkout of the id must then have."""
        existing = self.payments.get(owner, payment_id)
        if existing is not None and existing.status not in PAYABLE:
            raise AlreadyPaid(payment_id)
        decision = self._instance.ruled(Decision({}), "preRegisterPayment", owner, payment_id)
        if decision.carried_out:
            self._registered[owner, payment_id] = _Registered(read.get("totalAmount"), read.get("taxFreeAmount"),
                                                              read.get("currency"))
        return decision

    def confirm(self, owner: str, payment_id: str, read: Mapping[str, Any]) -> Decision:
        """Confirm a payment a checkout left waiting in manual-confirm mode."""
        payment = self._payment(owner, payment_id, read.get("storeId"))
        if payment.status not in PAYABLE:
            raise AlreadyPaid(payment_id)
        if payment.payment_token is None or payment.payment_token != read["paymentToken"]:
            raise InvalidPaymentToken(f"the paymentToken is not the one the checkout of payment '{payment_id}' gave")
        for name, key, expected in (("totalAmount", "totalAmount", payment.total), ("currency", "currency", payment.currency)):
            if key in read and read[key] != expected:
                raise InformationMismatch(f"{name} {show(read[key])} is not the payment's {show(expected)}")
        instance = self._instance
        decision = instance.ruled(Decision(None, failed=instance.fails(owner)), "confirmPayment", owner, payment_id, payment)
        if decision.fault is not None and not decision.fault.kind.carries_out:
            return decision
        now = instance.clock.now()
        if decision.failed:
            confirmed = payment.moved(FAILED, now, failure=DECLINED, failed_at=now, payment_token=None)
        else:
            confirmed = payment.moved(PAID, now, paid_at=now, pg_tx_id=new_id("pg"), payment_token=None)
        self._store(confirmed, read.get("skipWebhook", False))
        decision.value = confirmed
        return decision

    def deposit(self, owner: str, payment_id: str) -> Decision:
        """The customer's deposit into the virtual account a payment was issued."""
        payment = self._payment(owner, payment_id, None)
        if payment.status != VIRTUAL_ACCOUNT_ISSUED:
            raise InvalidRequest(f"payment '{payment_id}' is {payment.status}, not VIRTUAL_ACCOUNT_ISSUED: "
                                 "there is no virtual account to deposit into")
        decision = self._instance.ruled(Decision(payment), "deposit", owner, payment_id, payment)
        if decision.carried_out:
            now = self._instance.clock.now()
            decision.value = payment.moved(PAID, now, paid_at=now)
            self._store(decision.value)
        return decision

    def cancel(self, owner: str, payment_id: str, read: Mapping[str, Any]) -> Decision:
        """Cancel all that is left of a paid payment, or ``amount`` of it."""
        payment = self._payment(owner, payment_id, read.get("storeId"))
        if payment.status == CANCELLED:
            raise PaymentAlreadyCancelled(payment_id)
        if payment.status not in CANCELLABLE:
            raise PaymentNotPaid(payment_id)
        left = payment.total - payment.cancelled
        tax_free_left = payment.tax_free - payment.cancelled_tax_free
        given = read.get("currentCancellableAmount")
        if given is not None and given != left:
            raise CancellableAmountConsistencyBroken(
                f"currentCancellableAmount {given} is not what is left to cancel of payment '{payment_id}' ({left})")
        amount = read.get("amount", left)
        if amount > left:
            raise CancelAmountExceedsCancellableAmount(
                f"cannot cancel {amount} of payment '{payment_id}': {left} is left to cancel")
        tax_free = read.get("taxFreeAmount", tax_free_left if amount == left else 0)
        if tax_free + read.get("vatAmount", 0) > amount:
            raise SumOfPartsExceedsCancelAmount(
                f"the tax-free and VAT parts ({tax_free} and {read.get('vatAmount', 0)}) are more than the {amount} cancelled")
        if tax_free > tax_free_left:
            raise CancelTaxFreeAmountExceedsCancellableTaxFreeAmount(
                f"cannot cancel a tax-free {tax_free} of payment '{payment_id}': {tax_free_left} of it is left")
        decision = self._instance.ruled(Decision(payment), "cancelPayment", owner, payment_id, payment)
        if decision.carried_out:
            now = self._instance.clock.now()
            cancellation = Cancellation(new_id("cancellation"), amount, tax_free,
                                        read.get("vatAmount", (amount - tax_free) // 11), read["reason"], now, new_id("pg"))
            status = CANCELLED if amount == left else PARTIAL_CANCELLED
            cancelled = payment.moved(status, now, cancellations=(*payment.cancellations, cancellation), cancelled_at=now)
            self._store(cancelled, read.get("skipWebhook", False))
            decision.value = cancellation
        return decision

    def _payment(self, owner: str, payment_id: str, store_id: str | None) -> Payment:
        payment = self.payments.get(owner, payment_id)
        if payment is None or (store_id is not None and payment.store_id != store_id):
            raise PaymentNotFound(payment_id)
        return payment

    def _store(self, payment: Payment, skip_webhook: bool = False) -> None:
        """Store a payment's new version, and send the webhook of its change (unless told to skip it)."""
        before = self.payments.get(payment.owner, payment.payment_id)
        self.payments.put(payment.owner, payment.payment_id, payment)
        self._published(payment)
        self.webhooks.payment(before, payment, skip_webhook)

    def _published(self, payment: Payment) -> None:
        events = self._instance.events
        if events.listeners:
            events.publish(PaymentChanged(payment.owner, payment.payment_id, payment))

    # -- billing keys -------------------------------------------------------------------------

    def issue_key(self, operation: str, owner: str, read: Mapping[str, Any], key_id: str | None = None,
                  failed: bool = False) -> Decision:
        """A new billing key of the owner's (``key_id``, or a new one), or the gateway declining it."""
        instance = self._instance
        billing_key = key_id or new_id("billing-key")
        existing = self.keys.get(owner, billing_key)
        if existing is not None and existing.deleted_at is None:
            raise InvalidRequest(f"billing key '{billing_key}' is issued already")
        failed = failed or instance.fails(owner)
        decision = instance.ruled(Decision(None, failed=failed), operation, owner, billing_key)
        if decision.carried_out:
            key = Key(owner, billing_key, read.get("storeId") or owner_id("store", owner), read.get("channelKey"),
                      read.get("customer", {}), read.get("isTest", True), instance.clock.now())
            self.keys.put(owner, billing_key, key)
            self.webhooks.key(key, "BillingKey.Issued", read.get("skipWebhook", False), read.get("noticeUrls", ()))
            decision.value = key
        return decision

    def get_key(self, owner: str, billing_key: str) -> Decision:
        key = self._key(owner, billing_key)
        return self._instance.ruled(Decision(key), "getBillingKeyInfo", owner, billing_key, key)

    def delete_key(self, owner: str, billing_key: str) -> Decision:
        key = self._key(owner, billing_key)
        if key.deleted_at is not None:
            raise BillingKeyAlreadyDeleted(billing_key)
        decision = self._instance.ruled(Decision(key), "deleteBillingKey", owner, billing_key, key)
        if decision.carried_out:
            decision.value = replace(key, deleted_at=self._instance.clock.now())
            self.keys.put(owner, billing_key, decision.value)
            self.webhooks.key(decision.value, "BillingKey.Deleted")
        return decision

    def resend_webhook(self, owner: str, payment_id: str, read: Mapping[str, Any]) -> Decision:
        """Send a payment's latest webhook again (or the one ``webhookId`` names)."""
        payment = self._payment(owner, payment_id, read.get("storeId"))
        decision = self._instance.ruled(Decision(None), "resendWebhook", owner, payment_id, payment)
        if decision.carried_out:
            decision.value = self.webhooks.resend(payment, read.get("webhookId"))
        return decision

    def _key(self, owner: str, billing_key: str) -> Key:
        key = self.keys.get(owner, billing_key)
        if key is None:
            raise BillingKeyNotFound(billing_key)
        return key

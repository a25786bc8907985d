"""The PortOne part of a scenario: ``secrets`` (those accepted; none: any), ``payments`` seeded in
any status, with their cancellations, and ``billingKeys``, read strictly like the rest of the file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ...core.document import Path, Reader
from ...core.fields import PATH_VALUE, Choice, Field, Group, ListOf, Model, String
from ...core.text import CONTROL_PATTERN, printable, show
from ...core.webhooks import new_secret, secret_key
from .models import (
    AMOUNT,
    AMOUNT_KIND,
    CURRENCY,
    CUSTOMER,
    CUSTOMER_NAME,
    NAME,
    PAYMENT_STATUSES,
    POSITIVE,
    TEXT,
    Timestamp,
    format_timestamp,
    parse_timestamp,
)
from .payments import (
    CANCELLED,
    FAILED,
    PAID,
    PARTIAL_CANCELLED,
    READY,
    VIRTUAL_ACCOUNT_ISSUED,
    Cancellation,
    Failure,
    Key,
    Payment,
    owner_id,
)

__all__ = ["BILLING_KEY", "SECTION", "SEED", "Endpoint", "PortOneSection", "SeedKey", "SeedPayment", "WebhookConfig", "seed_data"]

_METHODS = ("CARD", "VIRTUAL_ACCOUNT", "TRANSFER", "MOBILE", "EASY_PAY")
_SECRET_LENGTH = 2000


def _secret_problem(value: str) -> str | None:
    if len(value) > _SECRET_LENGTH:
        return f"must be at most {_SECRET_LENGTH} characters, got {len(value)}"
    if not printable(value) or any(c.isspace() for c in value):
        return "must be printable text without spaces, as an API secret is"
    return None


#: An API secret, as ``Authorization: PortOne <secret>`` can carry it.
SECRET = String(_secret_problem, {"maxLength": _SECRET_LENGTH, "pattern": f"^[^\\s{CONTROL_PATTERN}]+$"})


@dataclass(frozen=True)
class _Instant(Timestamp):
    """An instant in a scenario: RFC 3339 text, or a YAML timestamp with its offset."""

    def problem(self, value: Any) -> str | None:
        if isinstance(value, datetime):
            return None if value.tzinfo is not None else "needs its offset ('Z' or '+09:00'), as in '2024-04-25T10:00:00Z'"
        if type(value) is str and parse_timestamp(value) is not None:
            return None
        return f"must be an RFC 3339 date-time such as '2024-04-25T10:00:00.000Z', got {show(value, yaml=True)}"

    def read(self, value: Any) -> datetime | None:
        return value if isinstance(value, datetime) else parse_timestamp(value)


INSTANT = _Instant(null=True)
#: What a scenario may say of an amount and of a customer: the fields fakepay keeps, no others.
SEED_AMOUNT = replace(AMOUNT, name="SeedAmount", open=False)
SEED_CUSTOMER = replace(CUSTOMER, name="SeedCustomer", open=False, fields=tuple(
    replace(f, kind=Group(replace(CUSTOMER_NAME, open=False, fields=(CUSTOMER_NAME["full"],))))
    if f.name == "name" else f for f in CUSTOMER.fields))
CANCELLATION = Model("SeedCancellation", (
    Field("amount", POSITIVE, required=True),
    Field("taxFreeAmount", AMOUNT_KIND),
    Field("reason", NAME, required=True),
    Field("cancelledAt", INSTANT, description="Default: the payment's paidAt."),
))
#: A payment a scenario (or ``POST /__fakepay/payments``) puts in the store.
SEED = Model("SeedPayment", (
    Field("owner", SECRET, required=True, description="The API secret whose payment it is."),
    Field("paymentId", PATH_VALUE, required=True),
    Field("status", Choice(PAYMENT_STATUSES, null=True), description="Default PAID; CANCELLED and PARTIAL_CANCELLED "
          "follow from the cancellations."),
    Field("storeId", TEXT),
    Field("channelKey", TEXT),
    Field("orderName", NAME, required=True),
    Field("amount", Group(SEED_AMOUNT), required=True),
    Field("currency", CURRENCY, required=True),
    Field("method", Choice(_METHODS, null=True), description="Default CARD."),
    Field("customData", TEXT),
    Field("customer", Group(SEED_CUSTOMER)),
    Field("billingKey", TEXT),
    Field("requestedAt", INSTANT, description="Default: the clock at start."),
    Field("paidAt", INSTANT, description="Default: requestedAt (a payment not paid has none)."),
    Field("cancellations", ListOf(Group(CANCELLATION), max_items=100, null=True)),
))
#: A billing key a scenario issues.
BILLING_KEY = Model("SeedBillingKey", (
    Field("owner", SECRET, required=True),
    Field("billingKey", PATH_VALUE, required=True),
    Field("status", Choice(("ISSUED", "DELETED"), null=True), description="Default ISSUED."),
    Field("storeId", TEXT),
    Field("channelKey", TEXT),
    Field("issuedAt", INSTANT),
))
_PAID = (PAID, PARTIAL_CANCELLED, CANCELLED)
_SEEDED_FAILURE = Failure("seeded as FAILED", "FAKEPAY_SEEDED", "seeded as FAILED by the scenario")


@dataclass(frozen=True, slots=True)
class SeedPayment:
    """A seeded payment: the fields read, by their names."""

    owner: str
    payment_id: str
    fields: Mapping[str, Any]

    def payment(self, now: datetime) -> Payment:
        """The payment as it is stored when seeded at ``now``: its ids the same at every reset."""
        f = self.fields
        amount = f["amount"]
        requested = f.get("requestedAt") or now
        cancellations = tuple(self._cancellation(index, c, f.get("paidAt") or requested)
                              for index, c in enumerate(f.get("cancellations", ())))
        status = f.get("status") or PAID
        if cancellations:
            status = CANCELLED if sum(c.total for c in cancellations) >= amount["total"] else PARTIAL_CANCELLED
        paid_at = (f.get("paidAt") or requested) if status in _PAID else None
        cancelled_at = max((c.requested_at for c in cancellations), default=None)
        last = max(at for at in (requested, paid_at, cancelled_at) if at is not None)
        return Payment(
            self.owner, self.payment_id, self._id("transaction"), f.get("storeId") or owner_id("store", self.owner),
            f.get("channelKey"), status, f["orderName"], f["currency"], amount["total"], amount.get("taxFree", 0),
            amount.get("vat"), f.get("method") or ("VIRTUAL_ACCOUNT" if status == VIRTUAL_ACCOUNT_ISSUED else "CARD"),
            "API", f.get("customer", {}), f.get("customData"), f.get("billingKey"), True, (), requested, last, last,
            paid_at=paid_at, failure=_SEEDED_FAILURE if status == FAILED else None,
            failed_at=requested if status == FAILED else None, cancellations=cancellations, cancelled_at=cancelled_at,
            pg_tx_id=None if status in (READY, FAILED) else self._id("pg"),
        )

    def _id(self, kind: str, *more: str) -> str:
        """An id of this seeded payment's (``kind-`` and a UUID from its owner, its id and ``more``)."""
        return owner_id(kind, "\n".join((self.owner, self.payment_id, *more)))

    def _cancellation(self, index: int, data: Mapping[str, Any], paid_at: datetime) -> Cancellation:
        tax_free = data.get("taxFreeAmount", 0)
        return Cancellation(self._id("cancellation", str(index)), data["amount"], tax_free,
                            (data["amount"] - tax_free) // 11, data["reason"], data.get("cancelledAt") or paid_at,
                            self._id("pg", str(index)))


@dataclass(frozen=True, slots=True)
class SeedKey:
    """A seeded billing key: the fields read, by their names."""

    owner: str
    billing_key: str
    fields: Mapping[str, Any]

    def key(self, now: datetime) -> Key:
        """The billing key as it is stored when seeded at ``now``."""
        f = self.fields
        issued = f.get("issuedAt") or now
        return Key(self.owner, self.billing_key, f.get("storeId") or owner_id("store", self.owner), f.get("channelKey"),
                   {}, True, issued, issued if f.get("status") == "DELETED" else None)


def _url_problem(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or not printable(value) or " " in value:
        return f"must be an http:// or https:// URL, got {show(value)}"
    return None


def _webhook_secret_problem(value: str) -> str | None:
    try:
        secret_key(value)
    except ValueError:
        return "must be 'whsec_' and the base64 of the key (or the base64 alone), as PortOne's console gives it"
    return None


_URL_LIMITS = {"pattern": "^https?://[^\\s]+$", "maxLength": 2000}
URL = String(_url_problem, _URL_LIMITS)
WEBHOOK_SECRET = String(_webhook_secret_problem, {"pattern": "^(whsec_)?[A-Za-z0-9+/]+=*$"})
#: Where one store's webhooks go instead of the server's.
STORE_ENDPOINT = Model("WebhookEndpoint", (
    Field("storeId", TEXT, required=True),
    Field("url", URL, required=True),
    Field("secret", WEBHOOK_SECRET, description="Default: the server's."),
))
#: Where webhooks go, and the secret that signs them.
WEBHOOK = Model("webhook", (
    Field("url", String(_url_problem, _URL_LIMITS, null=True), description="Where every store's webhooks go (none: nowhere, "
          "unless a payment names its noticeUrls or its store has an endpoint)."),
    Field("secret", WEBHOOK_SECRET, description="The signing secret; default: one made at random when the scenario is read."),
    Field("stores", ListOf(Group(STORE_ENDPOINT), max_items=100, null=True)),
))


@dataclass(frozen=True)
class Endpoint:
    url: str
    secret: str


@dataclass(frozen=True)
class WebhookConfig:
    """Where webhooks go: ``url`` (None: nowhere), signed with ``secret``; a store's own endpoints."""

    url: str | None = None
    secret: str = field(default_factory=new_secret)
    stores: Mapping[str, Endpoint] = field(default_factory=dict)

    def endpoints(self, store_id: str, notice_urls: Sequence[str]) -> list[Endpoint]:
        """Where a webhook of a payment of ``store_id`` goes: to the payment's ``notice_urls``, else to
        its store's endpoint, else to the server's, if there is one."""
        store = self.stores.get(store_id)
        secret = store.secret if store is not None else self.secret
        if notice_urls:
            return [Endpoint(url, secret) for url in notice_urls]
        if store is not None:
            return [store]
        return [] if self.url is None else [Endpoint(self.url, secret)]


@dataclass(frozen=True)
class PortOneSection:
    secrets: tuple[str, ...] = ()
    payments: tuple[SeedPayment, ...] = ()
    billing_keys: tuple[SeedKey, ...] = ()
    webhook: WebhookConfig = field(default_factory=WebhookConfig)


def seed_data(seed: SeedPayment) -> dict[str, Any]:
    """A seeded payment as a scenario writes it."""
    return {"owner": seed.owner, "paymentId": seed.payment_id, **_written(seed.fields)}


def _written(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, Mapping):
        return {key: _written(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_written(item) for item in value]
    return value


class _Section:
    """How a scenario reads and writes the PortOne section."""

    model = Model("portone", (
        Field("secrets", ListOf(SECRET, null=True), description="The API secrets accepted; none listed: any."),
        Field("payments", ListOf(Group(SEED), null=True), description="Seeded payments."),
        Field("billingKeys", ListOf(Group(BILLING_KEY), null=True), description="Seeded billing keys."),
        Field("webhook", Group(WEBHOOK, null=True), description="Where webhooks go, and their signing secret."),
    ))
    seed = SEED
    default = PortOneSection()
    shown: tuple[str, ...] = ("secrets", "webhook")
    patchable: tuple[str, ...] = ("secrets", "webhook")

    def read(self, reader: Reader, document: Mapping[str, Any]) -> PortOneSection:
        secrets = reader.values(Model("secrets", (self.model["secrets"],)), document, ()).get("secrets", ())
        payments = self.seed_payments(reader, reader.sequence(document.get("payments"), ("payments",)), ("payments",))
        keys = _billing_keys(reader, document.get("billingKeys"))
        return PortOneSection(tuple(secrets), payments, keys, _webhook(reader, document.get("webhook")))

    def write(self, section: PortOneSection) -> dict[str, Any]:
        return {
            "secrets": list(section.secrets),
            "payments": [seed_data(p) for p in section.payments],
            "billingKeys": [{"owner": k.owner, "billingKey": k.billing_key, **_written(k.fields)}
                            for k in section.billing_keys],
            "webhook": {"url": section.webhook.url, "secret": section.webhook.secret,
                        "stores": [{"storeId": store_id, "url": endpoint.url, "secret": endpoint.secret}
                                   for store_id, endpoint in section.webhook.stores.items()]},
        }

    def seed_payments(self, reader: Reader, items: list[Any], base: Path) -> tuple[SeedPayment, ...]:
        payments = []
        seen: set[tuple[str, str]] = set()
        for index, item in enumerate(items):
            path: Path = (*base, index)
            before = reader.problem_count
            read = reader.fields(SEED, item, path)
            owner, payment_id = read.get("owner"), read.get("paymentId")
            _check_consistent(reader, read, path)
            if owner is not None and payment_id is not None:
                if (owner, payment_id) in seen:
                    reader.problem((*path, "paymentId"), f"'{payment_id}' is already seeded for owner '{owner}'")
                seen.add((owner, payment_id))
            if reader.problem_count == before:
                fields = {key: value for key, value in read.items() if key not in ("owner", "paymentId")}
                payments.append(SeedPayment(read["owner"], read["paymentId"], fields))
        return tuple(payments)


def _check_consistent(reader: Reader, read: Mapping[str, Any], path: Path) -> None:
    """Report what a seeded payment's fields, each valid, say against each other: its status and
    its cancellations, its amounts, and the order of its instants."""
    status, amount = read.get("status"), read.get("amount", {})
    total, tax_free = amount.get("total"), amount.get("taxFree", 0)
    cancellations = read.get("cancellations", ())
    cancelled = sum(c.get("amount", 0) for c in cancellations)
    for part in ("taxFree", "vat"):
        if total is not None and amount.get(part, 0) > total:
            reader.problem((*path, "amount", part), f"{amount[part]} is more than the total {total}")
    if cancelled and status not in (None, *_PAID):
        reader.problem((*path, "cancellations"), f"a {status} payment has no cancellations")
    elif total is not None and cancelled > total:
        reader.problem((*path, "cancellations"), f"cancel {cancelled} in all, more than the total {total}")
    elif cancelled and status is not None and total is not None:
        follows = CANCELLED if cancelled == total else PARTIAL_CANCELLED
        if status != follows:
            reader.problem((*path, "status"), f"its cancellations ({cancelled} of {total}) make it {follows}, not "
                           f"{status}; leave the status out")
    if status in (CANCELLED, PARTIAL_CANCELLED) and not cancelled:
        reader.problem((*path, "status"), f"a {status} payment needs its cancellations")
    if status not in (None, *_PAID) and "paidAt" in read:
        reader.problem((*path, "paidAt"), f"a {status} payment has no paidAt")
    cancelled_tax_free = 0
    paid_at = read.get("paidAt") or read.get("requestedAt")
    for index, cancellation in enumerate(cancellations):
        part, whole = cancellation.get("taxFreeAmount", 0), cancellation.get("amount")
        cancelled_tax_free += part
        if whole is not None and part > whole:
            reader.problem((*path, "cancellations", index, "taxFreeAmount"), f"{part} is more than its amount {whole}")
        elif cancelled_tax_free > tax_free:
            reader.problem((*path, "cancellations", index, "taxFreeAmount"),
                           f"cancels {cancelled_tax_free} tax-free in all, more than the payment's {tax_free}")
        at = cancellation.get("cancelledAt")
        if at is not None and paid_at is not None and at < paid_at:
            reader.problem((*path, "cancellations", index, "cancelledAt"), "is before the payment was paid")
    if "paidAt" in read and "requestedAt" in read and read["paidAt"] < read["requestedAt"]:
        reader.problem((*path, "paidAt"), "is before requestedAt")


def _webhook(reader: Reader, value: Any) -> WebhookConfig:
    """Where webhooks go; a secret not given is made, the stores' from the server's."""
    if value is None:
        return WebhookConfig()
    read = reader.fields(WEBHOOK, value, ("webhook",))
    secret = read.get("secret") or new_secret()
    stores: dict[str, Endpoint] = {}
    for index, store in enumerate(read.get("stores", ())):
        if store["storeId"] in stores:
            reader.problem(("webhook", "stores", index, "storeId"), f"{show(store['storeId'])} has an endpoint already")
        stores[store["storeId"]] = Endpoint(store["url"], store.get("secret") or secret)
    return WebhookConfig(read.get("url"), secret, stores)


def _billing_keys(reader: Reader, value: Any) -> tuple[SeedKey, ...]:
    keys = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(reader.sequence(value, ("billingKeys",))):
        read = reader.fields(BILLING_KEY, item, ("billingKeys", index))
        if "owner" in read and "billingKey" in read:
            if (read["owner"], read["billingKey"]) in seen:
                reader.problem(("billingKeys", index, "billingKey"),
                               f"'{read['billingKey']}' is already seeded for owner '{read['owner']}'")
            seen.add((read["owner"], read["billingKey"]))
            fields = {key: value for key, value in read.items() if key not in ("owner", "billingKey")}
            keys.append(SeedKey(read["owner"], read["billingKey"], fields))
    return tuple(keys)


#: The PortOne section of a scenario.
SECTION = _Section()

"""The PortOne part of a scenario: ``secrets`` (those accepted; none: any), ``payments`` seeded in
any status, with their cancellations, and ``billingKeys``, read strictly like the rest of the file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...core.document import Path, Reader
from ...core.fields import PATH_VALUE, Choice, Field, Group, ListOf, Model
from .models import (
    AMOUNT,
    AMOUNT_KIND,
    CURRENCY,
    CUSTOMER,
    NAME,
    PAYMENT_STATUSES,
    POSITIVE,
    TEXT,
    Timestamp,
    format_timestamp,
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
    new_id,
    owner_id,
)

__all__ = ["BILLING_KEY", "SECTION", "SEED", "PortOneSection", "SeedKey", "SeedPayment", "seed_data"]

_METHODS = ("CARD", "VIRTUAL_ACCOUNT", "TRANSFER", "MOBILE", "EASY_PAY")
SECRET = NAME
CANCELLATION = Model("SeedCancellation", (
    Field("amount", POSITIVE, required=True),
    Field("taxFreeAmount", AMOUNT_KIND),
    Field("reason", NAME, required=True),
    Field("cancelledAt", Timestamp(null=True), description="Default: the payment's paidAt."),
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
    Field("amount", Group(AMOUNT), required=True),
    Field("currency", CURRENCY, required=True),
    Field("method", Choice(_METHODS, null=True), description="Default CARD."),
    Field("customData", TEXT),
    Field("customer", Group(CUSTOMER)),
    Field("billingKey", TEXT),
    Field("requestedAt", Timestamp(null=True), description="Default: the clock at start."),
    Field("paidAt", Timestamp(null=True), description="Default: requestedAt (a payment not paid has none)."),
    Field("cancellations", ListOf(Group(CANCELLATION), max_items=100, null=True)),
))
#: A billing key a scenario issues.
BILLING_KEY = Model("SeedBillingKey", (
    Field("owner", SECRET, required=True),
    Field("billingKey", PATH_VALUE, required=True),
    Field("status", Choice(("ISSUED", "DELETED"), null=True), description="Default ISSUED."),
    Field("storeId", TEXT),
    Field("channelKey", TEXT),
    Field("issuedAt", Timestamp(null=True)),
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
        """The payment as it is stored when seeded at ``now``."""
        f = self.fields
        amount = f["amount"]
        requested = f.get("requestedAt") or now
        cancellations = tuple(_cancellation(c, f.get("paidAt") or requested) for c in f.get("cancellations", ()))
        status = f.get("status") or PAID
        if cancellations:
            status = CANCELLED if sum(c.total for c in cancellations) >= amount["total"] else PARTIAL_CANCELLED
        paid_at = (f.get("paidAt") or requested) if status in _PAID else None
        last = max([requested, *([paid_at] if paid_at else []), *(c.requested_at for c in cancellations)])
        return Payment(
            self.owner, self.payment_id, new_id("transaction"), f.get("storeId") or owner_id("store", self.owner),
            f.get("channelKey"), status, f["orderName"], f["currency"], amount["total"], amount.get("taxFree", 0),
            amount.get("vat"), f.get("method") or ("VIRTUAL_ACCOUNT" if status == VIRTUAL_ACCOUNT_ISSUED else "CARD"),
            "API", f.get("customer", {}), f.get("customData"), f.get("billingKey"), True, (), requested, last, last,
            paid_at=paid_at, failure=_SEEDED_FAILURE if status == FAILED else None,
            failed_at=requested if status == FAILED else None, cancellations=cancellations,
            cancelled_at=cancellations[-1].requested_at if cancellations else None,
            pg_tx_id=None if status in (READY, FAILED) else new_id("pg"),
        )


def _cancellation(data: Mapping[str, Any], paid_at: datetime) -> Cancellation:
    tax_free = data.get("taxFreeAmount", 0)
    return Cancellation(new_id("cancellation"), data["amount"], tax_free, (data["amount"] - tax_free) // 11,
                        data["reason"], data.get("cancelledAt") or paid_at, new_id("pg"))


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


@dataclass(frozen=True)
class PortOneSection:
    secrets: tuple[str, ...] = ()
    payments: tuple[SeedPayment, ...] = ()
    billing_keys: tuple[SeedKey, ...] = ()


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
    ))
    seed = SEED
    default = PortOneSection()
    shown: tuple[str, ...] = ("secrets",)
    patchable: tuple[str, ...] = ("secrets",)

    def read(self, reader: Reader, document: Mapping[str, Any]) -> PortOneSection:
        secrets = reader.values(Model("secrets", (self.model["secrets"],)), document, ()).get("secrets", ())
        payments = self.seed_payments(reader, reader.sequence(document.get("payments"), ("payments",)), ("payments",))
        keys = _billing_keys(reader, document.get("billingKeys"))
        return PortOneSection(tuple(secrets), payments, keys)

    def write(self, section: PortOneSection) -> dict[str, Any]:
        return {
            "secrets": list(section.secrets),
            "payments": [seed_data(p) for p in section.payments],
            "billingKeys": [{"owner": k.owner, "billingKey": k.billing_key, **_written(k.fields)}
                            for k in section.billing_keys],
        }

    def seed_payments(self, reader: Reader, items: list[Any], base: Path) -> tuple[SeedPayment, ...]:
        payments = []
        seen: set[tuple[str, str]] = set()
        for index, item in enumerate(items):
            path: Path = (*base, index)
            before = reader.problem_count
            read = reader.fields(SEED, item, path)
            owner, payment_id, status = read.get("owner"), read.get("paymentId"), read.get("status")
            cancelled = sum(c["amount"] for c in read.get("cancellations", ()) if "amount" in c)
            if cancelled and status not in (None, *_PAID):
                reader.problem((*path, "cancellations"), f"a {status} payment has no cancellations")
            if "amount" in read and "total" in read["amount"] and cancelled > read["amount"]["total"]:
                reader.problem((*path, "cancellations"), f"cancel {cancelled} in all, more than the total "
                               f"{read['amount']['total']}")
            if status in (CANCELLED, PARTIAL_CANCELLED) and not cancelled:
                reader.problem((*path, "status"), f"a {status} payment needs its cancellations")
            if status not in (None, *_PAID) and "paidAt" in read:
                reader.problem((*path, "paidAt"), f"a {status} payment has no paidAt")
            if owner is not None and payment_id is not None:
                if (owner, payment_id) in seen:
                    reader.problem((*path, "paymentId"), f"'{payment_id}' is already seeded for owner '{owner}'")
                seen.add((owner, payment_id))
            if reader.problem_count == before:
                fields = {key: value for key, value in read.items() if key not in ("owner", "paymentId")}
                payments.append(SeedPayment(read["owner"], read["paymentId"], fields))
        return tuple(payments)


def _billing_keys(reader: Reader, value: Any) -> tuple[SeedKey, ...]:
    keys = []
    for index, item in enumerate(reader.sequence(value, ("billingKeys",))):
        read = reader.fields(BILLING_KEY, item, ("billingKeys", index))
        if "owner" in read and "billingKey" in read:
            fields = {key: value for key, value in read.items() if key not in ("owner", "billingKey")}
            keys.append(SeedKey(read["owner"], read["billingKey"], fields))
    return tuple(keys)


#: The PortOne section of a scenario.
SECTION = _Section()

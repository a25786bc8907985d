"""The wire format of the CEOS payment API: its JSON answers byte for byte and ``LocalDateTime``
text (as fakepay writes any local time: ``fakepay.core.clock``). No HTTP here, only bytes and text."""

from __future__ import annotations

from json.encoder import encode_basestring

from ...core.clock import format_local_datetime
from ...core.fields import PATH_VALUE, Choice, Const, Field, LocalDateTime, Model
from ...core.jsontext import utf8
from .models import CURRENCIES, INSTANT, TEXT
from .payments import STATUSES, Payment

__all__ = ["PAID_AT", "PAYMENT", "RECEIPT", "encode_payment", "encode_receipt"]

#: When a payment was paid: null for a failed one.
PAID_AT = Field("paidAt", LocalDateTime(null=True), description="Null for a failed payment.")
#: The answer to a successful instant payment.
RECEIPT = Model("Receipt", (Field("paymentId", PATH_VALUE), Field("paidAt", LocalDateTime())))
#: The payment the lookup and the cancel answer with.
PAYMENT = Model("Payment", (
    Field("paymentId", PATH_VALUE),
    Field("paymentStatus", Choice(STATUSES)),
    Field("orderName", TEXT),
    Field("pgProvider", Const("CEOS_PAY")),
    Field("currency", Choice(CURRENCIES)),
    INSTANT["customData"],
    PAID_AT,
))


def encode_receipt(payment: Payment) -> bytes:
    """The answer to a successful instant payment: ``RECEIPT``."""
    return utf8(f'{{"paymentId":{encode_basestring(payment.payment_id)},"paidAt":{_paid_at(payment)}}}')


def encode_payment(payment: Payment) -> bytes:
    """The payment object the lookup and the cancel answer with: ``PAYMENT``."""
    custom_data = payment.custom_data
    return utf8(
        f'{{"paymentId":{encode_basestring(payment.payment_id)},"paymentStatus":"{payment.status}",'
        f'"orderName":{encode_basestring(payment.order_name)},"pgProvider":"CEOS_PAY","currency":"{payment.currency}",'
        f'"customData":{"null" if custom_data is None else encode_basestring(custom_data)},'
        f'"paidAt":{_paid_at(payment)}}}'
    )


def _paid_at(payment: Payment) -> str:
    paid_at = payment.paid_at
    return "null" if paid_at is None else f'"{format_local_datetime(paid_at)}"'

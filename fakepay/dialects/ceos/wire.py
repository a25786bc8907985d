"""The wire format of the CEOS payment API: its JSON answers byte for byte and ``LocalDateTime``
text (as fakepay writes any local time: ``fakepay.core.clock``). No HTTP here, only bytes and text."""

from __future__ import annotations

from json.encoder import encode_basestring

from ...core.clock import format_local_datetime
from ...core.jsontext import utf8
from .payments import Payment

__all__ = ["encode_payment", "encode_receipt"]



def encode_receipt(payment: Payment) -> bytes:
    """The answer to a successful instant payment: ``{"paymentId", "paidAt"}``."""
    return utf8(f'{{"paymentId":{encode_basestring(payment.payment_id)},"paidAt":{_paid_at(payment)}}}')


def encode_payment(payment: Payment) -> bytes:
    """The payment object the lookup and the cancel answer with."""
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

"""PortOne V2's JSON, as its OpenAPI document types it: a ``Payment`` of each status with every
field its variant requires (an optional one is left out, never null), a billing key's info and
a cancellation."""

from __future__ import annotations

from typing import Any

from ...core.jsontext import dumps
from .models import format_timestamp
from .payments import CANCELLED, FAILED, PAID, PARTIAL_CANCELLED, READY, Cancellation, Key, Payment, owner_id

__all__ = ["billing_key_data", "cancellation_data", "channel_data", "customer_data", "encode_payment", "payment_data"]

#: The payment gateway every channel of fakepay's stands for.
PG_PROVIDER = "TOSSPAYMENTS"
_METHODS = {
    "CARD": "PaymentMethodCard",
    "VIRTUAL_ACCOUNT": "PaymentMethodVirtualAccount",
    "TRANSFER": "PaymentMethodTransfer",
    "MOBILE": "PaymentMethodMobile",
    "EASY_PAY": "PaymentMethodEasyPay",
}


def channel_data(owner: str, channel_key: str | None, is_test: bool) -> dict[str, Any]:
    """The channel a payment went through: the one its key names, else the secret's own."""
    key = channel_key or owner_id("channel-key", owner)
    return {"type": "TEST" if is_test else "LIVE", "id": owner_id("channel", key), "key": key, "name": "fakepay",
            "pgProvider": PG_PROVIDER, "pgMerchantId": "fakepay"}


def customer_data(customer: Any) -> dict[str, Any]:
    """A customer as PortOne answers it, from what was sent (its name's full text, if any)."""
    data = {key: customer[key] for key in ("id", "email", "phoneNumber") if key in customer}
    name = customer.get("name", {}).get("full")
    return {**data, "name": name} if name is not None else data


def _method(payment: Payment) -> dict[str, Any]:
    method = {"type": _METHODS[payment.method]}
    if payment.method == "VIRTUAL_ACCOUNT":
        method["accountNumber"] = owner_id("account", payment.transaction_id)[8:22].replace("-", "")
    return method


def cancellation_data(cancellation: Cancellation) -> dict[str, Any]:
    at = format_timestamp(cancellation.requested_at)
    return {"status": "SUCCEEDED", "id": cancellation.id, "pgCancellationId": cancellation.pg_cancellation_id,
            "totalAmount": cancellation.total, "taxFreeAmount": cancellation.tax_free, "vatAmount": cancellation.vat,
            "reason": cancellation.reason, "cancelledAt": at, "requestedAt": at}


def payment_data(payment: Payment) -> dict[str, Any]:
    """The payment as ``GET /payments/{paymentId}`` answers it."""
    status = payment.status
    amount: dict[str, Any] = {"total": payment.total, "taxFree": payment.tax_free}
    if payment.vat is not None:
        amount["vat"] = payment.vat
    amount.update(discount=0, paid=payment.paid, cancelled=payment.cancelled, cancelledTaxFree=payment.cancelled_tax_free)
    data: dict[str, Any] = {
        "status": status,
        "id": payment.payment_id,
        "transactionId": payment.transaction_id,
        "merchantId": owner_id("merchant", payment.owner),
        "storeId": payment.store_id,
        "method": _method(payment),
        "channel": channel_data(payment.owner, payment.channel_key, payment.is_test),
        "version": "V2",
        "requestedAt": format_timestamp(payment.requested_at),
        "updatedAt": format_timestamp(payment.updated_at),
        "statusChangedAt": format_timestamp(payment.status_changed_at),
        "orderName": payment.order_name,
        "amount": amount,
        "currency": payment.currency,
        "customer": customer_data(payment.customer),
        "origin": {"platformType": payment.platform, "ipAddress": "127.0.0.1"},
    }
    if status == READY:
        del data["method"]
    if payment.billing_key is not None:
        data["billingKey"] = payment.billing_key
    if payment.custom_data is not None:
        data["customData"] = payment.custom_data
    if payment.pg_tx_id is not None:
        data["pgTxId"] = payment.pg_tx_id
    if payment.paid_at is not None:
        data["paidAt"] = format_timestamp(payment.paid_at)
    if status == PAID:
        data["disputes"] = []
    if status == FAILED and payment.failure is not None and payment.failed_at is not None:
        data["failedAt"] = format_timestamp(payment.failed_at)
        data["failure"] = {"reason": payment.failure.reason, "pgCode": payment.failure.pg_code,
                           "pgMessage": payment.failure.pg_message}
    if status in (PAID, PARTIAL_CANCELLED, CANCELLED) and payment.cancellations:
        data["cancellations"] = [cancellation_data(c) for c in payment.cancellations]
    if status in (PARTIAL_CANCELLED, CANCELLED):
        data.setdefault("cancellations", [])
        assert payment.cancelled_at is not None
        data["cancelledAt"] = format_timestamp(payment.cancelled_at)
    return data


def encode_payment(payment: Payment) -> bytes:
    return dumps(payment_data(payment))


def billing_key_data(key: Key) -> dict[str, Any]:
    """A billing key as ``GET /billing-keys/{billingKey}`` answers it."""
    data: dict[str, Any] = {
        "status": "ISSUED" if key.deleted_at is None else "DELETED",
        "billingKey": key.billing_key,
        "merchantId": owner_id("merchant", key.owner),
        "storeId": key.store_id,
        "methods": [{"type": "BillingKeyPaymentMethodCard"}],
        "channels": [channel_data(key.owner, key.channel_key, key.is_test)],
        "customer": customer_data(key.customer),
        "issuedAt": format_timestamp(key.issued_at),
    }
    if key.deleted_at is not None:
        data["deletedAt"] = format_timestamp(key.deleted_at)
    return data

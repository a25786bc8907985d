"""PortOne V2's own errors (the shared ones, ``INVALID_REQUEST``, ``UNAUTHORIZED``,
``PAYMENT_NOT_FOUND``, are ``fakepay.core.errors``), each with the status PortOne answers it with.

BillingKeyNotFound                      404 BILLING_KEY_NOT_FOUND
AlreadyPaid                             409 ALREADY_PAID
PaymentNotPaid                          409 PAYMENT_NOT_PAID
PaymentAlreadyCancelled                 409 PAYMENT_ALREADY_CANCELLED
CancelAmountExceedsCancellableAmount    409 CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT
CancelTaxFreeAmountExceedsCancellableTaxFreeAmount
                                        409 CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT
CancellableAmountConsistencyBroken      409 CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN
SumOfPartsExceedsCancelAmount           409 SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT
SumOfPartsExceedsTotalAmount            409 SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT
BillingKeyAlreadyDeleted                409 BILLING_KEY_ALREADY_DELETED
InvalidPaymentToken                     400 INVALID_PAYMENT_TOKEN
InformationMismatch                     409 INFORMATION_MISMATCH
PgProvider                              502 PG_PROVIDER (with pgCode and pgMessage)
"""

from __future__ import annotations

from ...core.errors import FakePayError

__all__ = [
    "AlreadyPaid",
    "BillingKeyAlreadyDeleted",
    "BillingKeyNotFound",
    "CancelAmountExceedsCancellableAmount",
    "CancelTaxFreeAmountExceedsCancellableTaxFreeAmount",
    "CancellableAmountConsistencyBroken",
    "InformationMismatch",
    "InvalidPaymentToken",
    "PaymentAlreadyCancelled",
    "PaymentNotPaid",
    "PgProvider",
    "SumOfPartsExceedsCancelAmount",
    "SumOfPartsExceedsTotalAmount",
]


class BillingKeyNotFound(FakePayError, type="BILLING_KEY_NOT_FOUND", status=404):
    """No billing key by this key for this secret; raised with the key."""

    template = "billing key '{}' not found"


class AlreadyPaid(FakePayError, type="ALREADY_PAID", status=409):
    """A payment (or pre-registration) of an id already paid, cancelled or in progress; raised with the id."""

    template = "payment '{}' is already paid"


class PaymentNotPaid(FakePayError, type="PAYMENT_NOT_PAID", status=409):
    """A cancel of a payment that is not paid (failed, ready, awaiting a deposit); raised with the id."""

    template = "payment '{}' is not paid; there is nothing to cancel"


class PaymentAlreadyCancelled(FakePayError, type="PAYMENT_ALREADY_CANCELLED", status=409):
    """A cancel of a payment cancelled in full; raised with the id."""

    template = "payment '{}' is already cancelled"


class CancelAmountExceedsCancellableAmount(FakePayError, type="CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT", status=409):
    """A cancel of more than what is left to cancel (of the total, or of its tax-free part)."""


class CancelTaxFreeAmountExceedsCancellableTaxFreeAmount(
        FakePayError, type="CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT", status=409):
    """A cancel of more of the tax-free amount than is left of it to cancel."""


class SumOfPartsExceedsCancelAmount(FakePayError, type="SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT", status=409):
    """A cancel whose tax-free (and VAT) part is more than the amount it cancels."""


class SumOfPartsExceedsTotalAmount(FakePayError, type="SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT", status=409):
    """A payment whose tax-free (and VAT) part is more than its total."""


class CancellableAmountConsistencyBroken(FakePayError, type="CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN", status=409):
    """A cancel whose ``currentCancellableAmount`` is not what is left to cancel."""


class BillingKeyAlreadyDeleted(FakePayError, type="BILLING_KEY_ALREADY_DELETED", status=409):
    """A payment with, or a delete of, a billing key already deleted; raised with the key."""

    template = "billing key '{}' is already deleted"


class InvalidPaymentToken(FakePayError, type="INVALID_PAYMENT_TOKEN", status=400):
    """A manual confirm whose ``paymentToken`` is not the one the checkout gave for that payment."""


class InformationMismatch(FakePayError, type="INFORMATION_MISMATCH", status=409):
    """A manual confirm (or a checkout) whose amount or currency is not the payment's (or the pre-registered one)."""


class PgProvider(FakePayError, type="PG_PROVIDER", status=502):
    """The payment gateway declined it (simulated): ``pgCode`` and ``pgMessage`` say how."""

    def __init__(self, message: str, pg_code: str, pg_message: str) -> None:
        super().__init__(message)
        self.extra = {"pgCode": pg_code, "pgMessage": pg_message}

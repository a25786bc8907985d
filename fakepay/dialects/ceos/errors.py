"""The CEOS payment API's own errors (the shared ones are ``fakepay.core.errors``).

AlreadyPaid              409 ALREADY_PAID: instant for a PAID or CANCELLED id
AlreadyCancelled         409 PAYMENT_ALREADY_CANCELLED: cancel of a CANCELLED payment
PaymentNotPaid           409 PAYMENT_NOT_PAID: cancel of a FAILED payment
PaymentFailed            500 PAYMENT_FAILED: the simulated failure (status configurable)
"""

from __future__ import annotations

from ...core.errors import FakePayError

__all__ = ["AlreadyCancelled", "AlreadyPaid", "PaymentFailed", "PaymentNotPaid"]


class AlreadyPaid(FakePayError, type="ALREADY_PAID", status=409):
    """An instant payment for an id that is already ``PAID`` or ``CANCELLED``."""

    def __init__(self, payment_id: str, status: str) -> None:
        super().__init__(f"payment '{payment_id}' is already {status}")


class AlreadyCancelled(FakePayError, type="PAYMENT_ALREADY_CANCELLED", status=409):
    """A cancel of a payment that is already ``CANCELLED``; raised with its id."""

    template = "payment '{}' is already CANCELLED"


class PaymentNotPaid(FakePayError, type="PAYMENT_NOT_PAID", status=409):
    """A cancel of a payment that never succeeded (``FAILED``); raised with its id."""

    template = "payment '{}' is FAILED, not PAID; there is nothing to cancel"


class PaymentFailed(FakePayError, type="PAYMENT_FAILED"):
    """The simulated payment failure; the payment is stored ``FAILED``."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status

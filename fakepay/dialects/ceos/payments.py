"""Payments, each of an owner (the githubId of a secret)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from .models import InstantPaymentRequest

__all__ = ["CANCELLED", "FAILED", "PAID", "STATUSES", "Payment"]

PAID = "PAID"
CANCELLED = "CANCELLED"
FAILED = "FAILED"
STATUSES = (PAID, CANCELLED, FAILED)


class Payment(NamedTuple):
    """One payment of one owner, with every field the API was sent. Immutable: a change stores
    a new record (``payment._replace(...)``), so nothing derived from it can go stale."""

    owner: str
    payment_id: str
    store_id: str
    order_name: str
    total_pay_amount: int
    currency: str
    custom_data: str | None
    status: str
    paid_at: datetime | None
    created_at: datetime
    updated_at: datetime
    attempts: int = 1

    @classmethod
    def asked(cls, owner: str, payment_id: str, request: InstantPaymentRequest, status: str, paid_at: datetime | None,
              created_at: datetime, updated_at: datetime, attempts: int = 1) -> Payment:
        """The payment of ``owner`` and ``payment_id`` that ``request`` asked for, as it now stands."""
        return cls(owner, payment_id, *request, status, paid_at, created_at, updated_at, attempts)

    @property
    def request(self) -> InstantPaymentRequest:
        """What was asked, as an instant payment's body asks it."""
        return InstantPaymentRequest(self.store_id, self.order_name, self.total_pay_amount, self.currency,
                                     self.custom_data)

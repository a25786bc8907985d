"""PortOne payments and billing keys as fakepay keeps them: immutable records (a change stores a
new one, so nothing derived from one can go stale), each of the secret that made it."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

__all__ = ["Cancellation", "Failure", "Key", "Payment", "new_id", "owner_id"]

READY = "READY"
PAY_PENDING = "PAY_PENDING"
VIRTUAL_ACCOUNT_ISSUED = "VIRTUAL_ACCOUNT_ISSUED"
PAID = "PAID"
FAILED = "FAILED"
PARTIAL_CANCELLED = "PARTIAL_CANCELLED"
CANCELLED = "CANCELLED"
#: The statuses a payment can be cancelled in.
CANCELLABLE = (PAID, PARTIAL_CANCELLED)
#: The statuses a payment can be paid again in (under the same id).
PAYABLE = (READY, FAILED)
_NAMESPACE = uuid.UUID("6f1a0c3e-2d4b-4c8e-9a7f-5b3d2e1c0a98")


@functools.lru_cache(maxsize=4096)
def owner_id(kind: str, owner: str) -> str:
    """An id of the owner's that is the same every run: ``kind-`` and a UUID from the owner
    (remembered: it is asked for on every payment and every answer)."""
    return f"{kind}-{uuid.uuid5(_NAMESPACE, owner)}"


def new_id(kind: str) -> str:
    """A new id: ``kind-`` and a random UUID."""
    return f"{kind}-{uuid.uuid4()}"


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str
    pg_code: str
    pg_message: str


@dataclass(frozen=True, slots=True)
class Cancellation:
    id: str
    total: int
    tax_free: int
    vat: int
    reason: str
    requested_at: datetime
    pg_cancellation_id: str


class Payment(NamedTuple):
    """One payment of one secret (``owner``), with what was asked and where it now stands (a
    tuple: made in a fraction of a frozen dataclass's time, on every payment)."""

    owner: str
    payment_id: str
    transaction_id: str
    store_id: str
    channel_key: str | None
    status: str
    order_name: str
    currency: str
    total: int
    tax_free: int
    vat: int | None
    method: str
    platform: str
    customer: Mapping[str, Any]
    custom_data: str | None
    billing_key: str | None
    is_test: bool
    notice_urls: tuple[str, ...]
    requested_at: datetime
    updated_at: datetime
    status_changed_at: datetime
    paid_at: datetime | None = None
    failure: Failure | None = None
    failed_at: datetime | None = None
    cancellations: tuple[Cancellation, ...] = ()
    cancelled_at: datetime | None = None
    pg_tx_id: str | None = None
    #: The token a manual confirm must bring (a checkout in manual-confirm mode gave it).
    payment_token: str | None = None
    attempts: int = 1

    @property
    def cancelled(self) -> int:
        return sum(c.total for c in self.cancellations)

    @property
    def cancelled_tax_free(self) -> int:
        return sum(c.tax_free for c in self.cancellations)

    @property
    def paid(self) -> int:
        """What the customer paid: the total once paid, nothing before."""
        return self.total if self.paid_at is not None else 0

    def moved(self, status: str, at: datetime, **changes: Any) -> Payment:
        """This payment in ``status`` as of ``at``."""
        moved_at = at if status != self.status else self.status_changed_at
        return self._replace(status=status, updated_at=at, status_changed_at=moved_at, **changes)


@dataclass(frozen=True, slots=True)
class Key:
    """A billing key of one secret."""

    owner: str
    billing_key: str
    store_id: str
    channel_key: str | None
    customer: Mapping[str, Any]
    is_test: bool
    issued_at: datetime
    deleted_at: datetime | None = None

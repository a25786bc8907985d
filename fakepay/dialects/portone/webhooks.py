"""PortOne's webhooks (version ``2024-04-25``): the event each change of a payment or a billing
key is, its payload, and where it goes (the payment's ``noticeUrls``, else its store's endpoint,
else the server's); handed to the instance, which sends it off the answer's path. The last ones of
each payment are kept, to be sent again on request."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...core.errors import FakePayError
from ...core.jsontext import dumps
from ...core.webhooks import Message, new_message_id
from .models import format_timestamp
from .payments import READY, Key, Payment

if TYPE_CHECKING:
    from ...core.instance import Instance
    from .scenario import WebhookConfig

__all__ = ["EVENTS", "Sent", "WebhookNotFound", "Webhooks", "sent_data"]

#: The event of a payment's status.
EVENTS = {
    "READY": "Transaction.Ready",
    "PAY_PENDING": "Transaction.PayPending",
    "VIRTUAL_ACCOUNT_ISSUED": "Transaction.VirtualAccountIssued",
    "PAID": "Transaction.Paid",
    "FAILED": "Transaction.Failed",
    "PARTIAL_CANCELLED": "Transaction.PartialCancelled",
    "CANCELLED": "Transaction.Cancelled",
}
#: How many of a payment's webhooks are kept to be sent again.
KEPT_PER_PAYMENT = 20


class WebhookNotFound(FakePayError, type="WEBHOOK_NOT_FOUND", status=404):
    """A resend of a webhook the payment never had (or none at all); raised with what was asked."""


@dataclass(frozen=True, slots=True)
class Sent:
    """A webhook sent for a payment: its message id, type, payload, where it went, and when."""

    id: str
    type: str
    body: bytes
    #: The payment's ``noticeUrls`` (none: its store's endpoint, or the server's).
    urls: tuple[str, ...]
    #: Where the first of them went ("" when nowhere).
    url: str
    status: str
    at: datetime


class Webhooks:
    """The webhooks of one instance's PortOne state."""

    def __init__(self, instance: Instance, config: Callable[[], WebhookConfig]) -> None:
        self._instance = instance
        #: Where webhooks go now: the configuration in force's.
        self._config = config
        self._sent: dict[tuple[str, str], deque[Sent]] = {}

    def forget(self, owner: str | None) -> None:
        """Forget what was sent (of ``owner``, or of everyone)."""
        if owner is None:
            self._sent = {}
        else:
            self._sent = {key: sent for key, sent in self._sent.items() if key[0] != owner}

    def payment(self, before: Payment | None, after: Payment, skip: bool = False) -> None:
        """Send what a payment's change is: a status reached (``Transaction.Ready`` first for a
        checkout's new attempt), or a cancellation; nothing, not even kept, where none would go."""
        if skip or self._instance.sender is None:
            return
        endpoints = self._config().endpoints(after.store_id, after.notice_urls)
        if not endpoints:
            return
        data = {"storeId": after.store_id, "paymentId": after.payment_id, "transactionId": after.transaction_id}
        new_attempt = before is None or before.transaction_id != after.transaction_id
        if after.cancellations and (before is None or len(after.cancellations) > len(before.cancellations)):
            events = [(EVENTS[after.status], {**data, "cancellationId": after.cancellations[-1].id})]
        elif before is None or new_attempt or before.status != after.status:
            events = [(EVENTS[after.status], data)]
            if new_attempt and after.platform == "PC" and after.status != READY:
                events.insert(0, (EVENTS[READY], data))
        else:
            return
        for type, event_data in events:
            self._deliver(type, self._payload(type, event_data), after, endpoints)

    def key(self, key: Key, type: str, skip: bool = False, notice_urls: Sequence[str] = ()) -> None:
        """Send ``BillingKey.Issued`` or ``BillingKey.Deleted`` for a billing key (to the
        ``notice_urls`` its issue named, if any)."""
        if skip or self._instance.sender is None:
            return
        body = self._payload(type, {"storeId": key.store_id, "billingKey": key.billing_key})
        for endpoint in self._config().endpoints(key.store_id, notice_urls):
            self._instance.send_webhook(Message(endpoint.url, endpoint.secret, body, type, key.owner, None, key.store_id))

    def resend(self, payment: Payment, webhook_id: str | None) -> Sent:
        """Send the payment's latest webhook again (or the one ``webhook_id`` names) as a new message."""
        sent = self._sent.get((payment.owner, payment.payment_id), ())
        found = next((s for s in reversed(sent) if s.id == webhook_id), None) if webhook_id else (sent[-1] if sent else None)
        if found is None:
            raise WebhookNotFound(f"payment '{payment.payment_id}' has no webhook" +
                                  (f" '{webhook_id}'" if webhook_id else " to send again"))
        return self._deliver(found.type, found.body, payment, self._config().endpoints(payment.store_id, found.urls))

    def _deliver(self, type: str, body: bytes, payment: Payment, endpoints: Sequence[Any]) -> Sent:
        message_id = new_message_id()
        for endpoint in endpoints:
            self._instance.send_webhook(Message(endpoint.url, endpoint.secret, body, type, payment.owner,
                                                payment.payment_id, payment.store_id, message_id))
        first = endpoints[0].url if endpoints else ""
        sent = Sent(message_id, type, body, payment.notice_urls, first, payment.status, self._instance.clock.now())
        kept = self._sent.setdefault((payment.owner, payment.payment_id), deque(maxlen=KEPT_PER_PAYMENT))
        kept.append(sent)
        return sent

    def _payload(self, type: str, data: dict[str, Any]) -> bytes:
        return dumps({"type": type, "timestamp": format_timestamp(self._instance.clock.now()), "data": data})


def sent_data(sent: Sent) -> dict[str, Any]:
    """A webhook sent again, as ``POST /payments/{paymentId}/resend-webhook`` answers it."""
    return {"id": sent.id, "url": sent.url, "paymentStatus": sent.status, "trigger": "MANUAL", "isAsync": True,
            "requestedAt": format_timestamp(sent.at)}


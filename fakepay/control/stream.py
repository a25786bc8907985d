"""The event stream of the control API (docs/control-api.md#the-event-stream). A request's events
are queued as they are (immutable records: no JSON is made while a request is answered) and made
into JSON together every ``BATCH_S``, once for every subscriber, at most ``REQUESTS_PER_BATCH``
requests and ``PAYMENTS_PER_BATCH`` payments of them, the others counted: so that listeners take
a bounded share of a busy server's time. Each subscriber has a bounded queue, so that a slow one
never slows the server down or makes it hold more and more."""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from collections.abc import Sequence

from ..core.events import Event, Journaled, PaymentChanged, RuleChanged
from ..core.instance import Instance
from ..core.jsontext import dumps
from .views import encode_event, encode_skipped

__all__ = ["EventStream", "Subscription"]

#: Seconds between two batches: what happens meanwhile is written together.
BATCH_S = 0.02
#: Request events a batch sends at most: its newest; the others are counted in a ``skipped`` event.
REQUESTS_PER_BATCH = 10
#: Payment events a batch sends at most: those of the payments changed last, each as it is then;
#: the others are counted in a ``skipped`` event.
PAYMENTS_PER_BATCH = 10
#: Events waiting for a batch that are cut down to what it sends (when that leaves over half of
#: them: all dropped, and told as ``dropped``), so that what waits stays bounded.
PENDING_LIMIT = 1000
#: Events a subscriber may have waiting before newer ones are dropped.
QUEUE_LIMIT = 1000
#: Bytes of events a subscriber may have waiting (a payment's event carries its customData).
QUEUE_BYTES = 4 * 1024 * 1024

#: An event waiting for its batch: a request's or a payment's as published; a rule's with a copy
#: of the rule as it was; any other's JSON, made when it happened (it says how things were then).
Pending = Journaled | PaymentChanged | RuleChanged | bytes


def _framed(event: bytes) -> bytes:
    """An event's JSON as a Server-Sent Event."""
    return b"data: %s\n\n" % event


class Subscription:
    """One subscriber's queue of events (Server-Sent Events, each a JSON object with a ``type``).
    When it is full (``limit`` events or ``QUEUE_BYTES`` bytes), new events are dropped and
    counted; the subscriber is then told once, with ``{"type": "dropped", "count": N}``, where the
    events went missing."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._queue: deque[bytes] = deque()
        self._bytes = 0
        self._dropped = 0
        self._closed = False
        self._ready = asyncio.Event()

    def put(self, events: Sequence[bytes], size: int) -> None:
        """Queue a batch of events, ``size`` bytes in all (the same objects for every subscriber)."""
        queue = self._queue
        if not self._dropped and len(queue) + len(events) <= self.limit and self._bytes + size <= QUEUE_BYTES:
            queue.extend(events)
            self._bytes += size
        else:
            for event in events:
                self._put(event)
        self._ready.set()

    def _put(self, event: bytes) -> None:
        if len(self._queue) >= self.limit or self._bytes + len(event) > QUEUE_BYTES:
            self._dropped += 1
            return
        if self._dropped:
            self._tell_dropped()
        self._queue.append(event)
        self._bytes += len(event)

    def missed(self, count: int) -> None:
        """``count`` events went missing before any queued from now on."""
        self._dropped += count
        self._ready.set()

    def _tell_dropped(self) -> None:
        self._queue.append(_framed(dumps({"type": "dropped", "count": self._dropped})))
        self._dropped = 0

    def close(self) -> None:
        """End the subscription: ``get`` returns what is queued, then None."""
        self._closed = True
        self._ready.set()

    async def get(self, timeout: float | None = None) -> list[bytes] | None:
        """Every event queued, waiting up to ``timeout`` seconds for one (taken together, so that
        a busy server wakes a subscriber once for many events); ``[]`` when none came in time,
        None once closed."""
        while not self._queue:
            if self._dropped:
                self._tell_dropped()
            elif self._closed:
                return None
            else:
                self._ready.clear()
                try:
                    await asyncio.wait_for(self._ready.wait(), timeout)
                except asyncio.TimeoutError:
                    return []
        events = list(self._queue)
        self._queue.clear()
        self._bytes = 0
        return events

    def __len__(self) -> int:
        return len(self._queue)


class EventStream:
    """The instance's events for ``GET /__fakepay/events``, sent in batches. It listens to the
    instance only while someone subscribes, so that nobody listening costs the instance nothing.

    A batch keeps the order in which things happened, but for what it leaves out: the requests
    before its newest ``REQUESTS_PER_BATCH``; a payment's or a rule's changes before its last one
    up to the next other event (a reset, say: what came before it is sent before it); payments
    beyond the ``PAYMENTS_PER_BATCH`` changed last. What it leaves out it tells first, in one
    ``skipped`` event."""

    def __init__(self, instance: Instance) -> None:
        self._instance = instance
        self.subscribers: list[Subscription] = []
        self._pending: list[Pending] = []
        #: Request events left out of the next batch, by the second they came in and outcome.
        self._skipped_requests: dict[tuple[int, str], int] = {}
        #: Payments whose change is left out of the next batch.
        self._skipped_payments = 0
        self._timer: asyncio.Handle | None = None

    def _publish(self, event: Event) -> None:
        """Queue an event for the next batch, written at once when none is due."""
        pending = self._pending
        if isinstance(event, (PaymentChanged, Journaled)):
            if isinstance(event, Journaled) and not event.kept:  # it outlived a reset: only a journal file has it
                return
            pending.append(event)
        elif isinstance(event, RuleChanged):
            pending.append(RuleChanged(copy.copy(event.rule)))  # it may be used again before the batch
        else:
            pending.append(encode_event(self._instance, event))
        if len(pending) >= PENDING_LIMIT:
            self._cut()
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_soon(self._tick)

    def _cut(self) -> None:
        """Cut what waits down to what the batch will send; when that leaves over half of it (a
        flood of other events that never let the batch be written), drop it all, and say so."""
        self._pending = kept = self._sent(self._pending)
        if len(kept) > PENDING_LIMIT // 2:
            missed = len(kept) + sum(self._skipped_requests.values()) + self._skipped_payments
            self._forget()
            for subscription in self.subscribers:
                subscription.missed(missed)

    def _sent(self, pending: list[Pending]) -> list[Pending]:
        """What of ``pending`` a batch sends, in order; the rest counted as skipped."""
        kept: list[Pending] = []
        requests = payments = 0
        later: set[object] = set()  # the payments and rules met, from the end back to the last other event
        skipped = self._skipped_requests
        for event in reversed(pending):
            if isinstance(event, Journaled):
                if requests < REQUESTS_PER_BATCH:
                    requests += 1
                    kept.append(event)
                else:
                    key = int(event.entry.time // 1), event.entry.outcome
                    skipped[key] = skipped.get(key, 0) + 1
            elif isinstance(event, PaymentChanged):
                key_ = (event.owner, event.payment_id)
                if key_ not in later:
                    later.add(key_)
                    if payments < PAYMENTS_PER_BATCH:
                        payments += 1
                        kept.append(event)
                    else:
                        self._skipped_payments += 1
            elif isinstance(event, RuleChanged):
                if event.rule.id not in later:
                    later.add(event.rule.id)
                    kept.append(event)
            else:
                later.clear()
                kept.append(event)
        kept.reverse()
        return kept

    def _tick(self) -> None:
        """Write a batch; the next one ``BATCH_S`` from now, or at once if nothing comes until then."""
        self._timer = None
        if self._write():
            self._timer = asyncio.get_running_loop().call_later(BATCH_S, self._tick)

    def _write(self) -> bool:
        """Make the JSON of what waits and queue it for every subscriber; whether there was any."""
        if not self._pending and not self._skipped_requests and not self._skipped_payments:
            return False
        sent = self._sent(self._pending)
        requests, payments = self._skipped_requests, self._skipped_payments
        self._forget()
        instance = self._instance
        events = [event if isinstance(event, bytes) else encode_event(instance, event) for event in sent]
        if requests or payments:
            events.insert(0, encode_skipped(instance, requests, payments))
        batch = list(map(_framed, events))
        size = sum(map(len, batch))
        for subscription in self.subscribers:
            subscription.put(batch, size)
        return True

    def _write_now(self) -> None:
        """Write what waits at once, not at the batch due."""
        self._cancel()
        self._write()

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _forget(self) -> None:
        self._pending = []
        self._skipped_requests = {}
        self._skipped_payments = 0

    def subscribe(self, limit: int | None = None) -> Subscription:
        """A new subscription, its queue bounded by ``limit`` (default ``QUEUE_LIMIT``): it gets
        what happens from now on (what waits is written to the others first)."""
        subscription = Subscription(limit or QUEUE_LIMIT)
        if not self.subscribers:
            self._instance.events.listen(self._publish)
        else:
            self._write_now()
        self.subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self.subscribers:
            self.subscribers.remove(subscription)
            if not self.subscribers:
                self._instance.events.unlisten(self._publish)
                self._cancel()
                self._forget()

    def __len__(self) -> int:
        """How many events wait for the next batch."""
        return len(self._pending)

    def close(self) -> None:
        """End every subscription (the server is stopping), once it has what waits."""
        self._write_now()
        for subscription in self.subscribers:
            subscription.close()

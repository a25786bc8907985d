"""The event stream of the control API: each subscriber has a bounded queue, so that a slow one
never slows the server down or makes it hold more and more."""

from __future__ import annotations

import asyncio
from collections import deque

from ..core.events import Event
from ..core.instance import Instance
from ..core.jsontext import dumps
from .views import encode_event

__all__ = ["EventStream", "Subscription"]

#: Events a subscriber may have waiting before newer ones are dropped.
QUEUE_LIMIT = 1000
#: Bytes of events a subscriber may have waiting (a payment's event carries its customData).
QUEUE_BYTES = 4 * 1024 * 1024


class Subscription:
    """One subscriber's queue of encoded events (JSON objects with a ``type``). When it is full
    (``limit`` events or ``QUEUE_BYTES`` bytes), new events are dropped and counted; the subscriber is then told once, with ``{"type":
    "dropped", "count": N}`` where the events went missing."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._queue: deque[bytes] = deque()
        self._bytes = 0
        self._dropped = 0
        self._closed = False
        self._ready = asyncio.Event()

    def put(self, event: bytes) -> None:
        queue = self._queue
        if len(queue) >= self.limit or self._bytes + len(event) > QUEUE_BYTES:
            self._dropped += 1
            return
        if self._dropped:
            self._tell_dropped()
        queue.append(event)
        self._bytes += len(event)
        self._ready.set()

    def _tell_dropped(self) -> None:
        self._queue.append(dumps({"type": "dropped", "count": self._dropped}))
        self._dropped = 0

    def close(self) -> None:
        """End the subscription: ``get`` returns what is queued, then None."""
        self._closed = True
        self._ready.set()

    async def get(self, timeout: float | None = None) -> list[bytes] | None:
        """Every event queued, waiting up to ``timeout`` seconds for one (taken together, so that
        a busy server wakes a subscriber once for many events); ``[]`` when none came in time,
        None once closed."""
        if not self._queue and self._dropped:
            self._tell_dropped()
        while not self._queue:
            if self._closed:
                return None
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
    """The instance's events for ``GET /__fakepay/events``: each encoded once (``encode_event``)
    and queued for every subscriber. It listens to the instance only while someone subscribes,
    so that nobody listening costs the instance nothing."""

    def __init__(self, instance: Instance) -> None:
        self._instance = instance
        self.subscribers: list[Subscription] = []

    def _publish(self, event: Event) -> None:
        encoded = encode_event(self._instance, event)
        if encoded is not None:
            for subscription in self.subscribers:
                subscription.put(encoded)

    def subscribe(self, limit: int | None = None) -> Subscription:
        """A new subscription, its queue bounded by ``limit`` (default ``QUEUE_LIMIT``)."""
        subscription = Subscription(limit or QUEUE_LIMIT)
        if not self.subscribers:
            self._instance.events.listen(self._publish)
        self.subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self.subscribers:
            self.subscribers.remove(subscription)
            if not self.subscribers:
                self._instance.events.unlisten(self._publish)

    def close(self) -> None:
        """End every subscription (the server is stopping)."""
        for subscription in self.subscribers:
            subscription.close()

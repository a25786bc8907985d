"""Sending webhook messages, off the API's answer path: an ``Outbox`` posts each message to its
URL, signed afresh on every attempt, in order per URL and concurrently across URLs, tries failed
ones again with backoff, and holds a bounded number pending."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from enum import Enum
from time import perf_counter
from urllib.parse import urlsplit

import aiohttp

from ..core.calls import Answer, Call
from ..core.events import WebhookAttempt, WebhookOutcome
from ..core.journal import BODY_LIMIT, Journal
from ..core.jsontext import dumps
from ..core.rules import WEBHOOK
from ..core.webhooks import DEFAULT_RETRY, PLAIN, Delivery, Message, RetryPolicy, signed_headers

__all__ = ["ATTEMPTS_KEPT", "MAX_PENDING", "Outbox", "journaling"]

#: Messages an outbox holds pending at most (each copy counts); past that the oldest are given up.
MAX_PENDING = 10_000
#: The latest attempts an outbox keeps for ``wait_for``.
ATTEMPTS_KEPT = 1000
_log = logging.getLogger("fakepay")


class _State(Enum):
    QUEUED = "queued"  # due, in its URL's queue
    HELD = "held"  # held back until the next message to its URL has been sent
    WAITING = "waiting"  # delayed, or waiting for its next attempt: in the heap of due times
    SENDING = "sending"
    DONE = "done"


class _Entry:
    """One copy of a message on its way: its attempts so far and where it waits."""

    __slots__ = ("attempts", "delivery", "message", "seq", "state")

    def __init__(self, message: Message, delivery: Delivery, seq: int) -> None:
        self.message = message
        self.delivery = delivery
        self.seq = seq
        self.attempts = 0
        self.state = _State.QUEUED


class _Lane:
    """The messages of one URL: those due, in order, those held back, and the task sending them,
    one at a time."""

    __slots__ = ("held", "queue", "task")

    def __init__(self) -> None:
        self.queue: OrderedDict[int, _Entry] = OrderedDict()
        self.held: dict[int, _Entry] = {}
        self.task: asyncio.Task[None] | None = None


def _unsendable(url: str) -> str | None:
    """Why ``url`` can never be posted to, or None."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - read for the ValueError of a port that is not one
    except ValueError:
        return f"not an http(s) URL: {url!r}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL: {url!r}"
    return None


class Outbox:
    """Webhook messages on their way. ``submit`` returns at once; each attempt is reported to
    ``listeners`` as a ``WebhookAttempt``, and the latest are kept for ``wait_for``. A retry is
    signed as ``retried`` says of its attempt (a rule may drop it or spoil its signature), else
    plainly."""

    def __init__(self, policy: RetryPolicy = DEFAULT_RETRY, listeners: Iterable[Callable[[WebhookAttempt], None]] = (),
                 max_pending: int = MAX_PENDING, retried: Callable[[Message, int], Delivery] | None = None) -> None:
        self.policy = policy
        self._retried = retried
        self.listeners = list(listeners)
        self.max_pending = max_pending
        self.attempts: deque[WebhookAttempt] = deque(maxlen=ATTEMPTS_KEPT)
        self._seq = itertools.count()
        self._pending: OrderedDict[int, _Entry] = OrderedDict()  # by age, until sent or given up
        self._lanes: dict[str, _Lane] = {}
        self._due: list[tuple[float, int, _Entry]] = []  # a heap of the waiting, by due time
        self._stale = 0  # entries in the heap no longer waiting
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self._waiters: list[tuple[Callable[[WebhookAttempt], bool], asyncio.Future[WebhookAttempt]]] = []
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Messages (copies) not yet delivered nor given up."""
        return len(self._pending)

    def submit(self, message: Message, delivery: Delivery = PLAIN) -> None:
        """Send ``message`` as ``delivery`` says, from now on in the background."""
        if self._closed:
            self._report(message, delivery, 1, None, "not sent: webhooks are shut down", "given_up")
            return
        if delivery.drop:
            self._report(message, delivery, 1, None, None, "dropped")
            return
        for _ in range(delivery.copies):
            entry = _Entry(message, delivery, next(self._seq))
            self._pending[entry.seq] = entry
            if delivery.delay_s:
                self._wait(entry, delivery.delay_s)
            else:
                self._arrive(entry)
        while len(self._pending) > self.max_pending and self._give_up_oldest():
            pass

    def clear(self) -> None:
        """Forget every message pending, and end the attempts under way unreported."""
        for lane in self._lanes.values():
            if lane.task is not None:
                lane.task.cancel()
        self._lanes.clear()
        self._pending.clear()
        self._due.clear()
        self._stale = 0
        self._set_timer()
        self.attempts.clear()

    async def close(self) -> None:
        """Clear, wait for the attempts under way to end, and close the connections. Messages
        submitted from now on are given up."""
        self._closed = True
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        self.clear()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def wait_for(self, predicate: Callable[[WebhookAttempt], bool], timeout: float) -> WebhookAttempt:
        """The first attempt, among those kept and those to come, that ``predicate`` accepts;
        ``asyncio.TimeoutError`` if none comes within ``timeout`` seconds."""
        for attempt in self.attempts:
            if predicate(attempt):
                return attempt
        waiter = (predicate, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter[1], timeout)
        finally:
            self._waiters.remove(waiter)

    def _arrive(self, entry: _Entry) -> None:
        """Put a due entry in its URL's queue (or, a first attempt to hold, among the held)."""
        url = entry.message.url
        lane = self._lanes.get(url)
        if lane is None:
            lane = self._lanes[url] = _Lane()
        if entry.delivery.hold and entry.attempts == 0:
            entry.state = _State.HELD
            lane.held[entry.seq] = entry
            return
        entry.state = _State.QUEUED
        lane.queue[entry.seq] = entry
        if lane.task is None:
            lane.task = asyncio.get_running_loop().create_task(self._send(url, lane))

    def _wait(self, entry: _Entry, delay: float) -> None:
        """Have ``entry`` arrive in its queue ``delay`` seconds from now."""
        entry.state = _State.WAITING
        due = asyncio.get_running_loop().time() + delay
        heapq.heappush(self._due, (due, entry.seq, entry))
        if due < self._timer_at:
            self._set_timer()

    def _set_timer(self) -> None:
        """Wake at the earliest due time (none when nothing waits)."""
        while self._due and self._due[0][2].state is not _State.WAITING:
            heapq.heappop(self._due)
            self._stale -= 1
        due = self._due[0][0] if self._due else float("inf")
        if due == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None if not self._due else asyncio.get_running_loop().call_at(due, self._wake)
        self._timer_at = due

    def _wake(self) -> None:
        """Move every entry now due to its queue."""
        self._timer, self._timer_at = None, float("inf")
        now = asyncio.get_running_loop().time()
        while self._due and self._due[0][0] <= now:
            entry = heapq.heappop(self._due)[2]
            if entry.state is _State.WAITING:
                self._arrive(entry)
            else:
                self._stale -= 1
        self._set_timer()

    def _give_up_oldest(self) -> bool:
        """Give up the oldest entry not being sent; False when every pending one is."""
        entry = next((entry for entry in self._pending.values() if entry.state is not _State.SENDING), None)
        if entry is None:
            return False
        lane = self._lanes.get(entry.message.url)
        if entry.state is _State.WAITING:
            self._stale += 1
        elif lane is not None:
            lane.queue.pop(entry.seq, None)
            lane.held.pop(entry.seq, None)
            if lane.task is None and not lane.queue and not lane.held:
                del self._lanes[entry.message.url]
        if self._stale > len(self._due) // 2:
            self._due = [item for item in self._due if item[2].state is _State.WAITING]
            heapq.heapify(self._due)
            self._stale = 0
        self._finish(entry, entry.attempts + 1, None, f"given up: more than {self.max_pending} webhook messages were pending",
                     "given_up")
        return True

    async def _send(self, url: str, lane: _Lane) -> None:
        """Send the queue of one URL, in order, one message at a time; release the messages held
        back once a later one has been sent."""
        try:
            while lane.queue:
                entry = lane.queue.popitem(last=False)[1]
                entry.state = _State.SENDING
                await self._attempt(entry)
                if lane.held and entry.attempts == 1:
                    for seq in sorted((seq for seq in lane.held if seq < entry.seq), reverse=True):
                        lane.queue[seq] = lane.held.pop(seq)
                        lane.queue[seq].state = _State.QUEUED
                        lane.queue.move_to_end(seq, last=False)  # next, in the order they came
        finally:
            lane.task = None
            if not lane.queue and not lane.held and self._lanes.get(url) is lane:
                del self._lanes[url]

    async def _attempt(self, entry: _Entry) -> None:
        """One attempt to send ``entry``, and what follows from it: done, or waiting to retry."""
        entry.attempts += 1
        message = entry.message
        reason = _unsendable(message.url)
        if reason is not None:
            self._finish(entry, entry.attempts, None, reason, "failed")
            return
        delivery = entry.delivery
        if entry.attempts > 1:
            delivery = PLAIN if self._retried is None else self._retried(message, entry.attempts)
        status: int | None
        error: str | None
        if delivery.drop:  # a retry a rule drops: not sent, as if it had failed
            status, error = None, "dropped by a rule"
        else:
            status, error = await self._post(message, delivery)
        if status is not None and 200 <= status < 300:
            self._finish(entry, entry.attempts, status, None, "delivered", delivery)
            return
        delay = self.policy.delay(entry.attempts)
        if delay is None:
            self._finish(entry, entry.attempts, status, error, "given_up", delivery)
            return
        self._wait(entry, delay)
        self._report(message, delivery, entry.attempts, status, error, "retrying")

    async def _post(self, message: Message, delivery: Delivery) -> tuple[int | None, str | None]:
        """Post ``message`` signed now: the answer's status, or the error."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.policy.timeout_s), auto_decompress=False)
        try:
            async with self._session.post(message.url, data=message.body, headers=signed_headers(message, time.time(), delivery),
                                          allow_redirects=False) as response:
                return response.status, None
        except asyncio.TimeoutError:
            return None, f"no answer within {self.policy.timeout_s:g} s"
        except (aiohttp.ClientError, OSError, ValueError) as error:
            return None, f"{type(error).__name__}: {error}"

    def _finish(self, entry: _Entry, attempt: int, status: int | None, error: str | None, outcome: WebhookOutcome,
                delivery: Delivery | None = None) -> None:
        entry.state = _State.DONE
        self._pending.pop(entry.seq, None)
        self._report(entry.message, delivery or entry.delivery, attempt, status, error, outcome)

    def _report(self, message: Message, delivery: Delivery, attempt: int, status: int | None, error: str | None,
                outcome: WebhookOutcome) -> None:
        """Tell the listeners and the waiters of an attempt; a failing listener is logged."""
        record = WebhookAttempt(message.id, message.type, message.url, attempt, status, error, time.time(), message.owner,
                                message.payment_id, outcome, message.body, delivery.rule)
        self.attempts.append(record)
        for listener in self.listeners:
            try:
                listener(record)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the deliveries
                _log.exception("bug in fakepay (a webhook listener)")
        for predicate, future in self._waiters:
            if not future.done() and predicate(record):
                future.set_result(record)


def journaling(journal: Journal) -> Callable[[WebhookAttempt], None]:
    """A listener that keeps each attempt in ``journal`` as an entry of the operation ``webhook``:
    ``POST`` to its URL, the payload as its body, the receiver's status, and as its response the
    attempt's record (``webhookId``, ``type``, ``attempt``, ``error``), and the rule that shaped it."""

    def record(attempt: WebhookAttempt) -> None:
        call = Call(journal.take_id(), attempt.time, perf_counter(), "POST", attempt.url, WEBHOOK, attempt.payment_id,
                    owner=attempt.owner, body=attempt.body[:BODY_LIMIT])
        summary = dumps({"webhookId": attempt.id, "type": attempt.type, "attempt": attempt.attempt, "error": attempt.error})
        journal.record(call, Answer(attempt.status, summary, attempt.outcome, attempt.rule))

    return record

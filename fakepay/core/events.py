"""What happens in an instance, as typed events for whoever listens (the control API's event
stream, a journal file). Publishers on hot paths check ``if events.listeners:`` before building
an event, so that nobody listening costs one attribute test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ClockMoved",
    "ConfigChanged",
    "Event",
    "Events",
    "JournalCleared",
    "Journaled",
    "PaymentChanged",
    "Reset",
    "RuleChanged",
    "RuleDeleted",
    "RulesCleared",
    "ScenarioLoaded",
    "WebhookAttempt",
    "WebhookOutcome",
]


class Event:
    """Base of every event."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class ScenarioLoaded(Event):
    name: str
    seed: int


@dataclass(frozen=True, slots=True)
class Reset(Event):
    """Everything (``owner`` None), or one owner's payments, draws and journal, back to the start."""

    owner: str | None


@dataclass(frozen=True, slots=True)
class ConfigChanged(Event):
    pass


@dataclass(frozen=True, slots=True)
class ClockMoved(Event):
    pass


@dataclass(frozen=True, slots=True)
class PaymentChanged(Event):
    """A payment stored or changed: which one (its owner and id), and the dialect's record."""

    owner: str
    payment_id: str
    payment: Any


@dataclass(frozen=True, slots=True)
class RuleChanged(Event):
    """A rule added, or its count used (an ``ActiveRule``)."""

    rule: Any


@dataclass(frozen=True, slots=True)
class RuleDeleted(Event):
    id: int


@dataclass(frozen=True, slots=True)
class RulesCleared(Event):
    pass


@dataclass(frozen=True, slots=True)
class Journaled(Event):
    """A request journaled (a ``JournalEntry``); ``kept`` False for one that outlived a reset,
    which only a journal file still records."""

    entry: Any
    kept: bool = True


@dataclass(frozen=True, slots=True)
class JournalCleared(Event):
    owner: str | None


#: What became of one attempt to deliver a webhook: ``delivered`` (a 2xx answer), ``retrying``
#: (it failed; another attempt is due), ``given_up`` (it failed and no attempt is left, or the
#: message was pushed out of a full outbox), ``failed`` (it cannot succeed: a URL that is not
#: http(s)), ``dropped`` (a rule said not to send it).
WebhookOutcome = Literal["delivered", "retrying", "given_up", "failed", "dropped"]


@dataclass(frozen=True, slots=True)
class WebhookAttempt(Event):
    """One attempt to deliver a webhook message: its id and event type, where it went, which
    attempt (1-based), the answer's status or the error, when (epoch seconds, wall clock), whose
    payment it tells of, what became of it, what was sent, and the rule that shaped it."""

    id: str
    type: str
    url: str
    attempt: int
    status: int | None
    error: str | None
    time: float
    owner: str | None
    payment_id: str | None
    outcome: WebhookOutcome
    #: The message's JSON payload.
    body: bytes = b""
    rule: int | None = None


class Events:
    """The publisher: each listener is called with every event, in order."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[Event], None]] = []

    def publish(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

    def listen(self, listener: Callable[[Event], None]) -> None:
        self.listeners.append(listener)

    def unlisten(self, listener: Callable[[Event], None]) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)

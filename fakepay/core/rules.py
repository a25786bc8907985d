"""Rules: what a request must look like (``When``), and the outcome or fault forced on it
(``Outcome``). The conditions a rule may set beyond its operation and owner are the API's own,
declared by its dialect as ``Matcher``s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

from .globs import Glob

__all__ = ["FAULTS", "INT_MAX", "MAX_RULES", "WEBHOOK", "WEBHOOK_FAULTS", "WEBHOOK_KINDS", "Attempt", "Condition", "Kind", "Matcher",
           "Outcome", "Rule", "When"]

DEFAULT_TIMEOUT_S = 30.0
#: Rules in force at once (a scenario's, and those added since), so that matching a request, and
#: the list the control API shows, stay small.
MAX_RULES = 1000
#: The largest whole number a rule (or a request) may name: Java's ``int``.
INT_MAX = 2_147_483_647


class Kind(str, Enum):
    """What a rule makes of a request: the one list of outcomes, each knowing whether the
    operation is still carried out and whether the connection is closed unanswered."""

    SUCCEED = "succeed"
    FAIL = "fail"
    DELAY = "delay"
    TIMEOUT = "timeout"
    RESET = "reset"
    LOST_RESPONSE = "lost_response"
    STATUS = "status"
    # What a rule of the operation ``webhook`` makes of a webhook message instead:
    DROP = "drop"
    DUPLICATE = "duplicate"
    OUT_OF_ORDER = "out_of_order"
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"

    @property
    def carries_out(self) -> bool:
        """The operation happens (stored, cancelled), though its answer may be held or lost."""
        return self in (Kind.SUCCEED, Kind.DELAY, Kind.LOST_RESPONSE)

    @property
    def closes(self) -> bool:
        """The connection is closed without an answer."""
        return self in (Kind.TIMEOUT, Kind.RESET, Kind.LOST_RESPONSE)

    @property
    def named(self) -> bool:
        """Written as a plain string in a rule's ``then`` (the others take a mapping)."""
        return self not in (Kind.DELAY, Kind.STATUS)


#: The operation of a webhook message sent (matched only by rules that name it).
WEBHOOK = "webhook"
#: The outcomes a rule of ``webhook`` may have; the last five only it.
WEBHOOK_KINDS = (Kind.SUCCEED, Kind.DELAY, Kind.DROP, Kind.DUPLICATE, Kind.OUT_OF_ORDER, Kind.BAD_SIGNATURE, Kind.STALE_TIMESTAMP)
#: Outcomes of an API's operations named by a plain string in ``then``.
FAULTS = tuple(kind.value for kind in Kind if kind.named and kind not in WEBHOOK_KINDS[2:])
#: Outcomes of ``webhook`` named by a plain string in ``then``.
WEBHOOK_FAULTS = tuple(kind.value for kind in WEBHOOK_KINDS if kind.named)


class Attempt(NamedTuple):
    """What a rule is matched against: the operation, the owner, and what the dialect's matchers
    read (``subject``: the request or the stored payment, None when there is none)."""

    operation: str
    owner: str
    path_value: str | None = None
    subject: Any = None


class Matcher(NamedTuple):
    """A condition a rule's ``when`` may set, as the dialect declares it: its ``key``, its
    ``kind`` (``glob``: a pattern with ``*`` and ``?``; ``text``: equal; ``choice``: one of
    ``choices``; ``amount``: a whole number, or ``{gte, lte}`` bounds) and how to ``read`` its
    value from an attempt (None: the attempt has none, and the rule does not match)."""

    key: str
    kind: str
    read: Callable[[Attempt], Any]
    choices: tuple[str, ...] = ()
    description: str = ""


class Condition(NamedTuple):
    """One matcher of a rule with what it asks: a pattern, a value, or bounds (``low``, ``high``)."""

    matcher: Matcher
    value: Any
    low: int | None = None
    high: int | None = None

    def test(self, attempt: Attempt) -> bool:
        value = self.matcher.read(attempt)
        if value is None:
            return False
        kind = self.matcher.kind
        if kind == "glob":
            return bool(self.value.matches(value))
        if kind == "amount":
            return (self.value is None or value == self.value) and (self.low is None or value >= self.low) \
                and (self.high is None or value <= self.high)
        return bool(value == self.value)

    def to_data(self) -> Any:
        """What the condition asks, as a scenario writes it."""
        if self.matcher.kind == "glob":
            return self.value.pattern
        if self.matcher.kind == "amount" and self.value is None:
            return {k: v for k, v in (("gte", self.low), ("lte", self.high)) if v is not None}
        return self.value

    @classmethod
    def of(cls, matcher: Matcher, value: Any) -> Condition:
        """The condition ``matcher`` sets for ``value`` as a scenario writes it (checked already)."""
        if matcher.kind == "glob":
            return cls(matcher, Glob(value))
        if matcher.kind == "amount" and isinstance(value, dict):
            return cls(matcher, None, value.get("gte"), value.get("lte"))
        return cls(matcher, value)


@dataclass(frozen=True)
class Outcome:
    """What a matching rule does: its ``kind``, and the figures that kind takes."""

    kind: Kind
    delay_ms: int = 0
    timeout_s: float = DEFAULT_TIMEOUT_S
    status: int = 200
    body: Any = None

    def to_data(self) -> Any:
        """The outcome as a scenario writes it."""
        if self.kind is Kind.DELAY:
            return {"delay_ms": self.delay_ms}
        if self.kind is Kind.TIMEOUT:
            return {"timeout_s": self.timeout_s}
        if self.kind is Kind.STATUS:
            return {"status": self.status, "body": self.body}
        return self.kind.value


@dataclass(frozen=True)
class When:
    """The conditions of a rule; an absent one matches anything."""

    operation: str | None = None
    owner: str | None = None
    conditions: tuple[Condition, ...] = ()

    def matches(self, attempt: Attempt) -> bool:
        """Whether ``attempt`` meets every condition (a webhook only a rule naming ``webhook`` does)."""
        if self.operation != attempt.operation and (self.operation is not None or attempt.operation == WEBHOOK):
            return False
        if self.owner is not None and self.owner != attempt.owner:
            return False
        return all(condition.test(attempt) for condition in self.conditions)

    def to_data(self) -> dict[str, Any]:
        """The conditions as a scenario writes them."""
        data: dict[str, Any] = {key: value for key, value in (("operation", self.operation), ("owner", self.owner))
                                if value is not None}
        data.update((condition.matcher.key, condition.to_data()) for condition in self.conditions)
        return data


@dataclass(frozen=True)
class Rule:
    """``when`` the request matches, ``then`` happens, at most ``times`` times (None: always)."""

    when: When
    then: Outcome
    times: int | None = None

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"when": self.when.to_data(), "then": self.then.to_data()}
        if self.times is not None:
            data["times"] = self.times
        return data

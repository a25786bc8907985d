"""The fields of a scenario's envelope, declared once (docs/scenarios.md): its name and seed, the
groups every API shares (clock, failure, latency, journal) and its rules, whose conditions are
the API's matchers. The reader checks a scenario by them; the schema is made of them."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from ..core.config import DEFAULT_API
from ..core.document import Path, Reader
from ..core.fields import (
    Boolean,
    Choice,
    Const,
    Field,
    FieldKind,
    Group,
    Integer,
    Json,
    ListOf,
    LocalDateTime,
    Model,
    Number,
    Schema,
    String,
)
from ..core.globs import MAX_GLOB
from ..core.rules import (
    FAULTS,
    INT_MAX,
    MAX_RULES,
    WEBHOOK,
    WEBHOOK_FAULTS,
    WEBHOOK_KINDS,
    Condition,
    Kind,
    Matcher,
    Outcome,
    Rule,
    When,
)
from ..core.text import PRINTABLE_PATTERN, printable_problem, show
from ..dialects import DIALECTS, dialect

__all__ = [
    "API",
    "CLOCK",
    "FAILURE",
    "HEAD",
    "JOURNAL",
    "LATENCY",
    "MAX_DELAY_MS",
    "MAX_NAME_LENGTH",
    "MAX_SEED",
    "SHARED",
    "VERSION",
    "config_model",
    "rule_kind",
    "rule_model",
    "rules_field",
    "tail",
]

MAX_SEED = 2**63 - 1
MAX_DELAY_MS = 3_600_000
MAX_NAME_LENGTH = 100


def _name(value: str) -> str | None:
    if len(value) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters"
    return printable_problem(value)


def _valid_timezone(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return f"unknown time zone {show(name)}; use an IANA name such as 'Asia/Seoul' or 'UTC'"
    return None


def _pattern(value: str) -> str | None:
    return f"must be a pattern of at most {MAX_GLOB} characters" if len(value) > MAX_GLOB else None


CLOCK = Model("clock", (
    Field("timezone", String(_valid_timezone), description="IANA zone, default Asia/Seoul."),
    Field("frozen_at", LocalDateTime(null=True), description="The clock stands still at this local date-time; absent: real time."),
))
FAILURE = Model("failure", (
    Field("rate", Number(0, 1), description="The share of payments that fail at random, 0 to 1 (default 0.1)."),
    Field("status", Integer(400, 599), description="The status of the simulated failure (default 500)."),
    Field("reuse_failed_payment_id", Boolean(), description="Whether a failed payment's id may be paid again (default true)."),
))
LATENCY = Model("latency", (
    Field("fixed_ms", Integer(0, MAX_DELAY_MS), description="Every request waits this long ..."),
    Field("jitter_ms", Integer(0, MAX_DELAY_MS), description="... plus 0 to this long, from the seeded stream."),
))
JOURNAL = Model("journal", (
    Field("max_entries", Integer(1, 1_000_000), description="The journal keeps the newest N requests (default 10000)."),
))

VERSION = Field("version", Const(1, "the only version so far"))
API = Field("api", Choice(tuple(DIALECTS)), description=f"The API served; default {DEFAULT_API}.")
#: The envelope's fields read before the API's section.
HEAD = Model("scenario", (
    Field("name", String(_name, {"maxLength": MAX_NAME_LENGTH, "pattern": PRINTABLE_PATTERN}, null=True),
          description="Shown in the banner and the state; printable text. Empty: the file's name."),
    Field("seed", Integer(0, MAX_SEED, null=True), description="Seed of the random streams; random (and printed) when absent."),
    Field("clock", Group(CLOCK, null=True)),
))
_FAILURE = Field("failure", Group(FAILURE, null=True))
_LATENCY = Field("latency", Group(LATENCY, null=True))
_JOURNAL = Field("journal", Group(JOURNAL, null=True))
#: The envelope's fields that are the same for every API.
SHARED = (VERSION, API, *HEAD.fields, _FAILURE, _LATENCY, _JOURNAL)


# -- rules --------------------------------------------------------------------------------------

_DELAY = Field("delay_ms", Integer(0, MAX_DELAY_MS), required=True, description="The answer is held this long.")
_TIMEOUT = Field("timeout_s", Number(0, MAX_DELAY_MS // 1000, null=True), required=True,
                 description="The request is held this long (null: 30 s), then closed unanswered.")
_STATUS = Field("status", Integer(200, 599), required=True, description="The answer's status, with body as its JSON.")
#: The outcomes a rule's ``then`` writes as a mapping, each by its one required key.
_OUTCOMES = (Model("delay", (_DELAY,)), Model("timeout", (_TIMEOUT,)), Model("status", (_STATUS, Field("body", Json()))))
_KEYS = tuple(outcome.fields[0].name for outcome in _OUTCOMES)


@dataclass(frozen=True)
class _Then(FieldKind):
    """A rule's outcome: a fault by name (one of ``named``), or a mapping with exactly one of ``_KEYS``."""

    named: Choice

    def take(self, reader: Reader, value: Any, path: Path) -> Outcome | None:
        if isinstance(value, str):
            kind = self.named.take(reader, value, path)
            return None if kind is None else Outcome(Kind(kind))
        listed = f"{', '.join(_KEYS[:-1])} or {_KEYS[-1]}"
        if not isinstance(value, dict):
            reader.problem(path, f"must be one of {', '.join(self.named.values)}, or a mapping with {listed}")
            return None
        data = reader.mapping(value, path, (*_KEYS, "body"))
        chosen = [key for key in _KEYS if key in data]
        if len(chosen) != 1:
            reader.problem(path, f"needs exactly one of {', '.join(map(repr, _KEYS[:-1]))} or {_KEYS[-1]!r}")
            return None
        if "body" in data and chosen != [_STATUS.name]:
            reader.problem((*path, "body"), f"goes only with {_STATUS.name!r}")
            return None
        key = chosen[0]
        if key == _DELAY.name:
            delay = _DELAY.kind.take(reader, data[key], (*path, key))
            return None if delay is None else Outcome(Kind.DELAY, delay_ms=delay)
        if key == _TIMEOUT.name:
            if data[key] is None:
                return Outcome(Kind.TIMEOUT)
            timeout = _TIMEOUT.kind.take(reader, data[key], (*path, key))
            return None if timeout is None else Outcome(Kind.TIMEOUT, timeout_s=timeout)
        status = _STATUS.kind.take(reader, data[key], (*path, key))
        body = data.get("body", {})
        problem = Json().problem(body)
        if problem is not None:
            reader.problem((*path, "body"), problem)
            return None
        return None if status is None else Outcome(Kind.STATUS, status=status, body=body)

    def shape(self, written: bool) -> Schema:
        return {"oneOf": [self.named.schema(), *(outcome.schema(written) for outcome in _OUTCOMES)]}


_AMOUNT = Integer(0, INT_MAX)
_BOUNDS = Model("bounds", (Field("gte", _AMOUNT), Field("lte", _AMOUNT)), constraints={"minProperties": 1})


@dataclass(frozen=True)
class _Amount(FieldKind):
    """An ``amount`` matcher's value: a whole number, or bounds (``gte``, ``lte`` or both)."""

    def take(self, reader: Reader, value: Any, path: Path) -> Any:
        if not isinstance(value, dict):
            return _AMOUNT.take(reader, value, path)
        before = reader.problem_count
        bounds = reader.fields(_BOUNDS, value, path)
        if all(value.get(bound) is None for bound in _BOUNDS.names):
            reader.problem(path, "needs 'gte', 'lte' or both")
        return bounds if reader.problem_count == before else None

    def shape(self, written: bool) -> Schema:
        return {"oneOf": [_AMOUNT.schema(), _BOUNDS.schema(written)]}


#: What each kind of matcher but ``choice`` takes, and what its description adds.
_MATCHED: dict[str, tuple[FieldKind, str]] = {
    "glob": (String(_pattern, {"maxLength": MAX_GLOB}), "A glob: * is any text, ? one character."),
    "text": (String(), ""),
    "amount": (_Amount(), "A whole number, or bounds: gte, lte or both."),
}


def _condition(matcher: Matcher) -> Field:
    kind, hint = (Choice(matcher.choices), "") if matcher.kind == "choice" else _MATCHED[matcher.kind]
    return Field(matcher.key, kind, description=" ".join(filter(None, (matcher.description, hint))))


@dataclass(frozen=True)
class _Rule(FieldKind):
    """A rule of an API, read as a ``Rule``: its fields are ``model``'s, its conditions the
    ``matchers``'."""

    model: Model
    matchers: tuple[Matcher, ...]

    def take(self, reader: Reader, value: Any, path: Path) -> Rule | None:
        before = reader.problem_count
        read = reader.fields(self.model, value, path)
        if reader.problem_count > before:
            return None
        when, then = read.get("when", {}), read["then"]
        if when.get("operation") == WEBHOOK and then.kind not in WEBHOOK_KINDS:
            reader.problem((*path, "then"), f"a webhook rule's outcome is one of {', '.join(WEBHOOK_FAULTS)}, or a delay")
            return None
        if when.get("operation") != WEBHOOK and then.kind.value in WEBHOOK_FAULTS[1:]:
            reader.problem((*path, "then"), f"{then.kind.value} is an outcome of webhooks: give when.operation: {WEBHOOK}")
            return None
        conditions = tuple(Condition.of(matcher, when[matcher.key]) for matcher in self.matchers if matcher.key in when)
        return Rule(When(when.get("operation"), when.get("owner"), conditions), then, read.get("times"))

    def shape(self, written: bool) -> Schema:
        return self.model.schema(written)


@functools.cache
def rule_model(api: str) -> Model:
    """A rule of the API ``api``: ``when`` (its operation, owner and the dialect's matchers),
    ``then``, ``times``."""
    served = dialect(api)
    when = Model("when", (
        Field("operation", Choice((*served.operations, *((WEBHOOK,) if served.webhooks else ())))),
        Field("owner", String()),
        *map(_condition, served.matchers),
    ))
    return Model("Rule", (
        Field("when", Group(when, null=True)),
        Field("then", _Then(Choice((*FAULTS, *(WEBHOOK_FAULTS[1:] if served.webhooks else ())))), required=True, description="A fault by name, or a mapping with delay_ms, timeout_s or status."),
        Field("times", Integer(1, INT_MAX, null=True), description="The rule retires after this many matches."),
    ))


@functools.cache
def rule_kind(api: str) -> FieldKind:
    """A rule of the API ``api``, read as a ``Rule``."""
    return _Rule(rule_model(api), dialect(api).matchers)


@functools.cache
def rules_field(api: str) -> Field:
    """A scenario's ``rules``, of the API ``api``, read as a tuple of ``Rule``."""
    return Field("rules", ListOf(rule_kind(api), max_items=MAX_RULES, null=True))


@functools.cache
def tail(api: str) -> Model:
    """The envelope's fields read after the API's section."""
    return Model("scenario", (_FAILURE, _LATENCY, rules_field(api), _JOURNAL))


@functools.cache
def config_model(api: str) -> Model:
    """The configuration in force of an instance of the API ``api``, as the control API shows it:
    the name, the seed in use, the envelope's groups and the section's ``shown`` ones, none null."""
    section = dialect(api).section
    fields = {field.name: field for field in (*HEAD.fields, *section.model.fields, _FAILURE, _LATENCY, _JOURNAL)}
    shown = ("name", "seed", "clock", *section.shown, "failure", "latency", "journal")
    return Model("Config", tuple(replace(fields[name], kind=replace(fields[name].kind, null=False)) for name in shown))

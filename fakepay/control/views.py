"""What the control API shows of an instance (its configuration, clock, state, payments, journal
entries) and of its events, as plain data and JSON; and the journal file. No HTTP here."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from json.encoder import encode_basestring
from operator import attrgetter
from time import monotonic
from typing import Any, TextIO

from ..core.dialect import Dialect
from ..core.events import (
    ClockMoved,
    ConfigChanged,
    Event,
    JournalCleared,
    Journaled,
    PaymentChanged,
    Reset,
    RuleChanged,
    RuleDeleted,
    RulesCleared,
    ScenarioLoaded,
)
from ..core.instance import Instance
from ..core.journal import JournalEntry
from ..core.jsontext import MAX_DEPTH, dumps, loads_finite, nested_deeper_than, utf8
from ..core.rules import WEBHOOK
from ..core.sandboxes import Sandbox, Sandboxes
from ..scenario import scenario_data
from ..scenario.envelope import config_model

__all__ = ["JournalFile", "StateSnapshot", "api_data", "clock_data", "config_data", "encode_entry", "encode_event", "encode_skipped",
           "redact", "sandbox_data", "sandboxes_data"]

#: About how many bytes of payments one piece of a state's JSON holds (a few milliseconds' work).
PIECE_BYTES = 64 * 1024
#: How many payments' attempts one piece counts.
COUNT_STEP = 20_000
_ATTEMPTS = attrgetter("attempts")
_log = logging.getLogger("fakepay")


def redact(secret: str) -> str:
    """The first 8 characters of a secret and an ellipsis."""
    return secret[:8] + "…"


def api_data(dialect: Dialect, control_prefix: str) -> dict[str, Any]:
    """The API in force as the dashboard reads it: its name and title; its operations, each with
    the method and path template of its route, the name of its path value, and whether it changes
    what is stored; the conditions its rules may set; a payment's statuses and the fields its row
    shows; whether it sends webhooks."""
    routes: dict[str, tuple[str, str]] = {}
    for template, methods in dialect.served(control_prefix):
        for method, name in methods.items():
            routes.setdefault(name, (method, template))
    return {
        "name": dialect.name,
        "title": dialect.title,
        "operations": [
            {"name": name, "method": routes[name][0], "path": routes[name][1], "param": operation.param,
             "changes": operation.changes}
            for name, operation in dialect.operations.items()
        ],
        "matchers": [{"key": matcher.key, "kind": matcher.kind, "choices": list(matcher.choices)}
                     for matcher in dialect.matchers],
        "payments": {"statuses": list(dialect.statuses), "columns": [column._asdict() for column in dialect.columns]},
        "webhooks": dialect.webhooks,
    }


def config_data(instance: Instance) -> dict[str, Any]:
    """The configuration in force (not its payments or rules), with the seed in use."""
    config = scenario_data(instance.config)
    return {key: instance.policy.seed if key == "seed" else config[key] for key in config_model(instance.dialect.name).names}


def clock_data(instance: Instance) -> dict[str, Any]:
    clock = instance.clock
    return {"now": instance.dialect.format_time(clock.now()), "frozen": clock.frozen, "timezone": clock.timezone}


def encode_entry(instance: Instance, entry: JournalEntry) -> bytes:
    """A journal entry as the control API shows it, in JSON, its time in the instance's zone; an
    ``Authorization`` header and an issued secret redacted; its body and answer as ``_shown``."""
    operation = None if entry.operation is None else instance.dialect.operations.get(entry.operation)
    if operation is not None and operation.answers_secret and entry.status == 200:
        response = _redacted(entry.response)
    else:
        response = _shown(entry.response)
    time = instance.dialect.format_time(datetime.fromtimestamp(entry.time, instance.clock.zone))
    param = operation.param if operation is not None else _PAYMENT_ID if entry.operation == WEBHOOK else None
    params = "{}" if not param or entry.path_value is None else f"{{{_string(param)}:{_string(entry.path_value)}}}"
    authorization = None if entry.authorization is None else _redact_header(entry.authorization)
    head = (f'{{"id":{entry.id},"time":{_string(time)},"operation":{_nullable(entry.operation)},'
            f'"method":{_string(entry.method)},"path":{_string(entry.path)},"params":{params},'
            f'"owner":{_nullable(entry.owner)},"authorization":{_nullable(authorization)},"body":')
    middle = f',"status":{_number(entry.status)},"response":'
    tail = (f',"outcome":{_string(entry.outcome)},"rule":{_number(entry.rule)},'
            f'"duration_ms":{round(entry.duration_ms, 3)!r},"warnings":[{",".join(map(_string, entry.warnings))}]}}')
    return b"".join((utf8(head), _shown(entry.body), middle.encode(), response, utf8(tail)))


#: What a webhook entry's path value (the payment it tells of) is called.
_PAYMENT_ID = "paymentId"
#: A string in JSON, non-ASCII text as is (as ``dumps`` writes it).
_string = encode_basestring


def _nullable(text: str | None) -> str:
    return "null" if text is None else _string(text)


def _number(number: int | None) -> str:
    return "null" if number is None else str(number)


def _redact_header(value: str) -> str:
    scheme, _, credentials = value.strip().partition(" ")
    return f"{scheme} {redact(credentials.strip())}"


def _shown(raw: bytes | None) -> bytes:
    """A stored body or answer in JSON: null when there is none; else its value (``_parsed``).
    Bytes that are that value's JSON already on one line (most are) are checked and written as
    they are, not parsed into objects and written again: at most ``MAX_DEPTH`` brackets in all,
    so that they cannot nest deeper, no line break, which would end an event or a journal line."""
    if not raw:
        return b"null"
    if b"\n" not in raw and b"\r" not in raw and raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH:
        try:
            loads_finite(raw.decode("utf-8"))
        except ValueError:  # not UTF-8, or not JSON written back as it is
            pass
        else:
            return raw
    return dumps(_parsed(raw))


def _redacted(raw: bytes | None) -> bytes:
    """An answer that is a secret, in JSON, the secret redacted."""
    value = _parsed(raw) if raw else None
    return dumps(redact(value) if isinstance(value, str) else value)


def _parsed(raw: bytes) -> Any:
    """JSON bytes as their value; other bytes (a body cut short, JSON nested too deep, or with a
    number JSON cannot write back: NaN, Infinity, beyond a float) as text."""
    text = raw.decode("utf-8", "replace")
    try:
        value = loads_finite(text)
    except (ValueError, RecursionError):
        return text
    return text if nested_deeper_than(value, MAX_DEPTH) else value


def encode_event(instance: Instance, event: Event) -> bytes:
    """The JSON of an event as the event stream sends it (``{"type": ..., ...}``)."""
    data: dict[str, Any]
    if isinstance(event, Journaled):
        return b'{"type":"request","request":%s}' % encode_entry(instance, event.entry)
    elif isinstance(event, PaymentChanged):
        data = {"type": "payment", "payment": instance.dialect.payment_data(event.payment)}
    elif isinstance(event, RuleChanged):
        data = {"type": "rule", "rule": event.rule.to_data()}
    elif isinstance(event, RuleDeleted):
        data = {"type": "rule_deleted", "id": event.id}
    elif isinstance(event, RulesCleared):
        data = {"type": "rules", "rules": []}
    elif isinstance(event, JournalCleared):
        data = {"type": "requests_cleared", "owner": event.owner}
    elif isinstance(event, Reset):
        data = {"type": "reset", "owner": event.owner}
    elif isinstance(event, ScenarioLoaded):
        data = {"type": "scenario", "scenario": event.name, "seed": event.seed}
    elif isinstance(event, ConfigChanged):
        data = {"type": "config", "config": config_data(instance)}
    else:
        assert isinstance(event, ClockMoved), event
        data = {"type": "clock", "clock": clock_data(instance)}
    return dumps(data)


def encode_skipped(instance: Instance, requests: Mapping[tuple[int, str], int], payments: int) -> bytes:
    """The event stream's ``skipped`` event: how many request events were left out, and how many
    by the second they came in (written as an entry's time) and outcome (``requests``: a count by
    second and outcome); how many payments' changes were left out."""
    dialect, zone = instance.dialect, instance.clock.zone
    outcomes = [{"time": dialect.format_time(datetime.fromtimestamp(second, zone)), "outcome": outcome, "count": count}
                for (second, outcome), count in sorted(requests.items())]
    return dumps({"type": "skipped", "requests": sum(requests.values()), "outcomes": outcomes, "payments": payments})


class JournalFile:
    """Every journaled request appended to a JSON Lines file (those that outlived a reset too);
    a failing file is reported once (and its recovery), and never fails a request."""

    def __init__(self, instance: Instance, sink: TextIO) -> None:
        self._instance = instance
        self._sink = sink
        self._failing = False
        instance.events.listen(self.write)

    def write(self, event: Event) -> None:
        if not isinstance(event, Journaled):
            return
        try:
            self._sink.write(encode_entry(self._instance, event.entry).decode("utf-8") + "\n")
            self._sink.flush()
        except (OSError, ValueError) as error:  # ValueError: the file was closed
            if not self._failing:
                self._failing = True
                _log.error("cannot write the journal file (%s); requests are still answered and journaled "
                           "in memory; this is reported once until the file is writable again", error)
        else:
            if self._failing:
                self._failing = False
                _log.warning("the journal file is writable again")


def sandbox_data(sandbox: Sandbox) -> dict[str, Any]:
    """A sandbox as the control API shows it: its id, scenario and seed, the payments it holds,
    and how long it has been idle."""
    instance = sandbox.instance
    return {
        "id": sandbox.id,
        "scenario": instance.config.name,
        "seed": instance.policy.seed,
        "payments": sum(len(instance.state.payments_of(owner)) for owner in instance.state.owners()),
        "idle_s": round(monotonic() - sandbox.used, 3),
    }


def sandboxes_data(sandboxes: Sandboxes) -> dict[str, Any]:
    """The live sandboxes, oldest first, with the limits they live by."""
    sandboxes.expire()
    return {"limit": sandboxes.limit, "idle_timeout_s": sandboxes.idle_s, "live": len(sandboxes),
            "sandboxes": [sandbox_data(sandbox) for sandbox in sandboxes]}


class StateSnapshot:
    """The state of an instance as it is when taken (payments are immutable records, so holding
    the lists of them holds the state): configuration in force, rules, every store with its
    counts, and the payments listed (owner by owner in name order, each owner's in the order
    they were first stored) from ``offset`` on, at most ``limit`` of them. Turned into data at
    once (``data``), or into its JSON a piece at a time (``pieces``)."""

    def __init__(self, instance: Instance, owner: str | None = None, *, offset: int = 0,
                 limit: int | None = None, sandboxes: dict[str, Any] | None = None) -> None:
        state = instance.state
        self._instance = instance
        owners = [owner] if owner is not None else sorted(set(state.owners()) | set(instance.policy.owners()))
        self._by_owner = {o: state.payments_of(o) for o in owners}
        self._head = {
            "scenario": instance.config.name,
            "seed": instance.policy.seed,
            "config": config_data(instance),
            "clock": clock_data(instance),
            "rules": instance.policy.rules_data(),
            **({} if sandboxes is None else {"sandboxes": sandboxes}),
        }
        every = itertools.chain.from_iterable(self._by_owner.values())
        #: The payments listed.
        self.listed = list(itertools.islice(every, offset, None if limit is None else offset + limit))
        #: How many payments the stores hold.
        self.held = sum(map(len, self._by_owner.values()))

    def data(self) -> dict[str, Any]:
        """All of it at once (a few milliseconds' work for a few hundred payments)."""
        stores = [_store(o, payments, sum(map(_ATTEMPTS, payments))) for o, payments in self._by_owner.items()]
        payment_data = self._instance.dialect.payment_data
        return {**self._head, "stores": stores, "payments": [payment_data(p) for p in self.listed]}

    def pieces(self) -> Iterator[bytes]:
        """``data()`` as JSON, byte for byte, in pieces that each take a short while to make
        (about ``PIECE_BYTES`` of payments, or ``COUNT_STEP`` payments counted; a piece may be
        empty), so that a server can answer other requests between two."""
        stores = []
        for owner, payments in self._by_owner.items():
            attempts = 0
            for start in range(0, len(payments), COUNT_STEP):
                attempts += sum(map(_ATTEMPTS, payments[start:start + COUNT_STEP]))
                yield b""
            stores.append(_store(owner, payments, attempts))
        head = dumps({**self._head, "stores": stores, "payments": []})
        yield head[:-2]  # up to the payments' opening bracket
        separator = b""
        piece: list[bytes] = []
        size = 0
        payment_data = self._instance.dialect.payment_data
        for payment in self.listed:
            encoded = dumps(payment_data(payment))
            piece.append(encoded)
            size += len(encoded)
            if size >= PIECE_BYTES:
                yield separator + b",".join(piece)
                separator, piece, size = b",", [], 0
        yield separator + b",".join(piece) + b"]}" if piece else b"]}"


def _store(owner: str, payments: list[Any], attempts: int) -> dict[str, Any]:
    return {"githubId": owner, "payments": len(payments), "attempts": attempts}

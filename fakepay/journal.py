"""The request journal (docs/control-api.md, "The journal"): a bounded ring of what the public API was asked and answered."""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timezone, tzinfo
from typing import Any, NamedTuple, TextIO

from .calls import Call
from .errors import InvalidRequest
from .events import Events
from .globs import Glob
from .rules import Operation
from .validation import show
from .wire import MAX_DEPTH, dumps, format_local_datetime, nested_deeper_than

__all__ = ["BODY_LIMIT", "DEFAULT_MAX_ENTRIES", "MAX_BYTES", "Journal", "JournalEntry", "redact"]

#: How many entries the journal keeps unless a scenario says otherwise.
DEFAULT_MAX_ENTRIES = 10_000
#: The journal keeps at most this much of a request body or an answer.
BODY_LIMIT = 64 * 1024
#: The bodies and answers of all entries together stay under this; the oldest entries go first.
MAX_BYTES = 16 * 1024 * 1024
#: The most steps (see ``Glob.cost``) a ``path`` filter may take over the journal: about 0.15 s.
MAX_FILTER_STEPS = 100_000_000
#: What an entry costs besides its bodies, roughly, for the byte bound.
_ENTRY_OVERHEAD = 512
_log = logging.getLogger("fakepay")


def redact(secret: str) -> str:
    """The first 8 characters of a secret and an ellipsis."""
    return secret[:8] + "…"


class JournalEntry(NamedTuple):
    """One request and its answer, as the journal shows it (formatted only when it is read).
    ``time`` is when the request arrived (epoch seconds, the real time even when the fake clock
    is frozen); ``operation`` and what follows it are None for an
    unknown route; ``status`` and ``response`` (cut to ``BODY_LIMIT``) are None when the
    connection was closed unanswered. The journal keeps each as a plain tuple of text, bytes
    and numbers, which the garbage collector need not look at again."""

    id: int
    time: float
    method: str
    path: str
    operation: str | None
    #: The route's path value (named by ``Operation.param``).
    path_value: str | None
    owner: str | None
    authorization: str | None
    body: bytes | None
    status: int | None
    response: bytes | None
    outcome: str
    rule: int | None
    duration_ms: float
    warnings: tuple[str, ...]
    #: What the entry weighs against ``MAX_BYTES``.
    size: int

    def to_data(self, zone: tzinfo) -> dict[str, Any]:
        """The entry as the control API shows it, its time local to ``zone``; an ``Authorization``
        header and an issued secret redacted."""
        response = _parsed(self.response)
        if self.operation == Operation.AUTH and self.status == 200 and isinstance(response, str):
            response = redact(response)
        return {
            "id": self.id,
            "time": format_local_datetime(datetime.fromtimestamp(self.time, zone).replace(tzinfo=None)),
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "params": {} if self.operation is None or self.path_value is None
            else {Operation(self.operation).param: self.path_value},
            "owner": self.owner,
            "authorization": None if self.authorization is None else _redact_header(self.authorization),
            "body": _parsed(self.body),
            "status": self.status,
            "response": response,
            "outcome": self.outcome,
            "rule": self.rule,
            "duration_ms": round(self.duration_ms, 3),
            "warnings": list(self.warnings),
        }


#: Where a stored row (a plain tuple) has an entry's owner and size.
_OWNER, _SIZE = JournalEntry._fields.index("owner"), JournalEntry._fields.index("size")


def _test(name: str, value: str) -> Callable[[JournalEntry], bool]:
    """How the filter ``name`` of ``Journal.entries`` tests an entry."""
    if name == "path":
        return _path_test(Glob(value))
    if name == "method":
        method = value.upper()
        return lambda entry: entry.method == method
    if name == "payment_id":
        return lambda entry: entry.path_value == value and entry.operation != Operation.AUTH
    return lambda entry: bool(getattr(entry, name) == value)  # owner, operation


def _path_test(glob: Glob) -> Callable[[JournalEntry], bool]:
    """The ``path`` filter: ``InvalidRequest`` once matching it has cost ``MAX_FILTER_STEPS``."""
    steps = 0

    def test(entry: JournalEntry) -> bool:
        nonlocal steps
        steps += glob.cost(len(entry.path))
        if steps > MAX_FILTER_STEPS:
            raise InvalidRequest(
                f"the path filter {show(glob.pattern)} takes too long over the paths journaled (each place of a path "
                f"is tried for its {glob.searched} characters between stars); put fewer between stars, or add "
                "other filters")
        return glob.matches(entry.path)

    return test


def _redact_header(value: str) -> str:
    scheme, _, credentials = value.strip().partition(" ")
    return f"{scheme} {redact(credentials.strip())}"


def _parsed(raw: bytes | None) -> Any:
    """JSON bytes as their value; other bytes (a body cut short, or JSON nested too deep to write
    back) as text."""
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return text if nested_deeper_than(value, MAX_DEPTH) else value


class Journal:
    """The last ``max_entries`` entries (and at most ``MAX_BYTES`` of bodies), oldest first;
    optionally also appended to a JSON Lines sink, and published to ``events`` as ``request``
    events. Ids are unique for the journal's life."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, sink: TextIO | None = None, zone: tzinfo = timezone.utc,
                 events: Events | None = None) -> None:
        self.events = events or Events()
        #: The entries as plain tuples in ``JournalEntry``'s order.
        self._rows: deque[tuple[Any, ...]] = deque()
        self._max_entries = max_entries
        self._bytes = 0
        self._sink = sink
        self._sink_failing = False
        self._next_id = 1
        #: The zone the sink's times are written in.
        self.zone = zone

    @property
    def max_entries(self) -> int:
        return self._max_entries

    def take_id(self) -> int:
        """The id of the next request (unique for the journal's life)."""
        self._next_id += 1
        return self._next_id - 1

    def record(self, number: int, arrived: float, method: str, path: str, call: Call | None, status: int | None,
               response: bytes | None, outcome: str, rule: int | None, duration_ms: float, kept: bool = True) -> None:
        """Keep the entry of an exchange, built once from what the request was (``call``, None for
        an unknown route) and how it was answered; the oldest entries go beyond the bounds. An
        exchange not ``kept`` (it outlived a reset) only goes to the sink, which has every one."""
        size = _ENTRY_OVERHEAD + len(path) + (len(response) if response else 0)
        if call is None:
            row: tuple[Any, ...] = (number, arrived, method, path, None, None, None, None, None, status, response,
                                    outcome, rule, duration_ms, (), size)
        else:
            body, authorization = call.body, call.authorization
            size += (len(body) if body else 0) + (len(authorization) if authorization else 0)
            warnings = tuple(call.warnings)
            if warnings:
                size += sum(map(len, warnings))
            row = (number, arrived, method, path, call.operation.value, call.path_value, call.owner, authorization,
                   body, status, response, outcome, rule, duration_ms, warnings, size)
        if kept:
            rows = self._rows
            rows.append(row)
            self._bytes += size
            if len(rows) > self._max_entries or self._bytes > MAX_BYTES:
                self._trim()
        published = kept and self.events.subscribers
        if self._sink is None and not published:
            return
        data = JournalEntry._make(row).to_data(self.zone)  # formatted once, for the file and the listeners alike
        if self._sink is not None:
            self._write(data)
        if published:
            self.events.publish("request", request=data)

    def _trim(self) -> None:
        rows = self._rows
        while len(rows) > self._max_entries or (self._bytes > MAX_BYTES and len(rows) > 1):
            self._bytes -= rows.popleft()[_SIZE]

    def _write(self, data: dict[str, Any]) -> None:
        """Append an entry's ``data`` to the sink; a failing sink is reported once (and its recovery), and
        never fails the request."""
        assert self._sink is not None
        try:
            self._sink.write(dumps(data).decode("utf-8") + "\n")
            self._sink.flush()
        except (OSError, ValueError) as error:  # ValueError: the file was closed
            if not self._sink_failing:
                self._sink_failing = True
                _log.error("cannot write the journal file (%s); requests are still answered and journaled "
                           "in memory; this is reported once until the file is writable again", error)
        else:
            if self._sink_failing:
                self._sink_failing = False
                _log.warning("the journal file is writable again")

    def entries(self, filters: Mapping[str, str] | None = None, limit: int | None = None) -> list[JournalEntry]:
        """Entries matching every filter given (``method``, ``path`` (a glob), ``owner``,
        ``payment_id``, ``operation``), the newest ``limit`` of them, oldest first. The glob is
        tried last, from the newest entry back, until ``limit`` are found."""
        given = sorted((filters or {}).items(), key=lambda item: item[0] == "path")
        tests = [_test(name, value) for name, value in given]
        found = []
        for entry in map(JournalEntry._make, reversed(self._rows)):
            if all(test(entry) for test in tests):
                found.append(entry)
                if len(found) == limit:
                    break
        found.reverse()
        return found

    def clear(self, owner: str | None = None, max_entries: int | None = None) -> None:
        """Drop every entry (or ``owner``'s), optionally changing the bound; ids go on counting."""
        self._rows = deque([] if owner is None else [row for row in self._rows if row[_OWNER] != owner])
        self._bytes = sum(row[_SIZE] for row in self._rows)
        if max_entries is not None:
            self.resize(max_entries)
        if self.events.subscribers:
            self.events.publish("requests_cleared", owner=owner)

    def resize(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._trim()

    def __len__(self) -> int:
        return len(self._rows)

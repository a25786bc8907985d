"""The request journal (README: "The control API"): a bounded ring of what the public API was asked and answered."""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any, TextIO

from .calls import Call
from .events import Events
from .rules import Operation, compile_glob
from .wire import MAX_DEPTH, dumps, format_local_datetime, nested_deeper_than

__all__ = ["BODY_LIMIT", "DEFAULT_MAX_ENTRIES", "MAX_BYTES", "Journal", "JournalEntry", "redact"]

#: How many entries the journal keeps unless a scenario says otherwise.
DEFAULT_MAX_ENTRIES = 10_000
#: The journal keeps at most this much of a request body or an answer.
BODY_LIMIT = 64 * 1024
#: The bodies and answers of all entries together stay under this; the oldest entries go first.
MAX_BYTES = 16 * 1024 * 1024
#: What an entry costs besides its bodies, roughly, for the byte bound.
_ENTRY_OVERHEAD = 512
_log = logging.getLogger("fakepay")


def redact(secret: str) -> str:
    """The first 8 characters of a secret and an ellipsis."""
    return secret[:8] + "…"


@dataclass(slots=True, eq=False)
class JournalEntry:
    """One request and its answer, built once when it is answered and formatted only when the
    journal is read: what the request was (``call``, None for an unknown route), and ``status``
    and ``response`` (bytes, cut to ``BODY_LIMIT``) as answered, both None when the connection
    was closed unanswered. ``time`` is when the request arrived (epoch seconds, the real time
    even when the fake clock is frozen)."""

    id: int
    time: float
    method: str
    path: str
    call: Call | None
    status: int | None
    response: bytes | None
    outcome: str
    rule: int | None
    duration_ms: float
    #: What the entry weighs against ``MAX_BYTES`` (set when it is recorded).
    size: int = 0

    @property
    def operation(self) -> Operation | None:
        return None if self.call is None else self.call.operation

    @property
    def owner(self) -> str | None:
        return None if self.call is None else self.call.owner

    def to_data(self, zone: tzinfo) -> dict[str, Any]:
        """The entry as the control API shows it, its time local to ``zone``; an ``Authorization``
        header and an issued secret redacted."""
        call = self.call
        params = {} if call is None or call.path_value is None else {call.operation.param: call.path_value}
        response = _parsed(self.response)
        if call is not None and call.operation is Operation.AUTH and self.status == 200 and isinstance(response, str):
            response = redact(response)
        return {
            "id": self.id,
            "time": format_local_datetime(datetime.fromtimestamp(self.time, zone).replace(tzinfo=None)),
            "operation": None if call is None else call.operation.value,
            "method": self.method,
            "path": self.path,
            "params": params,
            "owner": None if call is None else call.owner,
            "authorization": None if call is None or call.authorization is None else _redact_header(call.authorization),
            "body": None if call is None else _parsed(call.body),
            "status": self.status,
            "response": response,
            "outcome": self.outcome,
            "rule": self.rule,
            "duration_ms": round(self.duration_ms, 3),
            "warnings": [] if call is None else list(call.warnings),
        }


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
        self._entries: deque[JournalEntry] = deque()
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

    def record(self, entry: JournalEntry) -> None:
        """Keep ``entry``, dropping the oldest entries beyond the bounds."""
        call = entry.call
        entry.size = _ENTRY_OVERHEAD + len(entry.response or b"") + len(entry.path)
        if call is not None:
            entry.size += len(call.body or b"") + len(call.authorization or "") + sum(map(len, call.warnings))
        self._entries.append(entry)
        self._bytes += entry.size
        self._trim()
        if self._sink is None and not self.events.subscribers:
            return
        data = entry.to_data(self.zone)  # formatted once, for the file and the listeners alike
        if self._sink is not None:
            self._write(data)
        if self.events.subscribers:
            self.events.publish("request", request=data)

    def _trim(self) -> None:
        entries = self._entries
        while len(entries) > self._max_entries or (self._bytes > MAX_BYTES and len(entries) > 1):
            self._bytes -= entries.popleft().size

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

    def entries(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        owner: str | None = None,
        payment_id: str | None = None,
        operation: str | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Entries matching every filter given (``path`` may be a glob), the newest ``limit`` of them."""
        found: Iterable[JournalEntry] = self._entries
        if method is not None:
            found = [e for e in found if e.method == method.upper()]
        if path is not None:
            match = compile_glob(path).fullmatch
            found = [e for e in found if match(e.path)]
        if owner is not None:
            found = [e for e in found if e.owner == owner]
        if payment_id is not None:
            found = [e for e in found if e.call is not None and e.call.path_value == payment_id
                     and e.call.operation is not Operation.AUTH]
        if operation is not None:
            found = [e for e in found if e.operation == operation]
        found = list(found)
        return found[-limit:] if limit else found

    def clear(self, owner: str | None = None, max_entries: int | None = None) -> None:
        """Drop every entry (or ``owner``'s), optionally changing the bound; ids go on counting."""
        self._entries = deque([] if owner is None else [e for e in self._entries if e.owner != owner])
        self._bytes = sum(entry.size for entry in self._entries)
        if max_entries is not None:
            self.resize(max_entries)
        if self.events.subscribers:
            self.events.publish("requests_cleared", owner=owner)

    def resize(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._trim()

    def __len__(self) -> int:
        return len(self._entries)

"""The request journal (SPEC 2.4): a bounded ring of what the public API was asked and answered."""

from __future__ import annotations

import fnmatch
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any, TextIO

from .events import Events
from .wire import dumps, format_local_datetime

__all__ = ["Journal", "JournalEntry", "redact"]


def redact(secret: str) -> str:
    """The first 8 characters of a secret and an ellipsis."""
    return secret[:8] + "…"


@dataclass(slots=True, eq=False)
class JournalEntry:
    """One request and its answer, kept as sent and formatted only when the journal is read:
    ``body`` and ``response`` as bytes, ``authorization`` as sent (shown redacted, like an
    issued secret). ``time`` is when the request arrived (epoch seconds, the real time even when
    the fake clock is frozen). ``status`` is None when the connection was closed unanswered."""

    time: float
    method: str
    path: str
    operation: str | None = None
    #: The decoded path value: the githubId of ``auth``, else the paymentId.
    value: str | None = None
    owner: str | None = None
    authorization: str | None = None
    body: bytes | None = None
    status: int | None = None
    response: bytes | None = None
    outcome: str = "ok"
    rule: int | None = None
    duration_ms: float = 0.0
    warnings: list[str] | tuple[()] = ()
    id: int = 0

    def to_data(self, zone: tzinfo) -> dict[str, Any]:
        """The entry as the control API shows it, its time local to ``zone``."""
        return {
            "id": self.id,
            "time": format_local_datetime(datetime.fromtimestamp(self.time, zone).replace(tzinfo=None)),
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "params": {} if self.value is None else {"githubId" if self.operation == "auth" else "paymentId": self.value},
            "owner": self.owner,
            "authorization": None if self.authorization is None else _redact_header(self.authorization),
            "body": _parsed(self.body),
            "status": self.status,
            "response": self._response(),
            "outcome": self.outcome,
            "rule": self.rule,
            "duration_ms": round(self.duration_ms, 3),
            "warnings": list(self.warnings),
        }


    def _response(self) -> Any:
        response = _parsed(self.response)
        if self.operation == "auth" and self.status == 200 and isinstance(response, str):
            return redact(response)
        return response


def _redact_header(value: str) -> str:
    scheme, _, credentials = value.strip().partition(" ")
    return f"{scheme} {redact(credentials.strip())}"


def _parsed(raw: bytes | None) -> Any:
    """JSON bytes as their value; other bytes (or a body cut short) as text."""
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


class Journal:
    """The last ``max_entries`` entries, oldest first; optionally also appended to a JSON Lines sink,
    and published to ``events`` as ``request`` events."""

    def __init__(self, max_entries: int = 10_000, sink: TextIO | None = None, zone: tzinfo = timezone.utc,
                 events: Events | None = None) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=max_entries)
        self._sink = sink
        self.events = events or Events()
        self._next_id = 1
        #: The zone the sink's times are written in.
        self.zone = zone

    @property
    def max_entries(self) -> int:
        return self._entries.maxlen or 0

    def record(self, entry: JournalEntry) -> None:
        entry.id = self._next_id
        self._next_id += 1
        self._entries.append(entry)
        if self._sink is not None:
            self._sink.write(dumps(entry.to_data(self.zone)).decode("utf-8") + "\n")
            self._sink.flush()
        if self.events.subscribers:
            self.events.publish("request", request=entry.to_data(self.zone))

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
            found = [e for e in found if fnmatch.fnmatchcase(e.path, path)]
        if owner is not None:
            found = [e for e in found if e.owner == owner]
        if payment_id is not None:
            found = [e for e in found if e.value == payment_id and e.operation != "auth"]
        if operation is not None:
            found = [e for e in found if e.operation == operation]
        found = list(found)
        return found[-limit:] if limit else found

    def clear(self, owner: str | None = None, max_entries: int | None = None) -> None:
        """Drop every entry (or ``owner``'s), optionally changing the bound."""
        keep = [] if owner is None else [e for e in self._entries if e.owner != owner]
        self._entries = deque(keep, maxlen=max_entries or self._entries.maxlen)
        if owner is None:
            self._next_id = 1
        if self.events.subscribers:
            self.events.publish("requests_cleared", owner=owner)

    def resize(self, max_entries: int) -> None:
        self._entries = deque(self._entries, maxlen=max_entries)

    def __len__(self) -> int:
        return len(self._entries)

"""The request journal: a bounded ring of what an API was asked and answered, kept as plain rows
(formatted only when read), published to listeners as ``Journaled`` events."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Mapping
from time import perf_counter
from typing import Any, NamedTuple

from .calls import Answer, Call
from .errors import InvalidRequest
from .events import Events, JournalCleared, Journaled
from .globs import Glob
from .text import show

__all__ = ["BODY_LIMIT", "MAX_BYTES", "Journal", "JournalEntry"]

#: The journal keeps at most this much of a request body or an answer.
BODY_LIMIT = 64 * 1024
#: The bodies and answers of all entries together stay under this; the oldest entries go first.
MAX_BYTES = 16 * 1024 * 1024
#: The most steps (see ``Glob.cost``) a ``path`` filter may take over the journal: about 0.15 s.
MAX_FILTER_STEPS = 100_000_000
#: What an entry costs besides its bodies, roughly, for the byte bound.
_ENTRY_OVERHEAD = 512


class JournalEntry(NamedTuple):
    """One request and its answer (formatted only when it is read, by whoever shows it).
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
    #: The route's path value (named by its operation's ``param``).
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


#: Where a stored row (a plain tuple) has an entry's owner and size.
_OWNER, _SIZE = JournalEntry._fields.index("owner"), JournalEntry._fields.index("size")


def _test(name: str, value: str) -> Callable[[JournalEntry], bool]:
    """How the filter ``name`` of ``Journal.entries`` tests an entry."""
    if name == "path":
        return _path_test(Glob(value))
    if name == "method":
        method = value.upper()
        return lambda entry: entry.method == method
    return lambda entry: bool(getattr(entry, name) == value)  # owner, operation, path_value


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


class Journal:
    """The last ``max_entries`` entries (and at most ``MAX_BYTES`` of bodies), oldest first, each
    published to ``events`` as it is recorded. Ids are unique for the journal's life."""

    def __init__(self, max_entries: int, events: Events) -> None:
        self.events = events
        #: The entries as plain tuples in ``JournalEntry``'s order.
        self._rows: deque[tuple[Any, ...]] = deque()
        self._max_entries = max_entries
        self._bytes = 0
        self._next_id = 1

    @property
    def max_entries(self) -> int:
        return self._max_entries

    def take_id(self) -> int:
        """The id of the next request (unique for the journal's life)."""
        self._next_id += 1
        return self._next_id - 1

    def record(self, call: Call, answer: Answer, kept: bool = True) -> None:
        """Keep the entry of an exchange, built once from what the request was (``call``) and how
        it was ``answer``ed; the oldest entries go beyond the bounds. An exchange not ``kept`` (it
        outlived a reset) is only published, for a journal file, which has every one."""
        response, body, authorization = answer.body, call.body, call.authorization
        size = _ENTRY_OVERHEAD + len(call.path) + (len(response) if response else 0) + (len(body) if body else 0) \
            + (len(authorization) if authorization else 0)
        warnings = tuple(call.warnings)
        if warnings:
            size += sum(map(len, warnings))
        row = (call.id, call.arrived, call.method, call.path, call.operation, call.path_value, call.owner,
               authorization, body, answer.status, response, answer.outcome, answer.rule,
               (perf_counter() - call.started) * 1000, warnings, size)
        if kept:
            rows = self._rows
            rows.append(row)
            self._bytes += size
            if len(rows) > self._max_entries or self._bytes > MAX_BYTES:
                self._trim()
        if self.events.listeners:
            self.events.publish(Journaled(JournalEntry._make(row), kept))

    def _trim(self) -> None:
        rows = self._rows
        while len(rows) > self._max_entries or (self._bytes > MAX_BYTES and len(rows) > 1):
            self._bytes -= rows.popleft()[_SIZE]

    def entries(self, filters: Mapping[str, str] | None = None, limit: int | None = None,
                operations: Collection[str] | None = None) -> list[JournalEntry]:
        """Entries matching every filter given (``method``, ``path`` (a glob), ``owner``,
        ``path_value``, ``operation``) and of one of ``operations`` (if given), the newest ``limit``
        of them, oldest first. The glob is tried last, from the newest entry back, until ``limit``
        are found."""
        given = sorted((filters or {}).items(), key=lambda item: item[0] == "path")
        tests = [_test(name, value) for name, value in given]
        if operations is not None:
            tests.insert(0, lambda entry: entry.operation in operations)
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
        if self.events.listeners:
            self.events.publish(JournalCleared(owner))

    def resize(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._trim()

    def __len__(self) -> int:
        return len(self._rows)

"""The one source of time: aware instants in a zone, real or frozen, and movable by tests; and the
local date-time text fakepay writes and reads them as (each API formats them its own way)."""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta
from time import time
from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_TIMEZONE", "LOCAL_DATETIME_PATTERN", "Clock", "format_local_datetime", "parse_local_datetime"]

DEFAULT_TIMEZONE = "Asia/Seoul"
#: A running clock is never moved past this (local time), so that it cannot run out of years as it runs.
LATEST_RUNNING = datetime(9999, 1, 1)
#: A local date-time as ``parse_local_datetime`` reads it, in Python's and JSON Schema's words.
LOCAL_DATETIME_PATTERN = r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
_LOCAL_DATETIME = re.compile(LOCAL_DATETIME_PATTERN, re.ASCII)


class Clock:
    """Aware instants in ``timezone`` (a naive ``frozen_at`` is read as local time there).

    Real by default; ``freeze`` stops it, ``advance`` moves it (frozen or not), ``resume``
    returns it to the real time.
    """

    def __init__(self, timezone: str = DEFAULT_TIMEZONE, frozen_at: datetime | None = None) -> None:
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self._frozen_at = None if frozen_at is None else self.local(frozen_at)
        self._offset = timedelta()
        # The instant of the current whole second: the zone is consulted once a second.
        self._second = -1
        self._second_start = datetime.min.replace(tzinfo=self.zone)

    def local(self, value: datetime) -> datetime:
        """``value`` in this clock's zone (a naive one taken as local time there)."""
        return value.replace(tzinfo=self.zone) if value.tzinfo is None else value.astimezone(self.zone)

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def now(self) -> datetime:
        """The current instant, in the clock's zone."""
        if self._frozen_at is not None:
            return self._frozen_at
        now = time()
        second = int(now)
        if second != self._second:
            self._second_start = datetime.fromtimestamp(second, self.zone) + self._offset
            self._second = second
        return self._second_start + timedelta(0, 0, int((now - second) * 1_000_000))

    def freeze(self, at: datetime | None = None) -> None:
        """Stop the clock at ``at``, or at the current time."""
        self._frozen_at = self.now() if at is None else self.local(at)

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta`` (backward when negative); ``OverflowError``, and
        no change, if that leaves the years 1 to 9999 (a running clock: 1 to 9998)."""
        moved = self.now() + delta
        if self._frozen_at is not None:
            self._frozen_at = moved
        elif moved.replace(tzinfo=None) >= LATEST_RUNNING:
            raise OverflowError(f"a running clock must stay before {LATEST_RUNNING.isoformat()}")
        else:
            self._offset += delta
            self._second = -1

    def resume(self) -> None:
        """Return to the real time, dropping any freeze or offset."""
        self._frozen_at = None
        self._offset = timedelta()
        self._second = -1


def format_local_datetime(value: datetime) -> str:
    """The local date and time of ``value`` as Java's ``ISO_LOCAL_DATE_TIME`` writes it:
    ``2025-10-22T20:21:35.5294``, fraction zeros trimmed, no offset."""
    text = _whole_second(value.year, value.month, value.day, value.hour, value.minute, value.second)
    microsecond = value.microsecond
    return f"{text}.{microsecond:06d}".rstrip("0") if microsecond else text


@functools.lru_cache(maxsize=1)
def _whole_second(year: int, month: int, day: int, hour: int, minute: int, second: int) -> str:
    """A whole second's text, kept for the next time: the times written in a row mostly share it.
    ``%`` formats six numbers in a third of the time format specifiers take, and needs no
    ``datetime`` without its zone first, as ``isoformat`` would."""
    return "%04d-%02d-%02dT%02d:%02d:%02d" % (year, month, day, hour, minute, second)  # noqa: UP031


def parse_local_datetime(text: str) -> datetime | None:
    """A naive local date and time as ``LocalDateTime.parse`` reads it (a fraction beyond
    microseconds truncated), or None."""
    match = _LOCAL_DATETIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        return None

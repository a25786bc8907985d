"""The one source of time: local time in a zone, real or frozen, and movable by tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from time import time
from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_TIMEZONE", "Clock"]

DEFAULT_TIMEZONE = "Asia/Seoul"
#: A running clock is never moved past this, so that it cannot run out of years as it runs.
LATEST_RUNNING = datetime(9999, 1, 1)


class Clock:
    """Naive local time in ``timezone``, as a Spring Boot server's ``LocalDateTime.now()``.

    Real by default; ``freeze`` stops it, ``advance`` moves it (frozen or not), ``resume``
    returns it to the real time.
    """

    def __init__(self, timezone: str = DEFAULT_TIMEZONE, frozen_at: datetime | None = None) -> None:
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self._frozen_at = frozen_at
        self._offset = timedelta()
        # The local time of the current whole second: the zone is consulted once a second.
        self._second = -1
        self._second_start = datetime.min

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def now(self) -> datetime:
        """The current local time, without offset."""
        if self._frozen_at is not None:
            return self._frozen_at
        now = time()
        second = int(now)
        if second != self._second:
            self._second_start = datetime.fromtimestamp(second, self.zone).replace(tzinfo=None) + self._offset
            self._second = second
        return self._second_start + timedelta(0, 0, int((now - second) * 1_000_000))

    def freeze(self, at: datetime | None = None) -> None:
        """Stop the clock at ``at``, or at the current time."""
        self._frozen_at = self.now() if at is None else at

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta`` (backward when negative); ``OverflowError``, and
        no change, if that leaves the years 1 to 9999 (a running clock: 1 to 9998)."""
        moved = self.now() + delta
        if self._frozen_at is not None:
            self._frozen_at = moved
        elif moved >= LATEST_RUNNING:
            raise OverflowError(f"a running clock must stay before {LATEST_RUNNING.isoformat()}")
        else:
            self._offset += delta
            self._second = -1

    def resume(self) -> None:
        """Return to the real time, dropping any freeze or offset."""
        self._frozen_at = None
        self._offset = timedelta()
        self._second = -1

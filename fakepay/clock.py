"""The one source of time: local time in a zone, real or frozen, and movable by tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Clock", "DEFAULT_TIMEZONE"]

DEFAULT_TIMEZONE = "Asia/Seoul"


class Clock:
    """Naive local time in ``timezone``, as a Spring Boot server's ``LocalDateTime.now()``.

    Real by default; ``freeze`` stops it, ``advance`` moves it (frozen or not), ``resume``
    returns it to the real time.
    """

    def __init__(self, timezone: str = DEFAULT_TIMEZONE, frozen_at: datetime | None = None) -> None:
        self.timezone = timezone
        self._zone = ZoneInfo(timezone)
        self._frozen_at = frozen_at
        self._offset = timedelta()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def now(self) -> datetime:
        """The current local time, without offset."""
        if self._frozen_at is not None:
            return self._frozen_at
        return datetime.now(self._zone).replace(tzinfo=None) + self._offset

    def freeze(self, at: datetime | None = None) -> None:
        """Stop the clock at ``at``, or at the current time."""
        self._frozen_at = self.now() if at is None else at

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta`` (backward when negative)."""
        if self._frozen_at is not None:
            self._frozen_at += delta
        else:
            self._offset += delta

    def resume(self) -> None:
        """Return to the real time, dropping any freeze or offset."""
        self._frozen_at = None
        self._offset = timedelta()

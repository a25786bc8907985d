"""What an instance starts from: a scenario's envelope (name, seed, clock, failure, latency,
rules, journal), the same for every API, and the API's own section (its stores, payments,
credentials), which only its dialect reads."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .clock import DEFAULT_TIMEZONE
from .rules import Rule

__all__ = ["DEFAULT_API", "DEFAULT_MAX_ENTRIES", "ClockConfig", "FailureConfig", "LatencyConfig", "Scenario"]

#: The API a scenario is of when it names none (the only name of an API the core writes).
DEFAULT_API = "ceos"
#: How many entries the journal keeps unless a scenario says otherwise.
DEFAULT_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class ClockConfig:
    timezone: str = DEFAULT_TIMEZONE
    frozen_at: datetime | None = None


@dataclass(frozen=True)
class FailureConfig:
    rate: float = 0.1
    status: int = 500
    reuse_failed_payment_id: bool = True


@dataclass(frozen=True)
class LatencyConfig:
    fixed_ms: int = 0
    jitter_ms: int = 0


@dataclass(frozen=True)
class Scenario:
    """Everything an instance starts from; ``reset`` returns to it. ``api`` names the dialect,
    ``section`` is that dialect's own part (None: its defaults)."""

    name: str = "default"
    seed: int | None = None
    clock: ClockConfig = field(default_factory=ClockConfig)
    failure: FailureConfig = field(default_factory=FailureConfig)
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    rules: tuple[Rule, ...] = ()
    journal_max_entries: int = DEFAULT_MAX_ENTRIES
    api: str = DEFAULT_API
    section: Any = None

    def overridden(self, *, seed: int | None = None, failure_rate: float | None = None) -> Scenario:
        """This scenario with another seed or failure rate, where given."""
        scenario = self if seed is None else replace(self, seed=seed)
        if failure_rate is not None:
            scenario = replace(scenario, failure=replace(scenario.failure, rate=failure_rate))
        return scenario

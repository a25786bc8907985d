"""The failure policy: what decides a request's outcome. Each owner's seeded draws (the n-th
draw depends only on the seed, the owner and n), the latency stream, and the rules in force,
first match wins. No HTTP here."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

from .calls import Decision
from .config import LatencyConfig
from .errors import ItemNotFound, TooManyRules
from .events import Events, RuleChanged, RuleDeleted, RulesCleared
from .rules import MAX_RULES, Attempt, Kind, Outcome, Rule

__all__ = ["ActiveRule", "FailurePolicy"]


@dataclass(slots=True)
class ActiveRule:
    """A rule in force: its id, and how many more times it may match (None: unlimited)."""

    id: int
    rule: Rule
    remaining: int | None

    def to_data(self) -> dict[str, Any]:
        return {"id": self.id, **self.rule.to_data(), "remaining": self.remaining}


class FailurePolicy:
    """The seeded draws and the rules of one instance (at most ``MAX_RULES``). Each change to the
    rules is published as what changed: ``rule`` (one added, or its count used), ``rule_deleted``
    (its id), or ``rules`` (all cleared)."""

    seed: int
    rules: list[ActiveRule]

    def __init__(self, events: Events) -> None:
        self._events = events

    def restart(self, seed: int, rules: Iterable[Rule]) -> None:
        """Start again from ``seed`` with ``rules`` (numbered from 1)."""
        self.reseed(seed)
        self.rules = [ActiveRule(i, rule, rule.times) for i, rule in enumerate(rules, 1)]
        self._next_rule_id = len(self.rules) + 1

    def reseed(self, seed: int) -> None:
        """Draw from ``seed`` from now on, every owner from its first draw again."""
        self.seed = seed
        self._draws: dict[str, int] = {}
        self._latency = random.Random(f"{seed}:latency")

    def forget(self, owner: str) -> None:
        """Start ``owner``'s draws again from the first."""
        self._draws.pop(owner, None)

    def owners(self) -> Iterable[str]:
        """The owners that have drawn."""
        return self._draws.keys()

    def fails(self, owner: str, rate: float) -> bool:
        """Whether the owner's next payment fails at ``rate``: its next draw is below it."""
        if 0 < rate < 1:
            return self.draw(owner) < rate
        self._draws[owner] = self._draws.get(owner, 0) + 1  # drawn all the same, though it cannot matter
        return rate >= 1

    def draw(self, owner: str) -> float:
        """The owner's next number in [0, 1): a counter is all an owner costs."""
        count = self._draws.get(owner, 0)
        self._draws[owner] = count + 1
        digest = blake2b(f"{self.seed}:{owner}:{count}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def latency(self, latency: LatencyConfig) -> float:
        """Seconds to hold the next request (``fixed_ms`` plus seeded jitter)."""
        if not latency.fixed_ms and not latency.jitter_ms:
            return 0.0
        return (latency.fixed_ms + self._latency.random() * latency.jitter_ms) / 1000

    def decide(self, decision: Decision, attempt: Attempt, changes: bool = True) -> Decision:
        """``decision`` as the first matching rule (if any) changes it, the same for every
        operation: ``succeed`` and ``fail`` decide whether it fails; a fault is handed on (a
        simulated failure stands only under ``delay``); an operation that ``changes`` nothing (a
        lookup, a secret) has no change to lose, so there ``lost_response`` is a ``reset``."""
        if not self.rules:
            return decision
        active = self._match(attempt)
        if active is None:
            return decision
        decision.rule = active.id
        then = active.rule.then
        if then.kind is Kind.SUCCEED or then.kind is Kind.FAIL:
            decision.failed = then.kind is Kind.FAIL
            return decision
        lost = then.kind is Kind.LOST_RESPONSE and not changes
        decision.fault = Outcome(Kind.RESET) if lost else then
        decision.failed = decision.failed and then.kind is Kind.DELAY
        return decision

    def rule_for(self, attempt: Attempt, naming: str | None = None) -> ActiveRule | None:
        """The first matching rule (if any; with ``naming``, among those with that condition),
        which decides an attempt that is no request (a webhook message sent)."""
        return self._match(attempt, naming) if self.rules else None

    def _match(self, attempt: Attempt, naming: str | None = None) -> ActiveRule | None:
        for active in self.rules:
            when = active.rule.when
            if naming is not None and all(condition.matcher.key != naming for condition in when.conditions):
                continue
            if active.remaining != 0 and when.matches(attempt):
                if active.remaining is not None:
                    active.remaining -= 1
                    self._publish(active)
                return active
        return None

    def add_rule(self, rule: Rule) -> ActiveRule:
        """Add a rule after the others (first match wins); it lasts until reset. ``TooManyRules``
        when ``MAX_RULES`` are in force."""
        if len(self.rules) >= MAX_RULES:
            raise TooManyRules(MAX_RULES)
        active = ActiveRule(self._next_rule_id, rule, rule.times)
        self._next_rule_id += 1
        self.rules.append(active)
        self._publish(active)
        return active

    def delete_rule(self, rule_id: int) -> None:
        """Remove the rule ``rule_id``; ``ItemNotFound`` if there is none."""
        kept = [active for active in self.rules if active.id != rule_id]
        if len(kept) == len(self.rules):
            raise ItemNotFound(f"no rule with id {rule_id}")
        self.rules = kept
        if self._events.listeners:
            self._events.publish(RuleDeleted(rule_id))

    def rules_data(self) -> list[dict[str, Any]]:
        """The rules in force as the control API shows them."""
        return [active.to_data() for active in self.rules]

    def clear_rules(self) -> None:
        self.rules = []
        if self._events.listeners:
            self._events.publish(RulesCleared())

    def _publish(self, active: ActiveRule) -> None:
        """Tell listeners of one rule added or changed (never the whole list: it may be long)."""
        if self._events.listeners:
            self._events.publish(RuleChanged(active))

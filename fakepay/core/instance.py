"""One fake server's core: its scenario, state and behaviour, with no HTTP in it.

An ``Instance`` holds the parts every API shares (the clock, the failure policy, the journal, the
events, the epochs of its resets) and its dialect's ``State`` (the store, the credentials); it
decides each call of the API and can return to its scenario's start at any time.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from .calls import Call, Decision
from .clock import Clock
from .config import Scenario
from .dialect import Dialect, State
from .errors import InvalidRequest, StateReset
from .events import ClockMoved, ConfigChanged, Events, Reset, ScenarioLoaded
from .journal import Journal
from .policy import FailurePolicy
from .rules import WEBHOOK, Attempt
from .webhooks import ATTEMPT, PLAIN, Delivery, Message, Sending, delivery_of

__all__ = ["Epochs", "Instance"]


def _random_seed() -> int:
    return int.from_bytes(os.urandom(4), "big")


class Epochs:
    """Which state a request was sent to. Every reset (of everything, or of one owner) begins a
    new epoch; a request that began in an older one has outlived the state it was sent to."""

    #: How many owners' last resets are remembered; past that the oldest is forgotten, and a
    #: request older than it counts as outlived whatever its owner.
    OWNERS_KEPT = 10_000

    def __init__(self) -> None:
        #: The epoch a request that arrives now begins in.
        self.current = 0
        self._everything = 0
        self._owners: dict[str, int] = {}
        self._forgotten = 0

    def begin(self, owner: str | None = None) -> None:
        """A reset of everything (``owner`` None) or of ``owner``'s store begins a new epoch."""
        self.current += 1
        if owner is None:
            self._everything = self.current
            self._owners = {}
            return
        self._owners.pop(owner, None)  # to the end: the dict stays in the order of the resets
        self._owners[owner] = self.current
        if len(self._owners) > self.OWNERS_KEPT:
            oldest = next(iter(self._owners))
            self._forgotten = self._owners.pop(oldest)

    def outlived(self, epoch: int, owner: str | None) -> bool:
        """Whether a request that began in ``epoch`` (for ``owner``, if known) was sent to a state
        that has since been reset."""
        if epoch < self._everything:
            return True
        return owner is not None and epoch < self._owners.get(owner, self._forgotten)


class Instance:
    """One fake server of one API (``dialect``): its scenario, state and behaviour. Every change
    is published to ``events``."""

    scenario: Scenario
    config: Scenario
    start_seed: int
    clock: Clock

    def __init__(self, dialect: Dialect, scenario: Scenario | None = None, sandbox: str | None = None) -> None:
        self.dialect = dialect
        #: The sandbox this instance is (None: a server's own, the default one).
        self.sandbox = sandbox
        self.events = Events()
        scenario = scenario or Scenario(api=dialect.name)
        self.journal = Journal(scenario.journal_max_entries, self.events)
        self.policy = FailurePolicy(self.events)
        self.epochs = Epochs()
        #: Told of every reset (its owner, None for everything), to let go of requests held for it.
        self.reset_listeners: list[Callable[[str | None], None]] = []
        #: Where webhook messages go, as a rule shapes each (set by the server; None: nowhere).
        self.sender: Callable[[Message, Delivery], None] | None = None
        self.scenario = self.config = scenario
        self._set_clock()
        self.state: State = dialect.state(self)
        self.load(scenario)

    # -- scenario, reset, configuration ------------------------------------------------------

    def load(self, scenario: Scenario) -> None:
        """Make ``scenario`` the start of this instance, and go there (``InvalidRequest``, nothing
        changed, for a scenario of another API)."""
        if scenario.api != self.dialect.name:
            raise InvalidRequest(f"this fakepay serves the {self.dialect.name} API; a scenario of the {scenario.api} "
                                 f"API needs a fakepay of its own (fakepay serve --api {scenario.api}) or a sandbox")
        self.scenario = scenario
        self.start_seed = scenario.seed if scenario.seed is not None else _random_seed()
        self.reset()
        if self.events.listeners:
            self.events.publish(ScenarioLoaded(scenario.name, self.policy.seed))

    def reset(self, owner: str | None = None) -> None:
        """Return to the scenario's start; with ``owner``, only that store's payments, random
        stream and journal entries. Requests in flight are kept out of the new state (see
        ``decide``), and those held are let go."""
        self.epochs.begin(owner)
        if owner is not None:
            self.policy.forget(owner)
            self.journal.clear(owner)
        else:
            self.config = self.scenario
            self.policy.restart(self.start_seed, self.scenario.rules)
            self._set_clock()
            self.journal.clear(max_entries=self.scenario.journal_max_entries)
        self.state.reset(owner)
        for listener in self.reset_listeners:
            listener(owner)
        if self.events.listeners:
            self.events.publish(Reset(owner))

    def apply_config(self, config: Scenario, changed: Collection[str]) -> None:
        """Make ``config`` the configuration in force (until the next reset), its keys ``changed``."""
        self.config = config
        if "seed" in changed:
            self.policy.reseed(config.seed if config.seed is not None else _random_seed())
        if "clock" in changed:
            self._set_clock()
        if "journal" in changed:
            self.journal.resize(config.journal_max_entries)
        self.state.configured(changed)
        if self.events.listeners:
            self.events.publish(ConfigChanged())

    def _set_clock(self) -> None:
        self.clock = Clock(self.config.clock.timezone, self.config.clock.frozen_at)

    # -- the time ----------------------------------------------------------------------------

    def move_clock(self, *, resume: bool = False, freeze: bool = False, at: datetime | None = None,
                   advance_ms: float | None = None) -> None:
        """Resume the clock, then freeze it (at ``at``, or now), then advance it, all or nothing:
        ``InvalidRequest``, and no change, if that leaves the years 1 to 9999 (a running clock:
        1 to 9998, so that it cannot run out of years while it runs)."""
        clock = copy.copy(self.clock)
        if resume:
            clock.resume()
        if freeze:
            clock.freeze(at)
        if advance_ms is not None:
            try:
                clock.advance(timedelta(milliseconds=advance_ms))
            except OverflowError:
                limit = "9999" if clock.frozen else "9998 (the clock is running)"
                raise InvalidRequest(f"advancing the clock by {advance_ms:g} ms leaves the years 1 to {limit}") from None
        self.clock = clock
        if self.events.listeners:
            self.events.publish(ClockMoved())

    def latency(self) -> float:
        """Seconds to hold the next request (``latency.fixed_ms`` plus seeded jitter)."""
        return self.policy.latency(self.config.latency)

    # -- the API -----------------------------------------------------------------------------

    def identify(self, call: Call) -> None:
        """Note the owner of the call's credentials, or ``Unauthorized``."""
        call.owner = self.state.identify(call.authorization)

    def decide(self, call: Call) -> Decision:
        """The one decision for a call whose context is complete (operation, path value, owner,
        parsed body): carried out by its operation on the dialect's state, or not, as the seeded
        draw and the rules say. The operation's own errors (a payment not found, already paid,
        ...) are raised, and ``StateReset`` for a call that outlived the state it was sent to
        (nothing stored or drawn)."""
        assert call.operation is not None
        operation = self.dialect.operations[call.operation]
        if call.epoch is not None and self.epochs.outlived(call.epoch, call.owner):
            raise StateReset(operation.asked.format(call.path_value))
        return operation.carry(self.state, call)

    def fails(self, owner: str) -> bool:
        """Whether the owner's next payment fails by the seeded draw at the failure rate in force."""
        return self.policy.fails(owner, self.config.failure.rate)

    def send_webhook(self, message: Message) -> None:
        """Send a webhook message as the first rule of ``webhook`` its first attempt matches shapes it."""
        if self.sender is not None:
            self.sender(message, self.webhook_delivery(message, 1))

    def webhook_delivery(self, message: Message, attempt: int) -> Delivery:
        """How an attempt to send a webhook message goes: the first, as the first rule of
        ``webhook`` it matches says; a retry, as the first that names its ``attempt`` says."""
        if not self.policy.rules:
            return PLAIN
        naming = None if attempt == 1 else ATTEMPT.key
        active = self.policy.rule_for(Attempt(WEBHOOK, message.owner or "", message.payment_id, Sending(message, attempt)), naming)
        return PLAIN if active is None else delivery_of(active.rule.then, active.id)

    def ruled(self, decision: Decision, operation: str, owner: str, path_value: str | None = None,
              subject: Any = None) -> Decision:
        """``decision`` as the rules decide it for ``operation`` (no rule: as it is, and no
        ``Attempt`` built)."""
        if not self.policy.rules:
            return decision
        changes = self.dialect.operations[operation].changes
        return self.policy.decide(decision, Attempt(operation, owner, path_value, subject), changes)

"""Sandboxes: many isolated instances on one server. The server's own instance is the default
sandbox; the others are made on demand, at most ``limit`` at once, and each expires after
``idle_s`` seconds without a call."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from time import monotonic

from .config import Scenario
from .errors import SandboxNotFound, TooManySandboxes
from .instance import Instance
from .text import show

__all__ = ["DEFAULT", "DEFAULT_IDLE_S", "DEFAULT_LIMIT", "Sandbox", "Sandboxes"]

#: The id of the server's own instance.
DEFAULT = "default"
#: Sandboxes a server holds at once unless told otherwise.
DEFAULT_LIMIT = 1000
#: Seconds a sandbox lives without a call unless told otherwise.
DEFAULT_IDLE_S = 30 * 60.0


@dataclass(eq=False)
class Sandbox:
    """One sandbox: its id, its instance, and when (``time.monotonic``) it was made and last used."""

    id: str
    instance: Instance
    created: float = field(default_factory=monotonic)
    used: float = field(default_factory=monotonic)


class Sandboxes:
    """The default sandbox and those made since, by id. ``make`` makes the instance of a new one
    from its scenario and id."""

    def __init__(self, default: Instance, make: Callable[[Scenario | None, str], Instance], *,
                 limit: int = DEFAULT_LIMIT, idle_s: float = DEFAULT_IDLE_S) -> None:
        self.default = Sandbox(DEFAULT, default)
        self.limit = limit
        self.idle_s = idle_s
        self._make = make
        self._made: dict[str, Sandbox] = {}
        #: Told of each sandbox that is gone (deleted or expired), to let go of what serves it.
        self.gone_listeners: list[Callable[[Sandbox], None]] = []

    def create(self, scenario: Scenario | None = None) -> Sandbox:
        """A new sandbox starting from ``scenario``, once those idle too long are gone;
        ``TooManySandboxes`` when ``limit`` are still in use."""
        self.expire()
        if len(self._made) >= self.limit:
            raise TooManySandboxes(self.limit)
        sandbox_id = secrets.token_hex(8)
        sandbox = Sandbox(sandbox_id, self._make(scenario, sandbox_id))
        self._made[sandbox_id] = sandbox
        return sandbox

    def find(self, sandbox_id: str) -> Sandbox | None:
        """The live sandbox ``sandbox_id`` (noted as used now), or None."""
        if sandbox_id == DEFAULT:
            return self.default
        sandbox = self._made.get(sandbox_id)
        if sandbox is None:
            return None
        now = monotonic()
        if now - sandbox.used > self.idle_s:
            self._forget(sandbox)
            return None
        sandbox.used = now
        return sandbox

    def get(self, sandbox_id: str) -> Sandbox:
        """The live sandbox ``sandbox_id``, or ``SandboxNotFound``."""
        sandbox = self.find(sandbox_id)
        if sandbox is None:
            raise SandboxNotFound(show(sandbox_id))
        return sandbox

    def delete(self, sandbox_id: str) -> None:
        """Delete a live sandbox made before (the default one stays); ``SandboxNotFound`` if there
        is none."""
        sandbox = self.get(sandbox_id)
        if sandbox is self.default:
            raise SandboxNotFound(show(sandbox_id))
        self._forget(sandbox)

    def expire(self) -> None:
        """Forget every sandbox idle for longer than ``idle_s``."""
        deadline = monotonic() - self.idle_s
        for sandbox in [s for s in self._made.values() if s.used < deadline]:
            self._forget(sandbox)

    def _forget(self, sandbox: Sandbox) -> None:
        del self._made[sandbox.id]
        for listener in self.gone_listeners:
            listener(sandbox)

    def __iter__(self) -> Iterator[Sandbox]:
        """The sandboxes made and still live, oldest first (not the default one)."""
        return iter(list(self._made.values()))

    def __len__(self) -> int:
        return len(self._made)

"""What a request asks of an instance (``Call``), what the instance decides (``Decision``) and how
it was answered (``Answer``): the typed record the HTTP layer fills in as it reads a request, and
the journal keeps. No HTTP here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from .rules import Kind, Outcome

__all__ = ["Answer", "Call", "Decision"]


@dataclass(slots=True, eq=False)
class Call:
    """One request of an API, filled in as it is read (operation, path value, credentials, owner,
    body), so that the journal shows how far a refused request got."""

    #: The journal id, unique for the instance's life.
    id: int
    #: When it arrived (epoch seconds, the real time even when the instance's clock is frozen).
    arrived: float
    #: When it arrived by ``time.perf_counter``, for its duration.
    started: float
    method: str
    #: The path as sent, still percent-encoded.
    path: str
    #: The operation of its route (None for an unknown route).
    operation: str | None = None
    #: The route's path value, decoded (named by the operation's ``param``).
    path_value: str | None = None
    #: The ``Authorization`` header as sent.
    authorization: str | None = None
    #: Whom the credentials stand for.
    owner: str | None = None
    #: The body as sent, cut to what the journal keeps.
    body: bytes | None = None
    #: The parsed body.
    request: Any = None
    #: What the body had that the API ignores.
    warnings: list[str] | tuple[()] = ()
    #: The instance's epoch when the request arrived (``Epochs.current``): a reset since then,
    #: of everything or of the owner, keeps it out of the state. None: decided as it comes.
    epoch: int | None = None


@dataclass(slots=True, eq=False)
class Decision:
    """What a call came to: its ``value`` (a payment, a secret), whether it failed (simulated),
    the rule that matched and the ``fault`` it forces (``delay``, ``timeout``, ``reset``,
    ``lost_response``, ``status``)."""

    value: Any
    failed: bool = False
    fault: Outcome | None = None
    rule: int | None = None

    @property
    def outcome(self) -> str:
        """``ok``, ``failed`` or the fault applied, as the journal shows it."""
        if self.fault is not None:
            return self.fault.kind.value
        return "failed" if self.failed else "ok"

    @property
    def carried_out(self) -> bool:
        """Whether the operation happens: not failed, and no fault that stops it."""
        return not self.failed and (self.fault is None or self.fault.kind.carries_out)

    @property
    def closes(self) -> bool:
        """Whether the connection is closed without an answer."""
        return self.fault is not None and self.fault.kind.closes

    @property
    def answered(self) -> bool:
        """Whether the answer is sent at once (no fault, or a rule's status)."""
        return self.fault is None or self.fault.kind is Kind.STATUS


class Answer(NamedTuple):
    """How a call was answered: ``status`` and ``body`` (both None when the connection was closed
    unanswered), how it came out (``ok``, ``failed``, a fault, ``rejected``, ...) and the rule
    that decided it."""

    status: int | None
    body: bytes | None
    outcome: str = "ok"
    rule: int | None = None

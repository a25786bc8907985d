"""What a request of the payment API asks of the core (``Call``) and what the core decides
(``Decision``): the typed context the HTTP layer fills in as it reads a request, and the one
answer ``PaymentService.decide`` gives it. No HTTP here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import FakePayError
from .rules import Kind, Operation, Outcome
from .validation import InstantPaymentRequest

__all__ = ["Call", "Decision"]


@dataclass(slots=True, eq=False)
class Call:
    """One request of the payment API, filled in as it is read (path value, credentials,
    owner, body), so that the journal shows how far a refused request got."""

    operation: Operation
    #: The route's path value, decoded: the paymentId, or the githubId of ``auth`` (see
    #: ``Operation.param``).
    path_value: str | None = None
    #: The ``Authorization`` header as sent.
    authorization: str | None = None
    #: The githubId the credentials stand for.
    owner: str | None = None
    #: The body as sent, cut to what the journal keeps.
    body: bytes | None = None
    #: The parsed body of an instant payment.
    payment: InstantPaymentRequest | None = None
    #: What the body had that the API ignores.
    warnings: list[str] | tuple[()] = ()
    #: The service's epoch when the request arrived (``Epochs.current``): a reset since then,
    #: of everything or of the owner, keeps it out of the state. None: decided as it comes.
    epoch: int | None = None


@dataclass(slots=True, eq=False)
class Decision:
    """What a call came to: its ``value`` (a payment, a secret), whether it failed (simulated),
    the rule that matched and the ``fault`` it forces for the HTTP layer to apply (``delay``,
    ``timeout``, ``reset``, ``lost_response``, ``status``); and the answer: ``status`` and
    ``body`` (JSON, or plain text when ``text``), or the ``failure`` to answer with."""

    value: Any
    failed: bool = False
    fault: Outcome | None = None
    rule: int | None = None
    status: int = 200
    body: bytes = b"{}"
    text: bool = False
    failure: FakePayError | None = None

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

"""Rules (docs/rules-and-faults.md): what a request must look like, and the outcome or fault forced on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .globs import Glob
from .validation import InstantPaymentRequest

__all__ = ["FAULTS", "MAX_RULES", "OPERATIONS", "Attempt", "Kind", "Operation", "Outcome", "Rule", "When"]

DEFAULT_TIMEOUT_S = 30.0
#: Rules in force at once (a scenario's, and those added since), so that matching a request, and
#: the list the control API shows, stay small.
MAX_RULES = 1000


class Operation(str, Enum):
    """The four operations of the payment API, by the names rules and the journal use."""

    AUTH = "auth"
    INSTANT = "instant"
    CANCEL = "cancel"
    GET = "get"

    @property
    def param(self) -> str:
        """The name of the operation's one path value."""
        return "githubId" if self is Operation.AUTH else "paymentId"

    @property
    def changes(self) -> bool:
        """Whether the operation changes what is stored (so that its answer can be lost)."""
        return self is Operation.INSTANT or self is Operation.CANCEL


OPERATIONS = tuple(operation.value for operation in Operation)


class Kind(str, Enum):
    """What a rule makes of a request: the one list of outcomes, each knowing whether the
    operation is still carried out and whether the connection is closed unanswered."""

    SUCCEED = "succeed"
    FAIL = "fail"
    DELAY = "delay"
    TIMEOUT = "timeout"
    RESET = "reset"
    LOST_RESPONSE = "lost_response"
    STATUS = "status"

    @property
    def carries_out(self) -> bool:
        """The operation happens (stored, cancelled), though its answer may be held or lost."""
        return self in (Kind.SUCCEED, Kind.DELAY, Kind.LOST_RESPONSE)

    @property
    def closes(self) -> bool:
        """The connection is closed without an answer."""
        return self in (Kind.TIMEOUT, Kind.RESET, Kind.LOST_RESPONSE)

    @property
    def named(self) -> bool:
        """Written as a plain string in a rule's ``then`` (the others take a mapping)."""
        return self not in (Kind.DELAY, Kind.STATUS)


#: Outcomes named by a plain string in ``then``.
FAULTS = tuple(kind.value for kind in Kind if kind.named)


@dataclass(frozen=True, slots=True)
class Attempt:
    """What a rule is matched against: the operation and the payment's fields as far as known."""

    operation: Operation
    owner: str
    payment_id: str | None = None
    request: InstantPaymentRequest | None = None


@dataclass(frozen=True)
class Outcome:
    """What a matching rule does: its ``kind``, and the figures that kind takes."""

    kind: Kind
    delay_ms: int = 0
    timeout_s: float = DEFAULT_TIMEOUT_S
    status: int = 200
    body: Any = None

    def to_data(self) -> Any:
        """The outcome as a scenario writes it."""
        if self.kind is Kind.DELAY:
            return {"delay_ms": self.delay_ms}
        if self.kind is Kind.TIMEOUT:
            return {"timeout_s": self.timeout_s}
        if self.kind is Kind.STATUS:
            return {"status": self.status, "body": self.body}
        return self.kind.value


def _glob(pattern: str | None) -> Glob | None:
    return None if pattern is None else Glob(pattern)


@dataclass(frozen=True)
class When:
    """The conditions of a rule; an absent one matches anything."""

    operation: str | None = None
    owner: str | None = None
    payment_id: str | None = None
    store_id: str | None = None
    order_name: str | None = None
    currency: str | None = None
    amount_gte: int | None = None
    amount_lte: int | None = None
    amount_eq: int | None = None
    _payment_id_glob: Glob | None = field(init=False, repr=False, compare=False)
    _order_name_glob: Glob | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_payment_id_glob", _glob(self.payment_id))
        object.__setattr__(self, "_order_name_glob", _glob(self.order_name))

    def matches(self, attempt: Attempt) -> bool:
        if self.operation is not None and self.operation != attempt.operation:
            return False
        if self.owner is not None and self.owner != attempt.owner:
            return False
        if self._payment_id_glob is not None and not _matches(self._payment_id_glob, attempt.payment_id):
            return False
        request = attempt.request
        if request is None:  # a secret's request: it matches only rules on the operation and the owner
            return (self._order_name_glob is None and self.store_id is None and self.currency is None
                    and self.amount_eq is None and self.amount_gte is None and self.amount_lte is None)
        if self._order_name_glob is not None and not _matches(self._order_name_glob, request.order_name):
            return False
        if self.store_id is not None and self.store_id != request.store_id:
            return False
        if self.currency is not None and self.currency != request.currency:
            return False
        amount = request.total_pay_amount
        return (
            (self.amount_eq is None or amount == self.amount_eq)
            and (self.amount_gte is None or amount >= self.amount_gte)
            and (self.amount_lte is None or amount <= self.amount_lte)
        )

    def to_data(self) -> dict[str, Any]:
        """The conditions as a scenario writes them."""
        data: dict[str, Any] = {
            key: value
            for key, value in (
                ("operation", self.operation),
                ("owner", self.owner),
                ("paymentId", self.payment_id),
                ("storeId", self.store_id),
                ("orderName", self.order_name),
                ("currency", self.currency),
            )
            if value is not None
        }
        if self.amount_eq is not None:
            data["totalPayAmount"] = self.amount_eq
        elif self.amount_gte is not None or self.amount_lte is not None:
            data["totalPayAmount"] = {
                k: v for k, v in (("gte", self.amount_gte), ("lte", self.amount_lte)) if v is not None
            }
        return data


def _matches(glob: Glob, value: str | None) -> bool:
    return value is not None and glob.matches(value)


@dataclass(frozen=True)
class Rule:
    """``when`` the request matches, ``then`` happens, at most ``times`` times (None: always)."""

    when: When
    then: Outcome
    times: int | None = None

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"when": self.when.to_data(), "then": self.then.to_data()}
        if self.times is not None:
            data["times"] = self.times
        return data

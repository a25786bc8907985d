"""What an API brings to the core: a ``Dialect`` names its operations and routes, the conditions
its rules may set, its scenario section, and makes the ``State`` (store, credentials) an instance
keeps for it. The core calls it and knows no API by name."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .calls import Call, Decision
from .errors import FakePayError
from .fields import PATH_VALUE, FieldKind, Model
from .rules import Matcher

if TYPE_CHECKING:
    from .document import Path, Reader
    from .instance import Instance

__all__ = ["Column", "Dialect", "Operation", "Reply", "Section", "State"]


class Reply(NamedTuple):
    """An answer's status, body and media type, as the dialect encodes it."""

    status: int
    body: bytes
    content_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of an API: what its route's path value is called (``param``; a route with
    none: its carrying out may name it from the body), what a call asks (``asked``, with the path
    value in place of ``{}``), whether it is authenticated, how
    its body is read, and the two steps around the core's decision: ``carry`` it out on the
    dialect's state, ``encode`` what it came to (raising the API's error for a simulated
    failure); and what its documentation says of it: ``summary``, the models of its body and
    answer, and the API's errors it may answer with (the pipeline's own aside)."""

    name: str
    param: str
    asked: str
    carry: Callable[[Any, Call], Decision]
    encode: Callable[[Any, Call, Decision], Reply]
    summary: str
    #: What its answer is: a model (JSON), or a kind of text (``answer_type``).
    answer: Model | FieldKind
    #: The API's own errors it may answer with.
    errors: tuple[type[FakePayError], ...]
    #: What its path value may be.
    path_value: FieldKind = PATH_VALUE
    #: The model of its body (None: it takes none).
    body: Model | None = None
    #: The media type of its answer.
    answer_type: str = "application/json"
    #: Whether the call carries credentials (``State.identify``) before anything else.
    authenticated: bool = True
    #: Whether it changes what is stored (so that its answer can be lost).
    changes: bool = False
    #: How its body is parsed: JSON value → (request, warnings); None: it takes none.
    parse: Callable[[Any], tuple[Any, Sequence[str]]] | None = None
    #: Whether a body must say it is JSON (``Content-Type``) to be read.
    json_only: bool = True
    #: Whether its request comes in the query rather than a body, as a GET's does: the JSON
    #: object of a ``requestBody`` parameter, and each other parameter a text field of it.
    query: bool = False
    #: Whether its answer is a secret, which the journal shows cut short.
    answers_secret: bool = False


class Column(NamedTuple):
    """A field of a stored payment as a row of payments shows it: its ``key`` in the payment's
    data, the column's ``title``, and its ``kind``: ``id`` (what tells an owner's payments apart),
    ``status`` (one of the dialect's ``statuses``), ``amount`` (a number, followed by the field
    ``unit`` names), ``count``, ``time`` or ``text``."""

    key: str
    title: str
    kind: str = "text"
    unit: str | None = None


class Section(Protocol):
    """The dialect's own part of a scenario: its top-level fields, how to read and write them."""

    #: Its top-level keys, as fields (for the schema; ``read`` checks them).
    model: Model
    #: A seeded payment, as ``seed_payments`` reads one.
    seed: Model
    #: The section of a scenario that writes none of them.
    default: Any
    #: The keys the configuration in force shows (``GET /__fakepay/state``).
    shown: tuple[str, ...]
    #: The keys a ``PATCH /__fakepay/config`` may change.
    patchable: tuple[str, ...]

    def read(self, reader: Reader, document: Mapping[str, Any]) -> Any:
        """The section from a scenario's top-level mapping; problems go to ``reader``."""

    def write(self, section: Any) -> dict[str, Any]:
        """The section as a scenario writes it (its keys and values)."""

    def seed_payments(self, reader: Reader, items: list[Any], base: Path) -> tuple[Any, ...]:
        """Payments to seed from a list, as ``POST /__fakepay/payments`` takes them."""


class State(Protocol):
    """What an instance keeps for its API: the store and the credentials."""

    def identify(self, authorization: str | None) -> str:
        """Whom ``authorization`` stands for, or ``Unauthorized``."""

    def reset(self, owner: str | None) -> None:
        """Back to the scenario's start: everything (None), or ``owner``'s payments."""

    def configured(self, changed: Collection[str]) -> None:
        """The configuration's keys ``changed`` were changed."""

    def add_payments(self, seeds: Iterable[Any]) -> list[Any]:
        """Store seeded payments (replacing any with the same owner and id)."""

    def payment(self, owner: str, payment_id: str) -> Any:
        """The stored payment, or None."""

    def payments_of(self, owner: str) -> list[Any]:
        """The owner's payments, oldest first."""

    def owners(self) -> Iterable[str]:
        """Every owner that has a store: with payments, or declared."""

    def secret(self, owner: str) -> str:
        """An API secret that stands for ``owner``."""


@dataclass(frozen=True)
class Dialect:
    """An API fakepay serves."""

    #: Its name, as ``api:`` in a scenario and ``--api`` say it.
    name: str
    #: What it is, for people.
    title: str
    operations: Mapping[str, Operation]
    #: Its routes: a path template, and the operation of each method there.
    routes: tuple[tuple[str, Mapping[str, str]], ...]
    #: The conditions its rules may set beyond ``operation`` and ``owner``.
    matchers: tuple[Matcher, ...]
    section: Section
    #: A new state for an instance (made once, with the instance).
    state: Callable[[Instance], State]
    #: Every field of a stored payment, for the control API ...
    payment_data: Callable[[Any], dict[str, Any]]
    #: ... as this model declares them.
    stored: Model
    #: The statuses a payment may have, the one a seeded payment has unless told first.
    statuses: tuple[str, ...]
    #: The fields a row of payments shows, in order.
    columns: tuple[Column, ...]
    #: An instant as the API writes it.
    format_time: Callable[[datetime], str]
    #: The sandbox an ``Authorization`` header's credentials name (None: the default one).
    sandbox_of: Callable[[str], str | None]
    #: Routes of its own under the control API (paths below ``/__fakepay``): steps of a test
    #: that no API call is (a customer paying in a browser, say), behind the control API's
    #: checks, answered by the same pipeline as its routes.
    control_routes: tuple[tuple[str, Mapping[str, str]], ...] = ()
    #: Whether it sends webhooks, which rules of the operation ``webhook`` then shape.
    webhooks: bool = False

    def served(self, control_prefix: str) -> list[tuple[str, Mapping[str, str]]]:
        """Every route it is served at: its own, then its control routes below ``control_prefix``."""
        return [*self.routes, *((control_prefix + path, methods) for path, methods in self.control_routes)]

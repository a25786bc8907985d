"""The errors every API of fakepay shares: one class per wire ``type``, each with its HTTP status
(an API's own errors derive from ``FakePayError`` in its dialect).

FakePayError
├── InvalidRequest           400 INVALID_REQUEST: malformed JSON, a bad field or path value
│   └── ScenarioError        400 INVALID_REQUEST: a scenario (or control body) with problems
├── Unauthorized             401 UNAUTHORIZED: missing, malformed or unknown credentials
├── Forbidden                403 FORBIDDEN: a control call from another origin, or to a host name not allowed
├── PaymentNotFound          404 PAYMENT_NOT_FOUND: no payment with that id for this owner
├── RouteNotFound            404 NOT_FOUND: no such route
├── ItemNotFound             404 NOT_FOUND: no rule or shipped scenario by that id (control API)
├── SandboxNotFound          404 SANDBOX_NOT_FOUND: no live sandbox with that id
├── MethodNotAllowed         405 METHOD_NOT_ALLOWED: known path, wrong method
├── TooManyRules             409 TOO_MANY_RULES: a rule added while as many are in force as fakepay keeps
├── PayloadTooLarge          413 PAYLOAD_TOO_LARGE: a body over 1 MiB
├── UnsupportedMediaType     415 UNSUPPORTED_MEDIA_TYPE: an instant payment that is not JSON
├── TooManySandboxes         429 TOO_MANY_SANDBOXES: as many sandboxes live as the server holds
├── InternalError            500 INTERNAL_ERROR: a bug in fakepay (logged with its traceback)
├── StateReset               503 STATE_RESET: a request in flight when the state it was sent to was reset
└── TooManySubscribers       503 TOO_MANY_SUBSCRIBERS: more event streams open than fakepay serves

The classes know nothing of HTTP beyond their status number; ``fakepay.http.answers`` turns them into
responses in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import ClassVar

__all__ = [
    "FakePayError",
    "Forbidden",
    "InternalError",
    "InvalidRequest",
    "ItemNotFound",
    "MethodNotAllowed",
    "PayloadTooLarge",
    "PaymentNotFound",
    "RouteNotFound",
    "SandboxNotFound",
    "ScenarioError",
    "StateReset",
    "TooManyRules",
    "TooManySandboxes",
    "TooManySubscribers",
    "Unauthorized",
    "UnsupportedMediaType",
]


class FakePayError(Exception):
    """Base of every error fakepay answers with; ``type`` and ``status`` go on the wire.

    A subclass gives its own in its header (``class Gone(FakePayError, type="GONE", status=410)``).
    Its message is ``template`` with the value it is raised with (a message, an id, a limit) in
    place of ``{}``, unless its own constructor writes the message.
    """

    type: ClassVar[str] = "INTERNAL_ERROR"
    status: int = 500
    template: ClassVar[str] = "{}"
    #: Fields its JSON has beside ``type`` and ``message``.
    extra: Mapping[str, str] = MappingProxyType({})

    def __init_subclass__(cls, *, type: str | None = None, status: int | None = None) -> None:
        super().__init_subclass__()
        cls.type = type or cls.type
        cls.status = status or cls.status

    def __init__(self, value: str | int) -> None:
        self.message = self.template.format(value)
        super().__init__(self.message)


class InvalidRequest(FakePayError, type="INVALID_REQUEST", status=400):
    """The request is malformed: JSON syntax, body shape, a field, or a path value."""


class ScenarioError(InvalidRequest):
    """A scenario, or a control API body, has problems; ``problems`` lists every one."""

    def __init__(self, problems: Sequence[str], what: str = "scenario") -> None:
        self.problems = list(problems)
        count = len(self.problems)
        heading = f"{what} is invalid ({count} problem{'s' if count != 1 else ''})"
        super().__init__("\n".join([heading, *self.problems]))


class Unauthorized(FakePayError, type="UNAUTHORIZED", status=401):
    """No ``Authorization`` header, not ``Bearer <token>``, or a token nobody issued."""


class Forbidden(FakePayError, type="FORBIDDEN", status=403):
    """A control call whose ``Origin`` is another site, or, without a control token, whose ``Host``
    is a name not allowed: a web page the developer visits must not drive the fake server."""


class PaymentNotFound(FakePayError, type="PAYMENT_NOT_FOUND", status=404):
    """The store has no payment with this id; raised with the id."""

    template = "payment '{}' not found"


class RouteNotFound(FakePayError, type="NOT_FOUND", status=404):
    """No route has this path."""

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"no route for {method} {path}")


class ItemNotFound(FakePayError, type="NOT_FOUND", status=404):
    """The control API has no such item: a rule id, a shipped scenario's name."""


class SandboxNotFound(FakePayError, type="SANDBOX_NOT_FOUND", status=404):
    """No live sandbox has this id (never made, deleted, or expired); raised with the id as a
    message shows it (``text.show``)."""

    template = "no sandbox {}: it was never made, was deleted, or expired after being idle"


class MethodNotAllowed(FakePayError, type="METHOD_NOT_ALLOWED", status=405):
    """The path exists but not for this method; ``allowed`` goes into the ``Allow`` header."""

    def __init__(self, method: str, path: str, allowed: Iterable[str]) -> None:
        self.allowed = tuple(allowed)
        super().__init__(f"method {method} is not allowed on {path}; allowed: {', '.join(self.allowed)}")


class TooManyRules(FakePayError, type="TOO_MANY_RULES", status=409):
    """A rule added while as many rules are in force as fakepay keeps; raised with that number."""

    template = ("{} rules are in force already, the most fakepay keeps; delete some "
                "(DELETE /__fakepay/rules/{{id}}, or all with DELETE /__fakepay/rules) and add it again")


class TooManySandboxes(FakePayError, type="TOO_MANY_SANDBOXES", status=429):
    """A sandbox asked for while as many are live as the server holds; raised with that number."""

    template = ("the most sandboxes this server holds at once ({}) are live already; delete those you are done "
                "with (DELETE /__fakepay/sandboxes/{{id}}), or start fakepay with a higher --sandboxes")


class PayloadTooLarge(FakePayError, type="PAYLOAD_TOO_LARGE", status=413):
    """The body is over the 1 MiB limit; raised with the limit in bytes."""

    template = "request body is larger than {} bytes"


class UnsupportedMediaType(FakePayError, type="UNSUPPORTED_MEDIA_TYPE", status=415):
    """An instant payment sent without ``Content-Type: application/json``."""

    def __init__(self, content_type: str | None) -> None:
        got = repr(content_type[:64]) if content_type else "none"  # repr: no raw control characters
        super().__init__(f"Content-Type must be application/json, got {got}")


class InternalError(FakePayError, type="INTERNAL_ERROR", status=500):
    """A bug in fakepay, raised with ``where`` it happened (the journal id of the request, or the
    control call): the message names it, and the traceback is logged to stderr under it."""

    template = "internal error in fakepay ({}); its traceback is in the server's log"


class StateReset(FakePayError, type="STATE_RESET", status=503):
    """A request that was in flight when the state it was sent to was reset (all of it, or its
    owner's) or replaced by a scenario: not carried out; raised with what it asked."""

    template = ("fakepay was reset while this request was in flight, so {} was not carried out: nothing of it "
                "was stored, drawn or journaled")


class TooManySubscribers(FakePayError, type="TOO_MANY_SUBSCRIBERS", status=503):
    """``GET /__fakepay/events`` while as many streams are open as fakepay serves at once; raised
    with that number."""

    template = "{} event streams are open already; close one (a dashboard tab, a curl) and try again"

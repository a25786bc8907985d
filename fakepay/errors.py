"""Every error fakepay answers with: one class per wire ``type``, each with its HTTP status.

FakePayError
├── InvalidRequest           400 INVALID_REQUEST: malformed JSON, a bad field or path value
│   └── ScenarioError        400 INVALID_REQUEST: a scenario (or control body) with problems
├── Unauthorized             401 UNAUTHORIZED: missing, malformed or unknown credentials
├── Forbidden                403 FORBIDDEN: a control call from a web page of another origin
├── PaymentNotFound          404 PAYMENT_NOT_FOUND: no payment with that id for this store
├── RouteNotFound            404 NOT_FOUND: no such route
├── ItemNotFound             404 NOT_FOUND: no rule or shipped scenario by that id (control API)
├── MethodNotAllowed         405 METHOD_NOT_ALLOWED: known path, wrong method
├── AlreadyPaid              409 ALREADY_PAID: instant for a PAID or CANCELLED id
├── AlreadyCancelled         409 PAYMENT_ALREADY_CANCELLED: cancel of a CANCELLED payment
├── PaymentNotPaid           409 PAYMENT_NOT_PAID: cancel of a FAILED payment
├── PayloadTooLarge          413 PAYLOAD_TOO_LARGE: a body over 1 MiB
├── UnsupportedMediaType     415 UNSUPPORTED_MEDIA_TYPE: an instant payment that is not JSON
├── PaymentFailed            500 PAYMENT_FAILED: the simulated failure (status configurable)
├── InternalError            500 INTERNAL_ERROR: a bug in fakepay (logged with its traceback)
└── TooManySubscribers       503 TOO_MANY_SUBSCRIBERS: more event streams open than fakepay serves

The classes know nothing of HTTP beyond their status number; ``fakepay.responses`` turns them into
responses in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

__all__ = [
    "AlreadyCancelled",
    "AlreadyPaid",
    "FakePayError",
    "Forbidden",
    "InternalError",
    "InvalidRequest",
    "ItemNotFound",
    "MethodNotAllowed",
    "PayloadTooLarge",
    "PaymentFailed",
    "PaymentNotFound",
    "PaymentNotPaid",
    "RouteNotFound",
    "ScenarioError",
    "TooManySubscribers",
    "Unauthorized",
    "UnsupportedMediaType",
]


class FakePayError(Exception):
    """Base of every error fakepay answers with; ``type`` and ``status`` go on the wire."""

    type: ClassVar[str] = "INTERNAL_ERROR"
    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(FakePayError):
    """The request is malformed: JSON syntax, body shape, a field, or a path value."""

    type = "INVALID_REQUEST"
    status = 400


class ScenarioError(InvalidRequest):
    """A scenario, or a control API body, has problems; ``problems`` lists every one."""

    def __init__(self, problems: Sequence[str], what: str = "scenario") -> None:
        self.problems = list(problems)
        count = len(self.problems)
        heading = f"{what} is invalid ({count} problem{'s' if count != 1 else ''})"
        super().__init__("\n".join([heading, *self.problems]))


class Unauthorized(FakePayError):
    """No ``Authorization`` header, not ``Bearer <token>``, or a token nobody issued."""

    type = "UNAUTHORIZED"
    status = 401


class Forbidden(FakePayError):
    """A control call whose ``Origin`` is another site: a web page the developer visits must not
    drive the fake server."""

    type = "FORBIDDEN"
    status = 403


class PaymentNotFound(FakePayError):
    """The store has no payment with this id."""

    type = "PAYMENT_NOT_FOUND"
    status = 404

    def __init__(self, payment_id: str) -> None:
        super().__init__(f"payment '{payment_id}' not found")


class RouteNotFound(FakePayError):
    """No route has this path."""

    type = "NOT_FOUND"
    status = 404

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"no route for {method} {path}")


class ItemNotFound(FakePayError):
    """The control API has no such item: a rule id, a shipped scenario's name."""

    type = "NOT_FOUND"
    status = 404


class MethodNotAllowed(FakePayError):
    """The path exists but not for this method; ``allowed`` goes into the ``Allow`` header."""

    type = "METHOD_NOT_ALLOWED"
    status = 405

    def __init__(self, method: str, path: str, allowed: Iterable[str]) -> None:
        self.allowed = tuple(allowed)
        super().__init__(f"method {method} is not allowed on {path}; allowed: {', '.join(self.allowed)}")


class AlreadyPaid(FakePayError):
    """An instant payment for an id that is already ``PAID`` or ``CANCELLED``."""

    type = "ALREADY_PAID"
    status = 409

    def __init__(self, payment_id: str, status: str) -> None:
        super().__init__(f"payment '{payment_id}' is already {status}")


class AlreadyCancelled(FakePayError):
    """A cancel of a payment that is already ``CANCELLED``."""

    type = "PAYMENT_ALREADY_CANCELLED"
    status = 409

    def __init__(self, payment_id: str) -> None:
        super().__init__(f"payment '{payment_id}' is already CANCELLED")


class PaymentNotPaid(FakePayError):
    """A cancel of a payment that never succeeded (``FAILED``)."""

    type = "PAYMENT_NOT_PAID"
    status = 409

    def __init__(self, payment_id: str) -> None:
        super().__init__(f"payment '{payment_id}' is FAILED, not PAID; there is nothing to cancel")


class PayloadTooLarge(FakePayError):
    """The body is over the 1 MiB limit."""

    type = "PAYLOAD_TOO_LARGE"
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than {limit} bytes")


class UnsupportedMediaType(FakePayError):
    """An instant payment sent without ``Content-Type: application/json``."""

    type = "UNSUPPORTED_MEDIA_TYPE"
    status = 415

    def __init__(self, content_type: str | None) -> None:
        got = repr(content_type[:64]) if content_type else "none"  # repr: no raw control characters
        super().__init__(f"Content-Type must be application/json, got {got}")


class PaymentFailed(FakePayError):
    """The simulated payment failure; the payment is stored ``FAILED``."""

    type = "PAYMENT_FAILED"

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


class InternalError(FakePayError):
    """A bug in fakepay: logged to stderr with its traceback, under the same ``where`` (the
    journal id of the request, or the control call) as the message says."""

    type = "INTERNAL_ERROR"
    status = 500

    def __init__(self, where: str) -> None:
        super().__init__(f"internal error in fakepay ({where}); its traceback is in the server's log")


class TooManySubscribers(FakePayError):
    """``GET /__fakepay/events`` while the most streams fakepay serves at once are open."""

    type = "TOO_MANY_SUBSCRIBERS"
    status = 503

    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} event streams are open already; close one (a dashboard tab, a curl) and try again")

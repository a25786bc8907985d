"""The HTTP face of fakepay on aiohttp: the public CEOS payment API, thin handlers over
``PaymentService``, and the one place where errors become JSON responses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import monotonic, perf_counter
from typing import Any, cast

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from .errors import (
    FakePayError,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    PaymentFailed,
    RouteNotFound,
    UnsupportedMediaType,
)
from .journal import BODY_LIMIT, JournalEntry
from .payments import Payment
from .rules import Outcome
from .service import PaymentService, Result
from .validation import parse_instant_request, show
from .wire import decode_path_value, dumps, encode_error, encode_payment, encode_receipt, loads

__all__ = [
    "ACTIVITY",
    "MAX_BODY",
    "ROUTES",
    "ConnectionActivity",
    "Route",
    "as_error",
    "create_app",
    "error_response",
    "json_response",
    "not_allowed",
    "not_found",
    "path_values",
    "raw_path",
    "read_body",
]

#: Bodies over this many bytes are answered 413.
MAX_BODY = 1024 * 1024
#: A body must arrive within this many seconds of its headers.
BODY_TIMEOUT = 10.0
_JSON = "application/json"
_log = logging.getLogger("fakepay")

Reply = tuple[web.Response, "Outcome | None"]
#: What failed, for the message of a simulated failure, by operation.
_WHAT = {
    "auth": "issuing the secret of '{}'",
    "instant": "payment '{}'",
    "cancel": "cancel of payment '{}'",
    "get": "lookup of payment '{}'",
}
Handle = Callable[[web.Request, JournalEntry], Awaitable[Reply]]


def json_response(body: bytes, status: int = 200) -> web.Response:
    """A response with an encoded JSON body and ``Content-Type: application/json``."""
    return web.Response(body=body, status=status, content_type=_JSON)


def error_response(exception: Exception, where: str = "") -> web.Response:
    """The JSON error for any exception: the only place an error becomes a response. An
    unexpected exception is a bug in fakepay: logged with its traceback under ``where``."""
    error = as_error(exception)
    if error is None:
        _log.error("bug in fakepay (%s)", where, exc_info=exception)
        error = InternalError(where)
    response = json_response(encode_error(error), error.status)
    if isinstance(error, MethodNotAllowed):
        response.headers[hdrs.ALLOW] = ",".join(error.allowed)
    return response


def as_error(exception: Exception) -> FakePayError | None:
    """The fakepay error for an exception: itself, or what aiohttp raised about the request
    (413 while reading a body, a body that could not be read); None for a bug in fakepay."""
    if isinstance(exception, FakePayError):
        return exception
    if isinstance(exception, web.HTTPRequestEntityTooLarge):
        return PayloadTooLarge(MAX_BODY)
    if isinstance(exception, web.HTTPException):
        error = FakePayError(exception.reason)
        error.status = exception.status
        return error
    if isinstance(exception, (web.RequestPayloadError, HttpProcessingError)):
        return InvalidRequest(f"request body could not be read: {' '.join(str(exception).split())}")
    return None


def _is_json(content_type: str | None) -> bool:
    if content_type == _JSON:
        return True
    return content_type is not None and content_type.partition(";")[0].strip().lower() == _JSON


def raw_path(request: web.Request) -> str:
    """The request target's path as sent (still percent-encoded), also for an absolute-form
    target (``http://host/payments/1``)."""
    target = request.raw_path
    if not target.startswith("/"):
        rest = target.partition("://")[2]
        target = "/" + rest.partition("/")[2] if rest else target
    return target.partition("?")[0]


async def read_body(request: web.Request) -> bytes:
    """The request body, at most ``MAX_BODY`` bytes, as sent: a compressed body (any
    ``Content-Encoding`` but ``identity``) is ``InvalidRequest``, as a Spring Boot server sees it."""
    encoding = request.headers.get(hdrs.CONTENT_ENCODING)
    if encoding is not None and encoding.strip().lower() not in ("", "identity"):
        raise InvalidRequest(f"request bodies must not be compressed; got Content-Encoding {show(encoding)}")
    try:
        if request.content.is_eof():  # the whole body came with the headers, as it mostly does
            body = await request.read()
        else:
            body = await asyncio.wait_for(request.read(), BODY_TIMEOUT)
    except asyncio.TimeoutError:
        request.protocol.close()  # answer, then close: the rest of the body cannot be trusted
        raise InvalidRequest(f"the request body was not complete after {BODY_TIMEOUT:g} s "
                             "(a client that stopped sending, or a malformed chunk)") from None
    except ConnectionError:
        raise InvalidRequest("the client closed the connection before its body was complete") from None
    if len(body) > MAX_BODY:
        raise PayloadTooLarge(MAX_BODY)
    return body


class ConnectionActivity:
    """When each connection last finished a request (None while one is being answered), for
    ``Server`` to close connections that hold a socket without sending a request."""

    def __init__(self) -> None:
        self.last: dict[object, float | None] = {}

    def started(self, request: web.BaseRequest) -> None:
        self.last[request.protocol] = None

    def finished(self, request: web.BaseRequest) -> None:
        self.last[request.protocol] = monotonic()

    def close_idle(self, connections: list[web.RequestHandler], timeout: float) -> None:
        """Close the connections idle (or still sending headers) for over ``timeout`` seconds since
        they were first seen or last answered."""
        now = monotonic()
        last, self.last = self.last, {}
        for connection in connections:
            since = last.get(connection, now)
            if since is not None and now - since > timeout:
                connection.force_close()
            else:
                self.last[connection] = since


ACTIVITY = web.AppKey("activity", ConnectionActivity)


@dataclass(frozen=True)
class Route:
    """A public endpoint: its method, its path template (the one source of its path value's
    position) and the operation it carries out."""

    method: str
    template: str
    operation: str

    def value(self, path: str) -> str:
        """The decoded path value of ``path`` (raw, as sent), which the router matched to this route."""
        return path_values(self.template, path)[0]


def path_values(template: str, path: str) -> list[str]:
    """The decoded values of ``path`` (raw, as sent) where ``template`` has ``{placeholders}``:
    the template, not an offset, says where each stands."""
    parts = template.split("/")
    segments = path.split("/")
    if len(segments) != len(parts):
        raise InvalidRequest(f"path {show(path)} does not have the form {template}")
    return [decode_path_value(segment) for part, segment in zip(parts, segments, strict=True) if part.startswith("{")]


#: The public API, lookups first (the router tries routes in order).
ROUTES = (
    Route(hdrs.METH_GET, "/payments/{paymentId}", "get"),
    Route(hdrs.METH_POST, "/payments/{paymentId}/instant", "instant"),
    Route(hdrs.METH_POST, "/payments/{paymentId}/cancel", "cancel"),
    Route(hdrs.METH_GET, "/auth/{githubId}", "auth"),
)


class PublicApi:
    """The four endpoints of the CEOS payment server, each journaled, with faults applied."""

    def __init__(self, service: PaymentService, activity: ConnectionActivity) -> None:
        self._service = service
        self._activity = activity

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the endpoints, a JSON 405 for each known path, and a JSON 404 for the rest."""
        handles: dict[str, Handle] = {"get": self._get, "instant": self._instant, "cancel": self._cancel, "auth": self._auth}
        for route in ROUTES:
            allowed = (hdrs.METH_GET, hdrs.METH_HEAD) if route.method == hdrs.METH_GET else (route.method,)
            endpoint = self._endpoint(route.operation, handles[route.operation], route)
            for each in allowed:
                router.add_route(each, route.template, endpoint)
            router.add_route(hdrs.METH_ANY, route.template, self._endpoint(route.operation, not_allowed(allowed)))
        router.add_route(hdrs.METH_ANY, "/{path:.*}", self._endpoint(None, not_found))

    def _endpoint(self, operation: str | None, handle: Handle, route: Route | None = None) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """``handle`` journaled and with faults applied; with ``route``, given its path value."""
        service = self._service
        activity = self._activity

        async def endpoint(request: web.Request) -> web.StreamResponse:
            activity.started(request)
            try:
                return await answer(request)
            finally:
                activity.finished(request)

        async def answer(request: web.Request) -> web.StreamResponse:
            started = perf_counter()
            entry = service.journal.new_entry(request.method, raw_path(request), operation)
            fault = None
            try:
                latency = service.latency()
                if latency:
                    await asyncio.sleep(latency)
                if route is not None:
                    entry.value = route.value(entry.path)
                response, fault = await handle(request, entry)
            except Exception as exception:  # every error, a bug included, is answered as JSON
                response = error_response(exception, f"request {entry.id}")
                entry.outcome = "rejected" if as_error(exception) is not None else "error"
            closes = fault is not None and fault.kind in ("timeout", "reset", "lost_response")
            if not closes:
                entry.status = response.status
                entry.response = bytes(cast(bytes, response.body)[:BODY_LIMIT])
            entry.duration_ms = (perf_counter() - started) * 1000
            service.journal.record(entry)
            if fault is None or fault.kind == "status":
                return response
            if fault.kind == "delay":
                await asyncio.sleep(fault.delay_ms / 1000)
                return response
            if fault.kind == "timeout":
                await asyncio.sleep(fault.timeout_s)
            if request.transport is not None:
                request.transport.abort()
            return response

        return endpoint

    def _finish(self, entry: JournalEntry, result: Result, ok: Callable[[Any], web.Response]) -> Reply:
        """The response for ``result``: ``ok(value)``, the simulated failure, or a rule's answer."""
        entry.outcome = result.outcome
        entry.rule = result.rule
        fault = result.fault
        if result.failed:
            what = _WHAT[entry.operation].format(entry.value)  # type: ignore[index]
            status = self._service.config.failure.status
            failure = PaymentFailed(f"{what} failed: the payment system declined it (simulated failure)", status)
            return error_response(failure), fault
        if fault is not None and fault.kind == "status":
            return json_response(dumps(fault.body), fault.status), fault
        if result.value is None:
            return json_response(b"{}"), fault
        return ok(result.value), fault

    async def _auth(self, request: web.Request, entry: JournalEntry) -> Reply:
        result = self._service.issue_secret(entry.value)  # type: ignore[arg-type]
        return self._finish(entry, result, _secret_response)

    def _owner(self, request: web.Request, entry: JournalEntry) -> str:
        """The owner of the secret (checked after the path value, as the real server does),
        noted in the journal entry."""
        authorization = entry.authorization = request.headers.get(hdrs.AUTHORIZATION)
        owner = entry.owner = self._service.auth.owner(authorization)
        return owner

    async def _instant(self, request: web.Request, entry: JournalEntry) -> Reply:
        owner = self._owner(request, entry)
        content_type = request.headers.get(hdrs.CONTENT_TYPE)
        if not _is_json(content_type):
            raise UnsupportedMediaType(content_type)
        body = await read_body(request)
        entry.body = body[:BODY_LIMIT]
        payment_request, warnings = parse_instant_request(loads(body))
        if warnings:
            entry.warnings = warnings
        result = self._service.pay(owner, entry.value, payment_request)  # type: ignore[arg-type]
        return self._finish(entry, result, _receipt_response)

    async def _cancel(self, request: web.Request, entry: JournalEntry) -> Reply:
        owner = self._owner(request, entry)
        if request.body_exists:  # cancel takes no body: what it was sent is only journaled
            with contextlib.suppress(FakePayError, web.HTTPRequestEntityTooLarge):
                entry.body = (await read_body(request))[:BODY_LIMIT]
        result = self._service.cancel(owner, entry.value)  # type: ignore[arg-type]
        return self._finish(entry, result, _payment_response)

    async def _get(self, request: web.Request, entry: JournalEntry) -> Reply:
        result = self._service.get(self._owner(request, entry), entry.value)  # type: ignore[arg-type]
        return self._finish(entry, result, _payment_response)


def _secret_response(secret: str) -> web.Response:
    return web.Response(text=secret, content_type="text/plain", charset="utf-8")


def _receipt_response(payment: Payment) -> web.Response:
    return web.Response(body=encode_receipt(payment), content_type=_JSON)


def _payment_response(payment: Payment) -> web.Response:
    return web.Response(body=encode_payment(payment), content_type=_JSON)


def not_allowed(allowed: tuple[str, ...]) -> Callable[..., Awaitable[Any]]:
    """A handler (public or control) that answers 405 with ``allowed`` in the ``Allow`` header."""

    async def handle(request: web.Request, *_: object) -> Any:
        raise MethodNotAllowed(request.method, raw_path(request), allowed)

    return handle


async def not_found(request: web.Request, *_: object) -> Any:
    """A handler (public or control) that answers the JSON 404 of an unknown route."""
    raise RouteNotFound(request.method, raw_path(request))


def create_app(
    service: PaymentService | None = None,
    *,
    control: bool = True,
    control_token: str | None = None,
) -> web.Application:
    """A fakepay application: the public API, and the control API under ``/__fakepay``
    (only ``health`` with ``control=False``; every call but ``health`` needs ``control_token``
    when one is given)."""
    from .control import add_control_routes

    service = service or PaymentService()
    app = web.Application(client_max_size=MAX_BODY + 1)  # read_body refuses MAX_BODY + 1 itself
    activity = app[ACTIVITY] = ConnectionActivity()
    add_control_routes(app.router, service, activity, enabled=control, token=control_token)
    PublicApi(service, activity).add_routes(app.router)
    return app

"""The HTTP face of fakepay on aiohttp: the public CEOS payment API, thin handlers over
``PaymentService``, and the one place where errors become JSON responses."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from time import perf_counter, time
from typing import Any

from aiohttp import hdrs, web

from .errors import (
    FakePayError,
    MethodNotAllowed,
    PayloadTooLarge,
    PaymentFailed,
    RouteNotFound,
    UnsupportedMediaType,
)
from .journal import JournalEntry
from .payments import Payment
from .rules import Outcome
from .service import PaymentService, Result
from .validation import parse_instant_request
from .wire import decode_path_value, dumps, encode_error, encode_payment, encode_receipt, loads

__all__ = ["MAX_BODY", "SERVICE", "as_error", "create_app", "error_response", "json_response", "not_allowed", "not_found"]

SERVICE = web.AppKey("service", PaymentService)
#: Bodies over this many bytes are answered 413.
MAX_BODY = 1024 * 1024
#: The journal keeps at most this much of a request body, so that its memory stays small.
JOURNAL_BODY_LIMIT = 64 * 1024
_JSON = "application/json"

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


def error_response(exception: Exception) -> web.Response:
    """The JSON error of SPEC 1.2 for any exception: the only place an error becomes a response."""
    error = as_error(exception)
    response = json_response(encode_error(error), error.status)
    if isinstance(error, MethodNotAllowed):
        response.headers[hdrs.ALLOW] = ",".join(error.allowed)
    return response


def as_error(exception: Exception) -> FakePayError:
    """The fakepay error for an exception: itself, aiohttp's 413 while reading a body, or (for
    anything unexpected, a fakepay bug) a JSON 500 rather than aiohttp's text page."""
    if isinstance(exception, FakePayError):
        return exception
    if isinstance(exception, web.HTTPRequestEntityTooLarge):
        return PayloadTooLarge(MAX_BODY)
    if isinstance(exception, web.HTTPException):
        error = FakePayError(exception.reason)
        error.status = exception.status
        return error
    return FakePayError(f"internal error in fakepay: {type(exception).__name__}: {exception}")


def _is_json(content_type: str | None) -> bool:
    if content_type == _JSON:
        return True
    return content_type is not None and content_type.partition(";")[0].strip().lower() == _JSON


def _path(request: web.Request) -> str:
    return request.raw_path.partition("?")[0]


class PublicApi:
    """The four endpoints of the CEOS payment server, each journaled, with faults applied."""

    def __init__(self, service: PaymentService) -> None:
        self._service = service

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the endpoints, a JSON 405 for each known path, and a JSON 404 for the rest."""
        for method, path, operation, handle in (  # lookups first: the router tries them in order
            (hdrs.METH_GET, "/payments/{paymentId}", "get", self._get),
            (hdrs.METH_POST, "/payments/{paymentId}/instant", "instant", self._instant),
            (hdrs.METH_POST, "/payments/{paymentId}/cancel", "cancel", self._cancel),
            (hdrs.METH_GET, "/auth/{githubId}", "auth", self._auth),
        ):
            allowed = (hdrs.METH_GET, hdrs.METH_HEAD) if method == hdrs.METH_GET else (method,)
            endpoint = self._endpoint(operation, handle)
            for each in allowed:
                router.add_route(each, path, endpoint)
            router.add_route(hdrs.METH_ANY, path, self._endpoint(operation, not_allowed(allowed)))
        router.add_route(hdrs.METH_ANY, "/{path:.*}", self._endpoint(None, not_found))

    def _endpoint(self, operation: str | None, handle: Handle) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        service = self._service

        async def endpoint(request: web.Request) -> web.StreamResponse:
            started = perf_counter()
            entry = JournalEntry(time(), request.method, _path(request), operation)
            fault = None
            try:
                latency = service.latency()
                if latency:
                    await asyncio.sleep(latency)
                response, fault = await handle(request, entry)
            except Exception as exception:  # every error, a bug included, is answered as JSON
                response = error_response(exception)
                entry.outcome = "rejected" if isinstance(exception, (FakePayError, web.HTTPException)) else "error"
            closes = fault is not None and fault.kind in ("timeout", "reset", "lost_response")
            if not closes:
                entry.status = response.status
                entry.response = response.body  # type: ignore[assignment]
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
        github_id = entry.value = decode_path_value(entry.path[6:])
        result = self._service.issue_secret(github_id)
        return self._finish(entry, result, _secret_response)

    def _identify(self, request: web.Request, entry: JournalEntry, raw_payment_id: str) -> tuple[str, str]:
        """The decoded paymentId, then the owner of the secret (in the order of SPEC 1.2's checks),
        both noted in the journal entry."""
        payment_id = entry.value = decode_path_value(raw_payment_id)
        authorization = entry.authorization = request.headers.get(hdrs.AUTHORIZATION)
        owner = entry.owner = self._service.auth.owner(authorization)
        return payment_id, owner

    async def _instant(self, request: web.Request, entry: JournalEntry) -> Reply:
        payment_id, owner = self._identify(request, entry, entry.path[10:-8])
        content_type = request.headers.get(hdrs.CONTENT_TYPE)
        if not _is_json(content_type):
            raise UnsupportedMediaType(content_type)
        body = await request.read()
        entry.body = body[:JOURNAL_BODY_LIMIT]
        payment_request, warnings = parse_instant_request(loads(body))
        if warnings:
            entry.warnings = warnings
        result = self._service.pay(owner, payment_id, payment_request)
        return self._finish(entry, result, _receipt_response)

    async def _cancel(self, request: web.Request, entry: JournalEntry) -> Reply:
        payment_id, owner = self._identify(request, entry, entry.path[10:-7])
        if request.body_exists:
            try:
                entry.body = (await request.read())[:JOURNAL_BODY_LIMIT]
            except web.HTTPRequestEntityTooLarge:
                pass
        result = self._service.cancel(owner, payment_id)
        return self._finish(entry, result, _payment_response)

    async def _get(self, request: web.Request, entry: JournalEntry) -> Reply:
        payment_id, owner = self._identify(request, entry, entry.path[10:])
        result = self._service.get(owner, payment_id)
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
        raise MethodNotAllowed(request.method, _path(request), allowed)

    return handle


async def not_found(request: web.Request, *_: object) -> Any:
    """A handler (public or control) that answers the JSON 404 of an unknown route."""
    raise RouteNotFound(request.method, _path(request))


def create_app(
    service: PaymentService | None = None,
    *,
    control: bool = True,
    control_token: str | None = None,
) -> web.Application:
    """A fakepay application: the public API, and the control API under ``/__fakepay``
    (only ``health`` with ``control=False``; every call but ``health`` and the dashboard's files
    needs ``control_token`` when one is given). Event streams end when the app shuts down."""
    from .control import add_control_routes

    service = service or PaymentService()
    app = web.Application(client_max_size=MAX_BODY + 1)
    app[SERVICE] = service
    add_control_routes(app.router, service, enabled=control, token=control_token)
    PublicApi(service).add_routes(app.router)

    async def end_event_streams(app: web.Application) -> None:
        service.events.close()

    app.on_shutdown.append(end_event_streams)
    return app

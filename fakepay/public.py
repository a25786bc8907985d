"""The public CEOS payment API: its four routes as data, and thin handlers over
``PaymentService``; each request is journaled and has its rule's fault applied."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, cast

from aiohttp import hdrs, web

from .errors import FakePayError, PaymentFailed, UnsupportedMediaType
from .journal import BODY_LIMIT, JournalEntry
from .payments import Payment
from .policy import Result
from .responses import (
    ConnectionActivity,
    as_error,
    error_response,
    is_json,
    json_response,
    not_allowed,
    not_found,
    path_values,
    raw_path,
    read_body,
)
from .rules import Kind, Outcome
from .service import PaymentService
from .validation import parse_instant_request
from .wire import decode_path_value, dumps, encode_payment, encode_receipt, loads

__all__ = ["ROUTES", "PublicApi", "Route"]

Reply = tuple[web.Response, "Outcome | None"]
#: A route's handler: the request, its journal entry (to note what it learns), its path value.
Handle = Callable[[web.Request, JournalEntry, str], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    """A public endpoint: its method, its path template (the one source of its path value's
    position) and the operation it carries out."""

    method: str
    template: str
    operation: str
    #: Where the path value stands, and how many segments a path has: from the template.
    _index: int = field(init=False, repr=False)
    _segments: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        parts = self.template.split("/")
        object.__setattr__(self, "_index", next(i for i, part in enumerate(parts) if part.startswith("{")))
        object.__setattr__(self, "_segments", len(parts))

    def value(self, path: str) -> str:
        """The decoded path value of ``path`` (raw, as sent), which the router matched to this route."""
        segments = path.split("/")
        if len(segments) != self._segments:
            return path_values(self.template, path)[0]  # raises, saying what form the path must have
        return decode_path_value(segments[self._index])


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
                started = perf_counter()
                entry = service.journal.new_entry(request.method, raw_path(request), operation)
                fault = None
                try:
                    latency = service.latency()
                    if latency:
                        await asyncio.sleep(latency)
                    value = ""
                    if route is not None:
                        value = entry.value = route.value(entry.path)
                    response, fault = await handle(request, entry, value)
                except Exception as exception:  # every error, a bug included, is answered as JSON
                    response = error_response(exception, f"request {entry.id}")
                    entry.outcome = "rejected" if as_error(exception) is not None else "error"
                closes = fault is not None and fault.kind.closes
                if not closes:
                    entry.status = response.status
                    entry.response = bytes(cast(bytes, response.body)[:BODY_LIMIT])
                entry.duration_ms = (perf_counter() - started) * 1000
                service.journal.record(entry)
                if fault is None or fault.kind is Kind.STATUS:
                    return response
                return await _apply(fault, request, response)
            finally:
                activity.finished(request)

        return endpoint

    def _finish(self, entry: JournalEntry, what: str, result: Result, ok: Callable[[Any], web.Response]) -> Reply:
        """The response for ``result``: ``ok(value)``, the simulated failure of ``what``, or a
        rule's answer."""
        entry.outcome = result.outcome
        entry.rule = result.rule
        fault = result.fault
        if result.failed:
            status = self._service.config.failure.status
            failure = PaymentFailed(f"{what} failed: the payment system declined it (simulated failure)", status)
            return error_response(failure), fault
        if fault is not None and fault.kind is Kind.STATUS:
            return json_response(dumps(fault.body), fault.status), fault
        if result.value is None:
            return json_response(b"{}"), fault
        return ok(result.value), fault

    async def _auth(self, request: web.Request, entry: JournalEntry, github_id: str) -> Reply:
        result = self._service.issue_secret(github_id)
        return self._finish(entry, f"issuing the secret of '{github_id}'", result, _secret_response)

    def _owner(self, request: web.Request, entry: JournalEntry) -> str:
        """The owner of the secret (checked after the path value, as the real server does),
        noted in the journal entry."""
        authorization = entry.authorization = request.headers.get(hdrs.AUTHORIZATION)
        owner = entry.owner = self._service.auth.owner(authorization)
        return owner

    async def _instant(self, request: web.Request, entry: JournalEntry, payment_id: str) -> Reply:
        owner = self._owner(request, entry)
        content_type = request.headers.get(hdrs.CONTENT_TYPE)
        if not is_json(content_type):
            raise UnsupportedMediaType(content_type)
        body = await read_body(request)
        entry.body = body[:BODY_LIMIT]
        payment_request, warnings = parse_instant_request(loads(body))
        if warnings:
            entry.warnings = warnings
        result = self._service.pay(owner, payment_id, payment_request)
        return self._finish(entry, f"payment '{payment_id}'", result, _receipt_response)

    async def _cancel(self, request: web.Request, entry: JournalEntry, payment_id: str) -> Reply:
        owner = self._owner(request, entry)
        if request.body_exists:  # cancel takes no body: what it was sent is only journaled
            with contextlib.suppress(FakePayError, web.HTTPRequestEntityTooLarge):
                entry.body = (await read_body(request))[:BODY_LIMIT]
        result = self._service.cancel(owner, payment_id)
        return self._finish(entry, f"cancel of payment '{payment_id}'", result, _payment_response)

    async def _get(self, request: web.Request, entry: JournalEntry, payment_id: str) -> Reply:
        result = self._service.get(self._owner(request, entry), payment_id)
        return self._finish(entry, f"lookup of payment '{payment_id}'", result, _payment_response)


async def _apply(fault: Outcome, request: web.Request, response: web.Response) -> web.Response:
    """Answer ``response`` as ``fault`` says: after a delay, or never (the connection closed, at
    once or after a timeout)."""
    if fault.kind is Kind.DELAY:
        await asyncio.sleep(fault.delay_ms / 1000)
        return response
    if fault.kind is Kind.TIMEOUT:
        await asyncio.sleep(fault.timeout_s)
    if request.transport is not None:
        request.transport.abort()
    return response


def _secret_response(secret: str) -> web.Response:
    return web.Response(text=secret, content_type="text/plain", charset="utf-8")


def _receipt_response(payment: Payment) -> web.Response:
    return json_response(encode_receipt(payment))


def _payment_response(payment: Payment) -> web.Response:
    return json_response(encode_payment(payment))

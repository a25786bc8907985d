"""The public CEOS payment API over HTTP: its four routes as data, and one coroutine that reads
a request into a ``Call``, has the core decide it, answers, journals the exchange and applies
the decision's fault."""

from __future__ import annotations

import asyncio
import contextlib
from time import perf_counter, time
from typing import cast

from aiohttp import hdrs, web

from .calls import Call, Decision
from .errors import FakePayError, RouteNotFound, UnsupportedMediaType
from .journal import BODY_LIMIT
from .responses import (
    ClientLeft,
    ConnectionActivity,
    as_error,
    closing_if_body_awaited,
    error_response,
    is_json,
    json_response,
    read_body,
    refusal,
)
from .routing import Route, Router
from .rules import Kind, Operation, Outcome
from .service import PaymentService
from .validation import parse_instant_request
from .wire import decode_path_value, loads

__all__ = ["ROUTES", "PublicApi"]

#: The public API: each route carries out one operation.
ROUTES = (
    Route("/payments/{paymentId}", {hdrs.METH_GET: Operation.GET}),
    Route("/payments/{paymentId}/instant", {hdrs.METH_POST: Operation.INSTANT}),
    Route("/payments/{paymentId}/cancel", {hdrs.METH_POST: Operation.CANCEL}),
    Route("/auth/{githubId}", {hdrs.METH_GET: Operation.AUTH}),
)
_ROUTER = Router(ROUTES)
_OPERATIONS = {route.template: route.methods[route.allowed[0]] for route in ROUTES}


class PublicApi:
    """The four endpoints of the CEOS payment server, each journaled, with faults applied."""

    def __init__(self, service: PaymentService, activity: ConnectionActivity) -> None:
        self._service = service
        self._activity = activity

    async def handle(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        """Answer a request (``path`` raw, as sent): read it into a ``Call`` (404, 405, 400, 401,
        415 and 413 on the way), have the core decide it, journal the exchange, apply the fault."""
        service = self._service
        self._activity.started(request)
        try:
            arrived, started, number = time(), perf_counter(), service.journal.take_id()
            call: Call | None = None
            decision: Decision | None = None
            answered = True
            try:
                latency = service.latency()
                if latency:
                    await asyncio.sleep(latency)
                found = _ROUTER.find(path)
                if found is None:
                    raise RouteNotFound(request.method, path)
                route, (value,) = found
                operation = route.methods.get(request.method)
                if operation is None:
                    call = Call(_OPERATIONS[route.template])  # journaled as the operation of its path
                    raise route.not_allowed(request.method, path)
                call = Call(operation)
                call.path_value = decode_path_value(value)
                if operation is not Operation.AUTH:
                    call.authorization = request.headers.get(hdrs.AUTHORIZATION)
                    service.identify(call)  # after the path value, as the real server checks them
                    if operation.changes:
                        await _read(request, call)
                if request.transport is None:  # the client gave up meanwhile (held by latency, say)
                    raise ClientLeft
                decision = service.decide(call)
                response = _answer(decision)
                outcome, rule, answered = decision.outcome, decision.rule, not decision.closes
            except ClientLeft:
                response, outcome, rule, answered = self._activity.left(f"request {number}"), "client_left", None, False
            except Exception as exception:  # every error, a bug included, is answered as JSON
                response = refusal(request, exception, f"request {number}")
                outcome, rule = ("rejected" if as_error(exception) is not None else "error"), None
            service.journal.record(
                number, arrived, request.method, path, call,
                response.status if answered else None, cast(bytes, response.body)[:BODY_LIMIT] if answered else None,
                outcome, rule, (perf_counter() - started) * 1000,
            )
            if decision is None or decision.answered:
                return closing_if_body_awaited(request, response)
            assert decision.fault is not None
            return await _apply(decision.fault, request, response)
        finally:
            self._activity.finished(request)


async def _read(request: web.BaseRequest, call: Call) -> None:
    """The body of an instant payment, parsed into the call; a cancel's body (it takes none) is
    only journaled."""
    if call.operation is Operation.INSTANT:
        content_type = request.headers.get(hdrs.CONTENT_TYPE)
        if not is_json(content_type):
            raise UnsupportedMediaType(content_type)
        body = await read_body(request)
        call.body = body[:BODY_LIMIT]
        call.payment, warnings = parse_instant_request(loads(body))
        if warnings:
            call.warnings = warnings
    elif request.body_exists:
        with contextlib.suppress(FakePayError):
            call.body = (await read_body(request))[:BODY_LIMIT]


def _answer(decision: Decision) -> web.Response:
    if decision.failure is not None:
        return error_response(decision.failure)
    if decision.text:
        return web.Response(body=decision.body, content_type="text/plain", charset="utf-8")
    return json_response(decision.body, decision.status)


async def _apply(fault: Outcome, request: web.BaseRequest, response: web.Response) -> web.Response:
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

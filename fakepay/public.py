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
    """The four endpoints of the CEOS payment server, each journaled, with faults applied.

    A request that outlives a reset of the state it was sent to (of everything, or of its owner,
    or a scenario loaded) while it waits (latency, its body) is answered ``503 STATE_RESET`` and
    kept out of the new state and journal; one held by latency or a fault is let go at once when
    its client leaves or its state is reset."""

    def __init__(self, service: PaymentService, activity: ConnectionActivity) -> None:
        self._service = service
        self._activity = activity
        #: The requests being held, each with the owner whose reset lets it go (None: any reset).
        self._held: dict[asyncio.Future[None], str | None] = {}
        service.reset_listeners.append(self._let_go)

    async def handle(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        """Answer a request (``path`` raw, as sent): read it into a ``Call`` (404, 405, 400, 401,
        415 and 413 on the way), have the core decide it, journal the exchange, apply the fault."""
        service = self._service
        self._activity.started(request)
        try:
            arrived, started, number = time(), perf_counter(), service.journal.take_id()
            epoch = service.epochs.current
            call: Call | None = None
            decision: Decision | None = None
            answered = True
            try:
                latency = service.latency()
                if latency:
                    await self._hold(request, latency)
                found = _ROUTER.find(path)
                if found is None:
                    raise RouteNotFound(request.method, path)
                route, (value,) = found
                operation = route.methods.get(request.method)
                if operation is None:
                    call = Call(_OPERATIONS[route.template])  # journaled as the operation of its path
                    raise route.not_allowed(request.method, path)
                call = Call(operation, epoch=epoch)
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
            owner = None if call is None else call.owner
            service.journal.record(
                number, arrived, request.method, path, call,
                response.status if answered else None, cast(bytes, response.body)[:BODY_LIMIT] if answered else None,
                outcome, rule, (perf_counter() - started) * 1000, kept=not service.epochs.outlived(epoch, owner),
            )
            if decision is None or decision.answered:
                return closing_if_body_awaited(request, response)
            fault = decision.fault
            assert fault is not None
            delayed = response if fault.kind is Kind.DELAY else None
            del call, decision, response  # a request held for minutes keeps nothing of its body
            return await self._apply(fault, request, owner, delayed)
        finally:
            self._activity.finished(request)

    async def _apply(self, fault: Outcome, request: web.BaseRequest, owner: str | None,
                     delayed: web.Response | None) -> web.StreamResponse:
        """Carry out ``fault``: send the ``delayed`` answer after its delay, or close the
        connection unanswered (at once, or after a timeout)."""
        if fault.kind is Kind.DELAY or fault.kind is Kind.TIMEOUT:
            await self._hold(request, fault.delay_ms / 1000 if fault.kind is Kind.DELAY else fault.timeout_s, owner)
        if delayed is not None:
            return delayed
        if request.transport is not None:
            request.transport.abort()
        return web.Response()

    async def _hold(self, request: web.BaseRequest, seconds: float, owner: str | None = None) -> None:
        """Wait ``seconds``, or less: until the client leaves, or the state the request was sent to
        is reset (everything, or ``owner``'s)."""
        released = asyncio.get_running_loop().create_future()
        self._held[released] = owner
        try:
            await asyncio.wait((released, self._activity.closed(request)), timeout=seconds,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            del self._held[released]

    def _let_go(self, owner: str | None) -> None:
        """Release the requests held for ``owner`` (all of them for None): its state was reset."""
        for released, held_for in self._held.items():
            if (owner is None or held_for == owner) and not released.done():
                released.set_result(None)


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


"""An API over HTTP: its dialect's routes as data, and one coroutine that reads a request into a
``Call``, has the instance decide it, answers with the dialect's encoding, journals the exchange
and applies the decision's fault. It knows no API by name."""

from __future__ import annotations

import asyncio
import contextlib
from time import perf_counter, time
from typing import Any

from aiohttp import hdrs, web

from ..core.calls import Answer, Call, Decision
from ..core.dialect import Operation
from ..core.errors import (
    FakePayError,
    InvalidRequest,
    PayloadTooLarge,
    RouteNotFound,
    StateReset,
    Unauthorized,
    UnsupportedMediaType,
)
from ..core.instance import Instance
from ..core.journal import BODY_LIMIT
from ..core.jsontext import dumps, loads
from ..core.rules import Kind, Outcome
from ..core.text import decode_path_value, show
from .answers import (
    JSON,
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

__all__ = ["PublicApi", "errors_of"]

#: The query parameter whose JSON is a GET's request (``Operation.query``).
_REQUEST_BODY = "requestBody"


def errors_of(operation: Operation) -> tuple[type[FakePayError], ...]:
    """Every error ``operation`` may answer with once routed: a bad path value (or body), missing
    credentials, a body's media type and size, a reset while it waits, and the API's own."""
    body: tuple[type[FakePayError], ...] = ()
    if operation.parse is not None and not operation.query:
        body = (UnsupportedMediaType, PayloadTooLarge) if operation.json_only else (PayloadTooLarge,)
    credentials = (Unauthorized,) if operation.authenticated else ()
    return (InvalidRequest, *credentials, *body, StateReset, *operation.errors)


class PublicApi:
    """The API of an instance's dialect, each request journaled, with faults applied.

    A request that outlives a reset of the state it was sent to (of everything, or of its owner,
    or a scenario loaded) while it waits (latency, its body) is answered ``503 STATE_RESET`` and
    kept out of the new state and journal; one held by latency or a fault is let go at once when
    its client leaves or its state is reset."""

    def __init__(self, instance: Instance, activity: ConnectionActivity, control_prefix: str = "") -> None:
        self._instance = instance
        self._activity = activity
        self.dialect = dialect = instance.dialect
        routes = [Route(template, {method: dialect.operations[name] for method, name in methods.items()})
                  for template, methods in dialect.served(control_prefix)]
        self._router = Router(routes)
        #: The operation a path is journaled under when its method is not allowed there.
        self._of_path = {route.template: route.methods[route.allowed[0]] for route in routes}
        #: The requests being held, each with the owner whose reset lets it go (None: any reset).
        self._held: dict[asyncio.Future[None], str | None] = {}
        instance.reset_listeners.append(self._let_go)

    async def handle(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        """Answer a request (``path`` raw, as sent): read it into a ``Call`` (404, 405, 400, 401,
        415 and 413 on the way), have the instance decide it, journal the exchange, apply the fault."""
        instance = self._instance
        self._activity.started(request)
        try:
            epoch = instance.epochs.current
            call = Call(instance.journal.take_id(), time(), perf_counter(), request.method, path)
            decision: Decision | None = None
            try:
                latency = instance.latency()
                if latency:
                    await self._hold(request, latency)
                operation = self._route(call)
                call.epoch = epoch
                if operation.authenticated:
                    call.authorization = request.headers.get(hdrs.AUTHORIZATION)
                    instance.identify(call)  # after the path value, as the real server checks them
                if operation.parse is not None or operation.changes:
                    await _read(request, call, operation)
                if request.transport is None:  # the client gave up meanwhile (held by latency, say)
                    raise ClientLeft
                decision = instance.decide(call)
                response, answer = _answer(instance, call, operation, decision)
            except ClientLeft:
                response, answer = self._activity.left(f"request {call.id}"), Answer(None, None, "client_left")
            except Exception as exception:  # every error, a bug included, is answered as JSON
                response = refusal(request, exception, f"request {call.id}")
                answer = Answer(response.status, response.body[:BODY_LIMIT] if isinstance(response.body, bytes) else None,
                                "rejected" if as_error(exception) is not None else "error")
            instance.journal.record(call, answer, kept=not instance.epochs.outlived(epoch, call.owner))
            if decision is None or decision.answered:
                return closing_if_body_awaited(request, response)
            fault, owner = decision.fault, call.owner
            assert fault is not None
            delayed = response if fault.kind is Kind.DELAY else None
            del call, decision, response  # a request held for minutes keeps nothing of its body
            return await self._apply(fault, request, owner, delayed)
        finally:
            self._activity.finished(request)

    def _route(self, call: Call) -> Operation:
        """The operation of the call's route and method, its path value decoded into the call
        (404 and 405, the latter journaled under the operation of its path)."""
        found = self._router.find(call.path)
        if found is None:
            raise RouteNotFound(call.method, call.path)
        route, values = found
        operation = route.methods.get(call.method)
        if operation is None:
            call.operation = self._of_path[route.template].name
            raise route.not_allowed(call.method, call.path)
        call.operation = operation.name
        if values:
            call.path_value = decode_path_value(values[0])
        return operation

    async def _apply(self, fault: Outcome, request: web.BaseRequest, owner: str | None,
                     delayed: web.StreamResponse | None) -> web.StreamResponse:
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


async def _read(request: web.BaseRequest, call: Call, operation: Operation) -> None:
    """The body of an operation that takes one (or its query), parsed into the call; one that
    takes none but changes something (a cancel) has its body, if any, only journaled."""
    if operation.query:
        assert operation.parse is not None
        call.request, warnings = operation.parse(_query_request(request, call))
        if warnings:
            call.warnings = list(warnings)
    elif operation.parse is not None:
        content_type = request.headers.get(hdrs.CONTENT_TYPE)
        if operation.json_only and not is_json(content_type):
            raise UnsupportedMediaType(content_type)
        body = await read_body(request)
        call.body = body[:BODY_LIMIT]
        call.request, warnings = operation.parse(loads(body))
        if warnings:
            call.warnings = list(warnings)
    elif request.body_exists:
        with contextlib.suppress(FakePayError):
            call.body = (await read_body(request))[:BODY_LIMIT]


def _query_request(request: web.BaseRequest, call: Call) -> Any:
    """The request a query carries: the JSON of its ``requestBody`` parameter (journaled as the
    body), and each other parameter a text field of it."""
    query = request.query
    if len(query) != len(set(query)):
        twice = next(key for key in query if len(query.getall(key)) > 1)
        raise InvalidRequest(f"query parameter {show(twice)} is given more than once")
    fields = {key: value for key, value in query.items() if key != _REQUEST_BODY}
    given = query.get(_REQUEST_BODY)
    if given is None:
        return fields
    call.body = given.encode()[:BODY_LIMIT]
    value = loads(given.encode())
    return {**value, **fields} if type(value) is dict and fields else value


def _answer(instance: Instance, call: Call, operation: Operation, decision: Decision) -> tuple[web.Response, Answer]:
    """The response to a decided call (a rule's status, or the dialect's encoding; none is sent
    when the connection is closed), and the answer the journal keeps."""
    fault = decision.fault
    if fault is not None and fault.kind is Kind.STATUS and not decision.failed:
        response = json_response(dumps(fault.body), fault.status)
    elif decision.closes:
        return web.Response(), Answer(None, None, decision.outcome, decision.rule)
    else:
        try:
            reply = operation.encode(instance.state, call, decision)
        except FakePayError as error:  # the API's error for a simulated failure
            response = error_response(error)
        else:
            response = (json_response(reply.body, reply.status) if reply.content_type == JSON else
                        web.Response(body=reply.body, status=reply.status, headers={hdrs.CONTENT_TYPE: reply.content_type}))
    body = response.body
    assert isinstance(body, bytes)
    return response, Answer(response.status, body[:BODY_LIMIT], decision.outcome, decision.rule)

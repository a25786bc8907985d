"""The control API under ``/__fakepay`` (docs/control-api.md): its own route table over the same
``Instance``, for tests to reset, seed, configure, inspect and move the clock; its event
stream; and the dashboard page that uses both."""

from __future__ import annotations

import asyncio
import functools
import gc
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from typing import Any, NamedTuple, TypeVar
from urllib.parse import unquote

from aiohttp import hdrs, web

from ..core.config import Scenario
from ..core.dialect import Dialect
from ..core.document import Document, Reader
from ..core.errors import (
    FakePayError,
    Forbidden,
    InvalidRequest,
    ItemNotFound,
    PaymentNotFound,
    RouteNotFound,
    SandboxNotFound,
    TooManyRules,
    TooManySandboxes,
    TooManySubscribers,
    Unauthorized,
)
from ..core.fields import Integer, LocalDateTime, Number
from ..core.globs import MAX_GLOB
from ..core.instance import Instance
from ..core.jsontext import dumps, loads_strict
from ..core.rules import WEBHOOK
from ..core.sandboxes import Sandbox, Sandboxes
from ..core.text import decode_path_value, show, suggestion
from ..http.answers import ClientLeft, ConnectionActivity, closing_if_body_awaited, json_response, read_body, refusal
from ..http.hosts import CONTROL_TOKEN_RULE, AllowedHosts, host_name, valid_control_token
from ..http.pipeline import PublicApi
from ..http.routing import Route, Router
from ..scenario import (
    load_scenario,
    parse_payments,
    parse_rule,
    parse_scenario,
    parse_scenario_bytes,
    patched,
    scenario_data,
    shipped_scenarios,
)
from ..scenario.envelope import MAX_SEED
from .stream import EventStream
from .views import StateSnapshot, api_data, clock_data, config_data, encode_entry, sandbox_data, sandboxes_data

__all__ = ["PAGES", "PREFIX", "ROUTES", "RULE_ID", "ControlApi", "ControlCalls", "ControlRoute"]

#: Where the control API is served.
PREFIX = "/__fakepay"
#: A control handler: the request and the route's decoded path values.
Handler = Callable[..., Awaitable[web.StreamResponse]]
_FILTERS = {"method": "method", "path": "path", "owner": "owner", "paymentId": "path_value", "operation": "operation"}
_MAX_ADVANCE_MS = 100 * 365 * 24 * 3600 * 1000
_ADVANCE = Number(-_MAX_ADVANCE_MS, _MAX_ADVANCE_MS)
_SEED = Integer(0, MAX_SEED)
_RATE = Number(0.0, 1.0)
_WHOLE_NUMBER = re.compile("[0-9]{1,9}")
#: Payments held up to which a state is answered in one piece (a few milliseconds' work).
_AT_ONCE = 500
#: A rule's id, as a path value.
RULE_ID = re.compile("[0-9]{1,18}")
#: Event streams open at once; more are refused (503), so that streams cannot crowd out the API.
MAX_SUBSCRIBERS = 100
#: Seconds between the comment lines that keep an idle event stream open through proxies.
KEEP_ALIVE_S = 15.0
#: Served to any host name: what a container's health check asks, on whatever name it uses.
_HEALTH = PREFIX + "/health"
#: The dashboard's files, by the path they are served at under ``/__fakepay``.
PAGES = {
    "/": ("index.html", "text/html"),
    "/dashboard.css": ("dashboard.css", "text/css"),
    "/dashboard.js": ("dashboard.js", "text/javascript"),
}
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


@functools.cache
def _page(name: str) -> bytes:
    """A file of the dashboard, read from the package once."""
    return (resources.files(__package__) / "dashboard" / name).read_bytes()


def _ok(data: Any) -> web.Response:
    return json_response(dumps(data))


async def _json_body(request: web.BaseRequest) -> Any:
    """A control call's JSON body: strict, no duplicate keys, nested at most ``MAX_DEPTH`` deep."""
    return loads_strict(await read_body(request))


def _whole_number(query: Mapping[str, str], name: str, minimum: int) -> int | None:
    """The query parameter ``name``, a whole number from ``minimum`` to 999999999 (None when it
    is not given), or ``InvalidRequest``."""
    value = query.get(name)
    if value is None:
        return None
    if not _WHOLE_NUMBER.fullmatch(value) or int(value) < minimum:
        raise InvalidRequest(f"{name} must be a whole number from {minimum} to 999999999, got {show(value)}")
    return int(value)


def _check_query(request: web.BaseRequest, known: tuple[str, ...]) -> None:
    """``InvalidRequest`` unless each query parameter is known and given once with a value."""
    unknown = [key for key in request.query if key not in known]
    if unknown:
        raise InvalidRequest(f"unknown query parameter {show(unknown[0])}; known: {', '.join(known) or 'none'}")
    for key, value in request.query.items():
        if not value:
            raise InvalidRequest(f"query parameter '{key}' needs a value")
        if len(request.query.getall(key)) > 1:
            raise InvalidRequest(f"query parameter '{key}' is given more than once")


class ControlRoute(NamedTuple):
    """A route of the control API: method, path under ``PREFIX``, the name of its ``ControlCalls``
    handler (whose docstring's first paragraph says what it does), the query parameters it takes
    (None: any, unchecked), and the errors it raises beyond a bad request."""

    method: str
    path: str
    handler: str
    query: tuple[str, ...] | None
    raises: tuple[type[FakePayError], ...]


#: The control API's routes.
ROUTES: list[ControlRoute] = []
_H = TypeVar("_H", bound=Handler)


def _route(method: str, path: str, query: tuple[str, ...] | None = (),
           raises: tuple[type[FakePayError], ...] = ()) -> Callable[[_H], _H]:
    """Make the decorated ``ControlCalls`` method the handler of ``method`` on ``PREFIX + path``,
    called once the query has only the ``query`` parameters, each once and with a value."""

    def register(handler: _H) -> _H:
        ROUTES.append(ControlRoute(method, path, handler.__name__, query, raises))
        return handler

    return register


class ControlCalls:
    """The handlers of ``/__fakepay`` over one instance: the server's own, or a sandbox's (whose
    calls are served under ``/__fakepay/sandboxes/{id}``); only the server's manage sandboxes."""

    def __init__(self, service: Instance, activity: ConnectionActivity, token_required: bool = False,
                 sandboxes: Sandboxes | None = None) -> None:
        self._service = service
        self._sandboxes = sandboxes
        self._activity = activity
        self.stream = EventStream(service)
        self._token_required = token_required
        #: Scenarios sent are read one at a time: reading a large one takes a lot of memory for a while.
        self._reading = asyncio.Lock()

    @_route("GET", "/health", query=None)
    async def health(self, request: web.BaseRequest) -> web.Response:
        """Readiness."""
        return _ok({"status": "ok"})

    @_route("GET", "/api")
    async def describe_api(self, request: web.BaseRequest) -> web.Response:
        """The API in force: its operations and their routes, the conditions its rules may set, a
        payment's statuses and the fields a row of payments shows."""
        return _ok(api_data(self._service.dialect, PREFIX))

    @_route("GET", "/state", query=("owner", "limit", "offset"))
    async def state(self, request: web.BaseRequest) -> web.StreamResponse:
        """Config in force, rules, stores and payments (limit and offset page the payments; stores
        count them all).

        A large state is written a piece at a time, other requests answered between two, so that
        it never holds the server up."""
        query = request.query
        snapshot = StateSnapshot(self._service, query.get("owner"), offset=_whole_number(query, "offset", 0) or 0,
                                 limit=_whole_number(query, "limit", 0),
                                 sandboxes=None if self._sandboxes is None else sandboxes_data(self._sandboxes))
        if snapshot.held <= _AT_ONCE:
            return _ok(snapshot.data())
        response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: "application/json"})
        if request.method == hdrs.METH_HEAD:
            return response
        try:
            await response.prepare(request)
            for piece in snapshot.pieces():
                if piece:
                    await response.write(piece)
                await asyncio.sleep(0)  # the requests that came meanwhile are answered
            await response.write_eof()
        except ConnectionError:  # the client left
            pass
        return response

    @_route("POST", "/reset", query=("owner",))
    async def reset(self, request: web.BaseRequest) -> web.Response:
        """Back to the scenario's start (or one owner's)."""
        owner = request.query.get("owner")
        self._service.reset(owner)
        return _ok({"reset": "owner" if owner else "all", "owner": owner})

    @_route("GET", "/scenario")
    async def get_scenario(self, request: web.BaseRequest) -> web.Response:
        """The loaded scenario."""
        return _ok({**scenario_data(self._service.scenario), "seed": self._service.start_seed})

    @_route("PUT", "/scenario")
    async def put_scenario(self, request: web.BaseRequest) -> web.Response:
        """Load a scenario (YAML or JSON)."""
        body = await read_body(request)

        def parse() -> Scenario:
            if request.content_type == "application/json":
                return parse_scenario(loads_strict(body))
            return parse_scenario_bytes(body, "<request>")

        # A large scenario takes seconds and about 170 MiB to read: in a thread, so that other
        # requests are answered, and one at a time, so that the memory it takes is taken once.
        async with self._reading:
            try:
                scenario = await asyncio.to_thread(parse)
            finally:
                gc.collect()  # what reading took is given back now, not at some later collection
        return self._load(scenario)

    def _load(self, scenario: Scenario) -> web.Response:
        self._service.load(scenario)
        return _ok({"scenario": scenario.name, "seed": self._service.policy.seed})

    @_route("GET", "/scenarios")
    async def scenarios(self, request: web.BaseRequest) -> web.Response:
        """The names of the scenarios shipped with fakepay."""
        return _ok({"scenarios": shipped_scenarios()})

    @_route("POST", "/scenarios/{name}", raises=(ItemNotFound,))
    async def load_shipped(self, request: web.BaseRequest, name: str) -> web.Response:
        """Load a shipped scenario by name (only a name: never a path on the server)."""
        shipped = shipped_scenarios()
        if name not in shipped:
            raise ItemNotFound(f"no shipped scenario '{name}'; shipped: {', '.join(shipped)}{suggestion(name, shipped)}")
        return self._load(load_scenario(name))

    @_route("PATCH", "/config")
    async def patch_config(self, request: web.BaseRequest) -> web.Response:
        """Change part of the config until reset."""
        patch = await _json_body(request)
        if not isinstance(patch, dict):
            raise InvalidRequest("config patch must be a JSON object")
        service = self._service
        service.apply_config(patched(service.config, patch), set(patch))
        return _ok(config_data(service))

    @_route("POST", "/payments")
    async def add_payments(self, request: web.BaseRequest) -> web.Response:
        """Seed payments."""
        data = await _json_body(request)
        if isinstance(data, dict) and set(data) == {"payments"}:
            data = data["payments"]
        service = self._service
        stored = service.state.add_payments(parse_payments(data, service.dialect.name))
        return _ok({"payments": [service.dialect.payment_data(p) for p in stored]})

    @_route("GET", "/payments/{owner}/{paymentId}", raises=(PaymentNotFound,))
    async def get_payment(self, request: web.BaseRequest, owner: str, payment_id: str) -> web.Response:
        """One stored payment, with every field."""
        payment = self._service.state.payment(owner, payment_id)
        if payment is None:
            raise PaymentNotFound(payment_id)
        return _ok(self._service.dialect.payment_data(payment))

    @_route("GET", "/secrets/{githubId}")
    async def get_secret(self, request: web.BaseRequest, github_id: str) -> web.Response:
        """The API secret of a githubId, as the API issues it but not journaled."""
        return _ok({"githubId": github_id, "secret": self._service.state.secret(github_id)})

    @_route("GET", "/rules")
    async def get_rules(self, request: web.BaseRequest) -> web.Response:
        """The rules in force."""
        return _ok({"rules": self._service.policy.rules_data()})

    @_route("POST", "/rules", raises=(TooManyRules,))
    async def add_rule(self, request: web.BaseRequest) -> web.Response:
        """Add a rule."""
        active = self._service.policy.add_rule(parse_rule(await _json_body(request), self._service.dialect.name))
        return _ok(active.to_data())

    @_route("DELETE", "/rules")
    async def clear_rules(self, request: web.BaseRequest) -> web.Response:
        """Clear the rules."""
        self._service.policy.clear_rules()
        return _ok({"rules": []})

    @_route("DELETE", "/rules/{id}", raises=(ItemNotFound,))
    async def delete_rule(self, request: web.BaseRequest, rule_id: str) -> web.Response:
        """Delete one rule; answers the rules left."""
        if not RULE_ID.fullmatch(rule_id):
            raise InvalidRequest(f"a rule id is a whole number, got {show(rule_id)}")
        self._service.policy.delete_rule(int(rule_id))
        return _ok({"rules": self._service.policy.rules_data()})

    @_route("POST", "/clock")
    async def clock(self, request: web.BaseRequest) -> web.Response:
        """Freeze, advance or resume the clock."""
        data = await _json_body(request)
        reader = Reader(Document(data))
        body = reader.mapping(data, (), ("freeze", "advance_ms", "resume"))
        if not body and not reader.problems:
            reader.problem((), "give 'freeze', 'advance_ms' or 'resume'")
        freeze = "freeze" in body
        at = None
        if freeze and body["freeze"] is not True:
            at = LocalDateTime().take(reader, body["freeze"], ("freeze",))
        advance = None
        if "advance_ms" in body:
            advance = _ADVANCE.take(reader, body["advance_ms"], ("advance_ms",))
        if "resume" in body and body["resume"] is not True:
            reader.problem(("resume",), "must be true")
        reader.check("clock request")
        self._service.move_clock(resume=bool(body.get("resume")), freeze=freeze, at=at, advance_ms=advance)
        return _ok(clock_data(self._service))

    @_route("GET", "/requests", query=(*_FILTERS, "limit"))
    async def requests(self, request: web.BaseRequest) -> web.Response:
        """The request journal."""
        query = dict(request.query)
        limit = _whole_number(query, "limit", 1)
        if len(query.get("path", "")) > MAX_GLOB:
            raise InvalidRequest(f"path must be a pattern of at most {MAX_GLOB} characters")
        filters = {_FILTERS[key]: value for key, value in query.items() if key in _FILTERS}
        service = self._service
        of_payments = None
        if "path_value" in filters:  # a payment's id: the operations on a payment
            of_payments = [WEBHOOK, *(name for name, operation in service.dialect.operations.items()
                                      if operation.param == "paymentId")]
        entries = service.journal.entries(filters, limit, of_payments)
        return json_response(b'{"requests":[%s]}' % b",".join(encode_entry(service, entry) for entry in entries))

    @_route("DELETE", "/requests")
    async def clear_requests(self, request: web.BaseRequest) -> web.Response:
        """Clear the journal."""
        self._service.journal.clear()
        return _ok({"requests": []})

    @_route("GET", "/events", raises=(TooManySubscribers,))
    async def events(self, request: web.BaseRequest) -> web.StreamResponse:
        """Server-Sent Events: every journal entry and change of state as it happens.

        ``ready`` once subscribed, then every event as it happens, until the client leaves (its
        subscription ends at once) or the server stops."""
        response = web.StreamResponse(headers={
            hdrs.CONTENT_TYPE: "text/event-stream; charset=utf-8",
            hdrs.CACHE_CONTROL: "no-cache",
            "X-Accel-Buffering": "no",
        })
        if request.method == hdrs.METH_HEAD:
            return response
        events = self.stream
        if len(events.subscribers) >= MAX_SUBSCRIBERS:
            raise TooManySubscribers(MAX_SUBSCRIBERS)
        subscription = events.subscribe()
        self._activity.closed(request).add_done_callback(lambda _: subscription.close())
        try:
            await response.prepare(request)
            await response.write(b'data: {"type":"ready"}\n\n')
            while (batch := await subscription.get(KEEP_ALIVE_S)) is not None:
                await response.write(b"".join(batch) or b": keep-alive\n\n")
            await response.write_eof()
        except ConnectionError:  # the client left
            pass
        finally:
            events.unsubscribe(subscription)
        return response

    @_route("POST", "/sandboxes", raises=(ItemNotFound, TooManySandboxes))
    async def create_sandbox(self, request: web.BaseRequest) -> web.Response:
        """Make a sandbox: a whole fake of its own on this server, from the server's scenario or the
        one given (a shipped scenario's name, or a scenario), with a seed and a failure rate if given.

        Its control calls are served under ``/__fakepay/sandboxes/{id}``; a request of the API goes
        to it when its credentials were issued by it, or when it names it in ``Fakepay-Sandbox``."""
        sandboxes = self._own_sandboxes()
        body = await read_body(request)
        scenario = await asyncio.to_thread(_sandbox_scenario, loads_strict(body) if body.strip() else {}, self._service.scenario)
        sandbox = sandboxes.create(scenario)
        return _ok(sandbox_data(sandbox))

    @_route("GET", "/sandboxes")
    async def list_sandboxes(self, request: web.BaseRequest) -> web.Response:
        """The sandboxes live on this server, oldest first, with the limits they live by."""
        return _ok(sandboxes_data(self._own_sandboxes()))

    @_route("GET", "/sandboxes/{id}", raises=(SandboxNotFound,))
    async def get_sandbox(self, request: web.BaseRequest, sandbox_id: str) -> web.Response:
        """One live sandbox."""
        return _ok(sandbox_data(self._own_sandboxes().get(sandbox_id)))

    @_route("DELETE", "/sandboxes/{id}", raises=(SandboxNotFound,))
    async def delete_sandbox(self, request: web.BaseRequest, sandbox_id: str) -> web.Response:
        """Delete a sandbox: everything it held is gone, its requests held are let go, its
        secrets are refused from now on."""
        self._own_sandboxes().delete(sandbox_id)
        return _ok({"deleted": sandbox_id})

    def _own_sandboxes(self) -> Sandboxes:
        if self._sandboxes is None:  # a sandbox's calls: sandboxes are the server's
            raise RouteNotFound("a sandbox", "/sandboxes")
        return self._sandboxes

    def page(self, name: str, content_type: str) -> Handler:
        """A handler serving one of the dashboard's files, from the package."""

        async def serve(request: web.BaseRequest) -> web.Response:
            body = _page(name)
            if self._token_required and name == "index.html":  # the page asks for it at once
                body = body.replace(b"<body>", b'<body data-token="required">', 1)
            return web.Response(body=body, content_type=content_type, charset="utf-8", headers=_PAGE_HEADERS)

        return serve

    @_route("GET", "", query=None)
    async def to_page(self, request: web.BaseRequest) -> web.Response:
        """``/__fakepay`` as typed by hand: on to the dashboard."""
        return web.Response(status=301, headers={hdrs.LOCATION: PREFIX + "/"})

    @_route("GET", "/openapi.json", query=None)
    async def openapi(self, request: web.BaseRequest) -> web.Response:
        """This document."""
        from .openapi import openapi_document

        return _ok(openapi_document(self._service.dialect))


#: The routes only the server's own calls have (a sandbox holds no sandboxes).
_SERVERS = {PREFIX + "/sandboxes", PREFIX + "/sandboxes/{id}"}


def _in_sandbox(path: str) -> tuple[str | None, str]:
    """The sandbox a control path is under (raw, as sent), and the path of the call in it
    (``/__fakepay/sandboxes/{id}/reset`` → ``id``, ``/__fakepay/reset``; ``sandboxes``
    percent-encoded, as any literal may be); None and the path itself for a call of the server's own."""
    segments = path.split("/", 4)  # "", the control API's, "sandboxes", the id, the call's path
    if len(segments) < 5 or not segments[3]:
        return None, path
    literal = segments[2]
    if literal != "sandboxes" and unquote(literal) != "sandboxes":
        return None, path
    return segments[3], f"{PREFIX}/{segments[4]}"


def _sandbox_scenario(body: Any, server: Scenario) -> Scenario:
    """The scenario a sandbox starts from: the server's, or the one named or given, with the seed
    and failure rate given; ``ScenarioError`` listing every problem."""
    reader = Reader(Document(body))
    data = reader.mapping(body, (), ("scenario", "seed", "failure_rate"))
    seed = None if data.get("seed") is None else _SEED.take(reader, data["seed"], ("seed",))
    rate = None if data.get("failure_rate") is None else _RATE.take(reader, data["failure_rate"], ("failure_rate",))
    reader.check("sandbox")
    given = data.get("scenario")
    if isinstance(given, str):
        shipped = shipped_scenarios()
        if given not in shipped:
            raise ItemNotFound(f"no shipped scenario '{given}'; shipped: {', '.join(shipped)}{suggestion(given, shipped)}")
        scenario = load_scenario(given)
    else:
        scenario = server if given is None else parse_scenario(given)
    return scenario.overridden(seed=seed, failure_rate=rate)


class ControlApi:
    """The control API: its route table, and the checks every call passes first."""

    def __init__(self, service: Instance, activity: ConnectionActivity, *, enabled: bool = True,
                 token: str | None = None, allowed_hosts: AllowedHosts | None = None,
                 sandboxes: Sandboxes | None = None, api_of: Callable[[str | None], PublicApi] | None = None) -> None:
        self._activity = activity
        #: The API (of the server, None, or of a live sandbox) that answers the dialect's control routes.
        self._api_of = api_of
        self._allowed_hosts = allowed_hosts or AllowedHosts()
        if token and not valid_control_token(token):
            raise ValueError(f"a control token {CONTROL_TOKEN_RULE}")
        self._token = token.encode() if token else None
        self._sandboxes = sandboxes
        calls = self._calls = ControlCalls(service, activity, bool(token), sandboxes)
        #: The calls of each sandbox that has had one.
        self._sandbox_calls: dict[str, ControlCalls] = {}
        if sandboxes is not None:
            sandboxes.gone_listeners.append(self._forget)
        table: dict[str, dict[str, tuple[Handler | str, tuple[str, ...] | None]]] = {}
        for method, path, name, query, _ in ROUTES:
            if enabled or path == "/health":
                table.setdefault(path, {})[method] = name, query
        if enabled:
            table.update({path: {"GET": (calls.page(*page), None)} for path, page in PAGES.items()})
        self._router = Router(Route(PREFIX + path, methods) for path, methods in table.items())
        self._enabled = enabled
        #: Each dialect's own control routes (which its API answers), by the dialect's name.
        self._dialect_routers: dict[str, Router[str]] = {}
        #: Served without the token: the health check, and the dashboard (which asks for it itself).
        self._open = {PREFIX + path for path in ("/health", "", *PAGES)}

    async def handle(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        """Answer a control call (``path`` raw, as sent): the origin, host and token checks, the
        route's handler, every error as JSON, and the connection's activity noted."""
        self._activity.started(request)
        try:
            origin = request.headers.get(hdrs.ORIGIN)
            if origin is not None and origin != f"{request.scheme}://{request.host}":
                raise Forbidden(f"control calls from another origin ({show(origin)}) are refused")
            sandbox_id, inner = _in_sandbox(path)
            found = self._router.find(inner)
            template = found[0].template if found is not None else None
            if self._token is None and template != _HEALTH:  # a token is what a page lacks
                self._check_host(request)
            if template not in self._open or sandbox_id is not None:
                self._check_token(request)
            calls = self._calls if sandbox_id is None else self._calls_of(decode_path_value(sandbox_id))
            if found is None and self._api_of is not None and self._enabled:
                api = self._api_of(None if sandbox_id is None else decode_path_value(sandbox_id))
                if self._dialect_router(api.dialect).find(inner) is not None:
                    return await api.handle(request, inner)
            if found is None or (sandbox_id is not None and (template in self._open - {_HEALTH} or template in _SERVERS)):
                raise RouteNotFound(request.method, path)
            route, values = found
            handler, query = route.target(request.method, path)
            if query is not None:
                _check_query(request, query)
            if isinstance(handler, str):
                handler = getattr(calls, handler)
            return closing_if_body_awaited(request, await handler(request, *map(decode_path_value, values)))
        except ClientLeft:
            return self._activity.left(f"{request.method} {path}")
        except Exception as exception:  # every error, a bug included, is answered as JSON
            return refusal(request, exception, f"{request.method} {path}")
        finally:
            self._activity.finished(request)

    def _dialect_router(self, dialect: Dialect) -> Router[str]:
        router = self._dialect_routers.get(dialect.name)
        if router is None:
            router = self._dialect_routers[dialect.name] = Router(
                Route(PREFIX + path, methods) for path, methods in dialect.control_routes)
        return router

    def _calls_of(self, sandbox_id: str) -> ControlCalls:
        """The calls of the live sandbox ``sandbox_id``, or ``SandboxNotFound``."""
        if self._sandboxes is None:
            raise SandboxNotFound(show(sandbox_id))
        sandbox = self._sandboxes.get(sandbox_id)
        calls = self._sandbox_calls.get(sandbox.id)
        if calls is None:
            calls = self._sandbox_calls[sandbox.id] = ControlCalls(sandbox.instance, self._activity, self._token is not None)
        return calls

    def _forget(self, sandbox: Sandbox) -> None:
        """A sandbox is gone: its event streams end."""
        calls = self._sandbox_calls.pop(sandbox.id, None)
        if calls is not None:
            calls.stream.close()

    def close(self) -> None:
        """End the event streams (the server is stopping)."""
        for calls in (self._calls, *self._sandbox_calls.values()):
            calls.stream.close()

    def _check_host(self, request: web.BaseRequest) -> None:
        host = request.headers.get(hdrs.HOST)
        if not self._allowed_hosts.allows(host):
            raise Forbidden(
                f"control calls to the host {show(host_name(host or ''))} are refused, so that a web page on a "
                "name pointed at this machine cannot make them (DNS rebinding): use the address fakepay serves, "
                "localhost, or a name allowed with --allow-host (FAKEPAY_ALLOW_HOST)"
            )

    def _check_token(self, request: web.BaseRequest) -> None:
        if self._token is not None:
            # Compared as the bytes sent: aiohttp decodes header bytes that are not UTF-8 as surrogates.
            given = request.headers.get(hdrs.AUTHORIZATION, "").encode("utf-8", "surrogateescape")
            scheme, _, token = given.strip().partition(b" ")  # the scheme in any case (RFC 7235)
            if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), self._token):
                raise Unauthorized("the control API needs 'Authorization: Bearer <control token>'")

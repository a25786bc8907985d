"""The control API under ``/__fakepay`` (README: "The control API"): its own route table over the same
``PaymentService``, for tests to reset, seed, configure, inspect and move the clock; its event
stream; and the dashboard page that uses both."""

from __future__ import annotations

import asyncio
import functools
import hmac
import re
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import hdrs, web

from .document import Document, Reader
from .errors import (
    Forbidden,
    InvalidRequest,
    ItemNotFound,
    PaymentNotFound,
    RouteNotFound,
    TooManySubscribers,
    Unauthorized,
)
from .responses import ConnectionActivity, error_response, json_response, read_body
from .routing import Route, Router
from .rules import MAX_GLOB
from .scenario import Scenario, load_scenario, parse_payments, parse_rule, parse_scenario, parse_scenario_bytes, shipped_scenarios
from .service import PaymentService
from .validation import show
from .views import clock_data, config_data, payment_data, state
from .wire import decode_path_value, dumps, loads_strict

__all__ = ["PREFIX", "ControlApi"]

#: A control handler: the request and the route's decoded path values.
Handler = Callable[..., Awaitable[web.StreamResponse]]
_FILTERS = {"method": "method", "path": "path", "owner": "owner", "paymentId": "payment_id", "operation": "operation"}
_MAX_ADVANCE_MS = 100 * 365 * 24 * 3600 * 1000
_LIMIT = re.compile("[0-9]{1,9}")
_RULE_ID = re.compile("[0-9]{1,18}")
#: Event streams open at once; more are refused (503), so that streams cannot crowd out the API.
MAX_SUBSCRIBERS = 100
#: Seconds between the comment lines that keep an idle event stream open through proxies.
KEEP_ALIVE_S = 15.0
#: Seconds a stream waits after each write, so that a busy server writes many events at once.
_COALESCE_S = 0.02
#: The dashboard's files, by the path they are served at under ``/__fakepay``.
_PAGES = {
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


def _query(request: web.BaseRequest, known: tuple[str, ...]) -> dict[str, str]:
    """The query parameters, each known and given once with a value."""
    unknown = [key for key in request.query if key not in known]
    if unknown:
        raise InvalidRequest(f"unknown query parameter {show(unknown[0])}; known: {', '.join(known) or 'none'}")
    query = dict(request.query)
    for key, value in query.items():
        if not value:
            raise InvalidRequest(f"query parameter '{key}' needs a value")
        if len(request.query.getall(key)) > 1:
            raise InvalidRequest(f"query parameter '{key}' is given more than once")
    return query


class ControlCalls:
    """The handlers of ``/__fakepay``."""

    def __init__(self, service: PaymentService, token_required: bool = False) -> None:
        self._service = service
        self._token_required = token_required

    async def health(self, request: web.BaseRequest) -> web.Response:
        return _ok({"status": "ok"})

    async def state(self, request: web.BaseRequest) -> web.Response:
        owner = _query(request, ("owner",)).get("owner")
        return _ok(state(self._service, owner))

    async def reset(self, request: web.BaseRequest) -> web.Response:
        owner = _query(request, ("owner",)).get("owner")
        self._service.reset(owner)
        return _ok({"reset": "owner" if owner else "all", "owner": owner})

    async def get_scenario(self, request: web.BaseRequest) -> web.Response:
        _query(request, ())
        return _ok({**self._service.scenario.to_data(), "seed": self._service.start_seed})

    async def put_scenario(self, request: web.BaseRequest) -> web.Response:
        _query(request, ())
        body = await read_body(request)

        def parse() -> Scenario:
            if request.content_type == "application/json":
                return parse_scenario(loads_strict(body))
            return parse_scenario_bytes(body, "<request>")

        # A large scenario takes seconds to read: in a thread, so that other requests are answered.
        return self._load(await asyncio.to_thread(parse))

    def _load(self, scenario: Scenario) -> web.Response:
        self._service.load(scenario)
        return _ok({"scenario": scenario.name, "seed": self._service.policy.seed})

    async def scenarios(self, request: web.BaseRequest) -> web.Response:
        _query(request, ())
        return _ok({"scenarios": shipped_scenarios()})

    async def load_shipped(self, request: web.BaseRequest, name: str) -> web.Response:
        """Load a shipped scenario by name (only a name: never a path on the server)."""
        _query(request, ())
        shipped = shipped_scenarios()
        if name not in shipped:
            raise ItemNotFound(f"no shipped scenario '{name}'; shipped: {', '.join(shipped)}")
        return self._load(load_scenario(name))

    async def patch_config(self, request: web.BaseRequest) -> web.Response:
        _query(request, ())
        patch = await _json_body(request)
        if not isinstance(patch, dict):
            raise InvalidRequest("config patch must be a JSON object")
        self._service.configure(patch)
        return _ok(config_data(self._service))

    async def add_payments(self, request: web.BaseRequest) -> web.Response:
        _query(request, ())
        data = await _json_body(request)
        if isinstance(data, dict) and set(data) == {"payments"}:
            data = data["payments"]
        stored = self._service.add_payments(parse_payments(data))
        return _ok({"payments": [payment_data(p) for p in stored]})

    async def get_payment(self, request: web.BaseRequest, owner: str, payment_id: str) -> web.Response:
        _query(request, ())
        payment = self._service.store.get(owner, payment_id)
        if payment is None:
            raise PaymentNotFound(payment_id)
        return _ok(payment_data(payment))

    async def get_secret(self, request: web.BaseRequest, github_id: str) -> web.Response:
        _query(request, ())
        return _ok({"githubId": github_id, "secret": self._service.auth.issue(github_id)})

    async def get_rules(self, request: web.BaseRequest) -> web.Response:
        _query(request, ())
        return _ok({"rules": self._service.policy.rules_data()})

    async def add_rule(self, request: web.BaseRequest) -> web.Response:
        _query(request, ())
        active = self._service.policy.add_rule(parse_rule(await _json_body(request)))
        return _ok(active.to_data())

    async def clear_rules(self, request: web.BaseRequest) -> web.Response:
        _query(request, ())
        self._service.policy.clear_rules()
        return _ok({"rules": []})

    async def delete_rule(self, request: web.BaseRequest, rule_id: str) -> web.Response:
        _query(request, ())
        if not _RULE_ID.fullmatch(rule_id):
            raise InvalidRequest(f"a rule id is a whole number, got {show(rule_id)}")
        self._service.policy.delete_rule(int(rule_id))
        return _ok({"rules": self._service.policy.rules_data()})

    async def clock(self, request: web.BaseRequest) -> web.Response:
        _query(request, ())
        data = await _json_body(request)
        reader = Reader(Document(data))
        body = reader.mapping(data, (), ("freeze", "advance_ms", "resume"))
        if not body and not reader.problems:
            reader.problem((), "give 'freeze', 'advance_ms' or 'resume'")
        freeze = "freeze" in body
        at = None
        if freeze and body["freeze"] is not True:
            at = reader.timestamp(body["freeze"], ("freeze",))
        advance = None
        if "advance_ms" in body:
            advance = reader.number(body["advance_ms"], ("advance_ms",), -_MAX_ADVANCE_MS, _MAX_ADVANCE_MS)
        if "resume" in body and body["resume"] is not True:
            reader.problem(("resume",), "must be true")
        reader.check("clock request")
        self._service.move_clock(resume=bool(body.get("resume")), freeze=freeze, at=at, advance_ms=advance)
        return _ok(clock_data(self._service))

    async def requests(self, request: web.BaseRequest) -> web.Response:
        query = _query(request, (*_FILTERS, "limit"))
        limit = None
        if "limit" in query:
            if not _LIMIT.fullmatch(query["limit"]) or int(query["limit"]) < 1:
                raise InvalidRequest(f"limit must be a whole number from 1 to 999999999, got {show(query['limit'])}")
            limit = int(query["limit"])
        if len(query.get("path", "")) > MAX_GLOB:
            raise InvalidRequest(f"path must be a pattern of at most {MAX_GLOB} characters")
        filters = {_FILTERS[key]: value for key, value in query.items() if key in _FILTERS}
        entries = self._service.journal.entries(limit=limit, **filters)
        zone = self._service.clock.zone
        return _ok({"requests": [entry.to_data(zone) for entry in entries]})

    async def clear_requests(self, request: web.BaseRequest) -> web.Response:
        _query(request, ())
        self._service.journal.clear()
        return _ok({"requests": []})

    async def events(self, request: web.BaseRequest) -> web.StreamResponse:
        """Server-Sent Events: ``ready`` once subscribed, then every event as it happens, until
        the client leaves or the server stops."""
        _query(request, ())
        response = web.StreamResponse(headers={
            hdrs.CONTENT_TYPE: "text/event-stream; charset=utf-8",
            hdrs.CACHE_CONTROL: "no-cache",
            "X-Accel-Buffering": "no",
        })
        if request.method == hdrs.METH_HEAD:
            return response
        events = self._service.events
        if len(events.subscribers) >= MAX_SUBSCRIBERS:
            raise TooManySubscribers(MAX_SUBSCRIBERS)
        subscription = events.subscribe()
        try:
            await response.prepare(request)
            await response.write(b'data: {"type":"ready"}\n\n')
            while (batch := await subscription.get(KEEP_ALIVE_S)) is not None:
                await response.write(b"".join(b"data: %s\n\n" % event for event in batch) or b": keep-alive\n\n")
                await asyncio.sleep(_COALESCE_S)
            await response.write_eof()
        except ConnectionError:  # the client left
            pass
        finally:
            events.unsubscribe(subscription)
        return response

    def page(self, name: str, content_type: str) -> Handler:
        """A handler serving one of the dashboard's files, from the package."""

        async def serve(request: web.BaseRequest) -> web.Response:
            body = _page(name)
            if self._token_required and name == "index.html":  # the page asks for it at once
                body = body.replace(b"<body>", b'<body data-token="required">', 1)
            return web.Response(body=body, content_type=content_type, charset="utf-8", headers=_PAGE_HEADERS)

        return serve

    async def to_page(self, request: web.BaseRequest) -> web.Response:
        """``/__fakepay`` as typed by hand: on to the dashboard."""
        return web.Response(status=301, headers={hdrs.LOCATION: PREFIX + "/"})

    async def openapi(self, request: web.BaseRequest) -> web.Response:
        from .openapi import openapi_document

        return _ok(openapi_document())


PREFIX = "/__fakepay"


class ControlApi:
    """The control API: its route table, and the checks every call passes first."""

    def __init__(self, service: PaymentService, activity: ConnectionActivity, *, enabled: bool = True,
                 token: str | None = None) -> None:
        self._activity = activity
        # Compared as the bytes sent: aiohttp decodes header bytes that are not UTF-8 as surrogates.
        self._expected = f"Bearer {token}".encode("utf-8", "surrogateescape") if token else None
        calls = ControlCalls(service, bool(token))
        table: dict[str, dict[str, Handler]] = {"/health": {"GET": calls.health}}
        if enabled:
            table.update({
                "/state": {"GET": calls.state},
                "/reset": {"POST": calls.reset},
                "/scenario": {"GET": calls.get_scenario, "PUT": calls.put_scenario},
                "/scenarios": {"GET": calls.scenarios},
                "/scenarios/{name}": {"POST": calls.load_shipped},
                "/config": {"PATCH": calls.patch_config},
                "/payments": {"POST": calls.add_payments},
                "/rules": {"GET": calls.get_rules, "POST": calls.add_rule, "DELETE": calls.clear_rules},
                "/rules/{id}": {"DELETE": calls.delete_rule},
                "/clock": {"POST": calls.clock},
                "/requests": {"GET": calls.requests, "DELETE": calls.clear_requests},
                "/events": {"GET": calls.events},
                "/openapi.json": {"GET": calls.openapi},
                "/payments/{owner}/{paymentId}": {"GET": calls.get_payment},
                "/secrets/{githubId}": {"GET": calls.get_secret},
                **{path: {"GET": calls.page(*page)} for path, page in _PAGES.items()},
                "": {"GET": calls.to_page},
            })
        self._router = Router(Route(PREFIX + path, methods) for path, methods in table.items())
        #: Served without the token: the health check, and the dashboard (which asks for it itself).
        self._open = {PREFIX + path for path in ("/health", "", *_PAGES)}

    async def handle(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        """Answer a control call (``path`` raw, as sent): the origin and token checks, the route's
        handler, every error as JSON, and the connection's activity noted."""
        self._activity.started(request)
        try:
            origin = request.headers.get(hdrs.ORIGIN)
            if origin is not None and origin != f"{request.scheme}://{request.host}":
                raise Forbidden(f"control calls from another origin ({show(origin)}) are refused")
            found = self._router.find(path)
            if found is None or found[0].template not in self._open:
                self._check_token(request)
            if found is None:
                raise RouteNotFound(request.method, path)
            route, values = found
            handler = route.target(request.method, path)
            return await handler(request, *map(decode_path_value, values))
        except Exception as exception:  # every error, a bug included, is answered as JSON
            return error_response(exception, f"{request.method} {path}")
        finally:
            self._activity.finished(request)

    def _check_token(self, request: web.BaseRequest) -> None:
        if self._expected is not None:
            given = request.headers.get(hdrs.AUTHORIZATION, "").encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given, self._expected):
                raise Unauthorized("the control API needs 'Authorization: Bearer <control token>'")

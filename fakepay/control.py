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
from .errors import Forbidden, InvalidRequest, ItemNotFound, PaymentNotFound, TooManySubscribers, Unauthorized
from .responses import ConnectionActivity, error_response, json_response, not_allowed, not_found, path_values, raw_path, read_body
from .rules import MAX_GLOB
from .scenario import Scenario, load_scenario, parse_payments, parse_rule, parse_scenario, parse_scenario_bytes, shipped_scenarios
from .service import PaymentService
from .validation import show
from .views import clock_data, config_data, payment_data, state
from .wire import dumps, loads_strict

__all__ = ["PREFIX", "add_control_routes"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
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


def _path_values(request: web.Request) -> list[str]:
    """The request's path values, by the template of the route it matched (the route table's)."""
    return path_values(request.match_info.route.resource.canonical, raw_path(request))  # type: ignore[union-attr]


def _ok(data: Any) -> web.Response:
    return json_response(dumps(data))


async def _json_body(request: web.Request) -> Any:
    """A control call's JSON body: strict, no duplicate keys, nested at most ``MAX_DEPTH`` deep."""
    return loads_strict(await read_body(request))


def _query(request: web.Request, known: tuple[str, ...]) -> dict[str, str]:
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


class ControlApi:
    """The handlers of ``/__fakepay``."""

    def __init__(self, service: PaymentService, token_required: bool = False) -> None:
        self._service = service
        self._token_required = token_required

    async def health(self, request: web.Request) -> web.Response:
        return _ok({"status": "ok"})

    async def state(self, request: web.Request) -> web.Response:
        owner = _query(request, ("owner",)).get("owner")
        return _ok(state(self._service, owner))

    async def reset(self, request: web.Request) -> web.Response:
        owner = _query(request, ("owner",)).get("owner")
        self._service.reset(owner)
        return _ok({"reset": "owner" if owner else "all", "owner": owner})

    async def get_scenario(self, request: web.Request) -> web.Response:
        _query(request, ())
        return _ok({**self._service.scenario.to_data(), "seed": self._service.start_seed})

    async def put_scenario(self, request: web.Request) -> web.Response:
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

    async def scenarios(self, request: web.Request) -> web.Response:
        _query(request, ())
        return _ok({"scenarios": shipped_scenarios()})

    async def load_shipped(self, request: web.Request) -> web.Response:
        """Load a shipped scenario by name (only a name: never a path on the server)."""
        _query(request, ())
        [name] = _path_values(request)
        shipped = shipped_scenarios()
        if name not in shipped:
            raise ItemNotFound(f"no shipped scenario '{name}'; shipped: {', '.join(shipped)}")
        return self._load(load_scenario(name))

    async def patch_config(self, request: web.Request) -> web.Response:
        _query(request, ())
        patch = await _json_body(request)
        if not isinstance(patch, dict):
            raise InvalidRequest("config patch must be a JSON object")
        self._service.configure(patch)
        return _ok(config_data(self._service))

    async def add_payments(self, request: web.Request) -> web.Response:
        _query(request, ())
        data = await _json_body(request)
        if isinstance(data, dict) and set(data) == {"payments"}:
            data = data["payments"]
        stored = self._service.add_payments(parse_payments(data))
        return _ok({"payments": [payment_data(p) for p in stored]})

    async def get_payment(self, request: web.Request) -> web.Response:
        _query(request, ())
        owner, payment_id = _path_values(request)
        payment = self._service.store.get(owner, payment_id)
        if payment is None:
            raise PaymentNotFound(payment_id)
        return _ok(payment_data(payment))

    async def get_secret(self, request: web.Request) -> web.Response:
        _query(request, ())
        [github_id] = _path_values(request)
        return _ok({"githubId": github_id, "secret": self._service.auth.issue(github_id)})

    async def get_rules(self, request: web.Request) -> web.Response:
        _query(request, ())
        return _ok({"rules": self._service.policy.rules_data()})

    async def add_rule(self, request: web.Request) -> web.Response:
        _query(request, ())
        active = self._service.policy.add_rule(parse_rule(await _json_body(request)))
        return _ok(active.to_data())

    async def clear_rules(self, request: web.Request) -> web.Response:
        _query(request, ())
        self._service.policy.clear_rules()
        return _ok({"rules": []})

    async def delete_rule(self, request: web.Request) -> web.Response:
        _query(request, ())
        [rule_id] = _path_values(request)
        if not _RULE_ID.fullmatch(rule_id):
            raise InvalidRequest(f"a rule id is a whole number, got {show(rule_id)}")
        self._service.policy.delete_rule(int(rule_id))
        return _ok({"rules": self._service.policy.rules_data()})

    async def clock(self, request: web.Request) -> web.Response:
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

    async def requests(self, request: web.Request) -> web.Response:
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

    async def clear_requests(self, request: web.Request) -> web.Response:
        _query(request, ())
        self._service.journal.clear()
        return _ok({"requests": []})

    async def events(self, request: web.Request) -> web.StreamResponse:
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

    async def page(self, request: web.Request) -> web.Response:
        """The dashboard's files, from the package."""
        name, content_type = _PAGES[request.path[len(PREFIX):]]
        body = _page(name)
        if self._token_required and name == "index.html":  # the page asks for it at once
            body = body.replace(b"<body>", b'<body data-token="required">', 1)
        return web.Response(body=body, content_type=content_type, charset="utf-8", headers=_PAGE_HEADERS)

    async def to_page(self, request: web.Request) -> web.Response:
        """``/__fakepay`` as typed by hand: on to the dashboard."""
        return web.Response(status=301, headers={hdrs.LOCATION: PREFIX + "/"})

    async def openapi(self, request: web.Request) -> web.Response:
        from .openapi import openapi_document

        return _ok(openapi_document())


PREFIX = "/__fakepay"


def _guard(token: str | None, activity: ConnectionActivity) -> Callable[[Handler, bool], Handler]:
    """Wraps a control handler: the token check, every error as JSON, and the connection's
    activity noted (no middleware, so the public API's requests pay nothing for it)."""
    # Compared as the bytes sent: aiohttp decodes header bytes that are not UTF-8 as surrogates.
    expected = f"Bearer {token}".encode("utf-8", "surrogateescape") if token else None

    def guard(handler: Handler, open_: bool = False) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            activity.started(request)
            try:
                origin = request.headers.get(hdrs.ORIGIN)
                if origin is not None and origin != f"{request.scheme}://{request.host}":
                    raise Forbidden(f"control calls from another origin ({show(origin)}) are refused")
                if expected is not None and not open_:
                    given = request.headers.get(hdrs.AUTHORIZATION, "").encode("utf-8", "surrogateescape")
                    if not hmac.compare_digest(given, expected):
                        raise Unauthorized("the control API needs 'Authorization: Bearer <control token>'")
                return await handler(request)
            except Exception as exception:  # every error, a bug included, is answered as JSON
                return error_response(exception, f"{request.method} {raw_path(request)}")
            finally:
                activity.finished(request)

        return guarded

    return guard


def add_control_routes(router: web.UrlDispatcher, service: PaymentService, activity: ConnectionActivity, *,
                       enabled: bool = True, token: str | None = None) -> None:
    """Add the control API under ``/__fakepay``; with ``enabled=False`` only ``health``."""
    api = ControlApi(service, bool(token))
    table: dict[str, dict[str, Handler]] = {"/health": {"GET": api.health}}
    if enabled:
        table.update({
            "/state": {"GET": api.state},
            "/reset": {"POST": api.reset},
            "/scenario": {"GET": api.get_scenario, "PUT": api.put_scenario},
            "/scenarios": {"GET": api.scenarios},
            "/scenarios/{name}": {"POST": api.load_shipped},
            "/config": {"PATCH": api.patch_config},
            "/payments": {"POST": api.add_payments},
            "/rules": {"GET": api.get_rules, "POST": api.add_rule, "DELETE": api.clear_rules},
            "/rules/{id}": {"DELETE": api.delete_rule},
            "/clock": {"POST": api.clock},
            "/requests": {"GET": api.requests, "DELETE": api.clear_requests},
            "/events": {"GET": api.events},
            "/openapi.json": {"GET": api.openapi},
            "/payments/{owner}/{paymentId}": {"GET": api.get_payment},
            "/secrets/{githubId}": {"GET": api.get_secret},
            **{path: {"GET": api.page} for path in _PAGES},
            "": {"GET": api.to_page},
        })
    guard = _guard(token, activity)
    for path, methods in table.items():
        open_ = path in ("/health", "") or path in _PAGES  # the page asks for the token itself
        allowed = tuple(sorted({*methods, *(["HEAD"] if "GET" in methods else [])}))
        for method, handler in methods.items():
            router.add_route(method, PREFIX + path, guard(handler, open_))
            if method == hdrs.METH_GET:
                router.add_route(hdrs.METH_HEAD, PREFIX + path, guard(handler, open_))
        router.add_route(hdrs.METH_ANY, PREFIX + path, guard(not_allowed(allowed), open_))
    router.add_route(hdrs.METH_ANY, PREFIX + "/{path:.*}", guard(not_found, False))

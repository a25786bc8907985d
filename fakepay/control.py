"""The control API under ``/__fakepay`` (README: "The control API"): its own route table over the same
``PaymentService``, for tests to reset, seed, configure, inspect and move the clock."""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web

from .document import Document, Reader
from .errors import InvalidRequest, PaymentNotFound, Unauthorized
from .scenario import parse_payments, parse_rule, parse_scenario, parse_scenario_bytes
from .server import ConnectionActivity, error_response, json_response, not_allowed, not_found, path_values, raw_path, read_body
from .service import PaymentService, payment_data
from .validation import show
from .wire import dumps, loads_strict

__all__ = ["PREFIX", "add_control_routes"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_FILTERS = {"method": "method", "path": "path", "owner": "owner", "paymentId": "payment_id", "operation": "operation"}
_MAX_ADVANCE_MS = 100 * 365 * 24 * 3600 * 1000
_LIMIT = re.compile("[0-9]{1,9}")


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

    def __init__(self, service: PaymentService) -> None:
        self._service = service

    async def health(self, request: web.Request) -> web.Response:
        return _ok({"status": "ok"})

    async def state(self, request: web.Request) -> web.Response:
        owner = _query(request, ("owner",)).get("owner")
        return _ok(self._service.state(owner))

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
        if request.content_type == "application/json":
            scenario = parse_scenario(loads_strict(body))
        else:
            scenario = parse_scenario_bytes(body, "<request>")
        self._service.load(scenario)
        return _ok({"scenario": scenario.name, "seed": self._service.seed})

    async def patch_config(self, request: web.Request) -> web.Response:
        _query(request, ())
        patch = await _json_body(request)
        if not isinstance(patch, dict):
            raise InvalidRequest("config patch must be a JSON object")
        self._service.configure(patch)
        return _ok(self._service.config_data())

    async def add_payments(self, request: web.Request) -> web.Response:
        _query(request, ())
        data = await _json_body(request)
        if isinstance(data, dict) and set(data) == {"payments"}:
            data = data["payments"]
        stored = self._service.add_payments(parse_payments(data))
        return _ok({"payments": [payment_data(p) for p in stored]})

    async def get_payment(self, request: web.Request) -> web.Response:
        _query(request, ())
        owner, payment_id = path_values(PREFIX + "/payments/{owner}/{paymentId}", raw_path(request))
        payment = self._service.store.get(owner, payment_id)
        if payment is None:
            raise PaymentNotFound(payment_id)
        return _ok(payment_data(payment))

    async def get_secret(self, request: web.Request) -> web.Response:
        _query(request, ())
        [github_id] = path_values(PREFIX + "/secrets/{githubId}", raw_path(request))
        return _ok({"githubId": github_id, "secret": self._service.auth.issue(github_id)})

    async def get_rules(self, request: web.Request) -> web.Response:
        _query(request, ())
        return _ok({"rules": [active.to_data() for active in self._service.rules]})

    async def add_rule(self, request: web.Request) -> web.Response:
        _query(request, ())
        active = self._service.add_rule(parse_rule(await _json_body(request)))
        return _ok(active.to_data())

    async def clear_rules(self, request: web.Request) -> web.Response:
        _query(request, ())
        self._service.clear_rules()
        return _ok({"rules": []})

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
        service = self._service
        if body.get("resume"):
            service.resume_clock()
        if freeze:
            service.freeze_clock(at)
        if advance is not None:
            service.advance_clock(advance)
        return _ok(service.clock_data())

    async def requests(self, request: web.Request) -> web.Response:
        query = _query(request, (*_FILTERS, "limit"))
        limit = None
        if "limit" in query:
            if not _LIMIT.fullmatch(query["limit"]) or int(query["limit"]) < 1:
                raise InvalidRequest(f"limit must be a whole number from 1 to 999999999, got {show(query['limit'])}")
            limit = int(query["limit"])
        filters = {_FILTERS[key]: value for key, value in query.items() if key in _FILTERS}
        entries = self._service.journal.entries(limit=limit, **filters)
        zone = self._service.clock.zone
        return _ok({"requests": [entry.to_data(zone) for entry in entries]})

    async def clear_requests(self, request: web.Request) -> web.Response:
        _query(request, ())
        self._service.journal.clear()
        return _ok({"requests": []})

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
    api = ControlApi(service)
    table: dict[str, dict[str, Handler]] = {"/health": {"GET": api.health}}
    if enabled:
        table.update({
            "/state": {"GET": api.state},
            "/reset": {"POST": api.reset},
            "/scenario": {"GET": api.get_scenario, "PUT": api.put_scenario},
            "/config": {"PATCH": api.patch_config},
            "/payments": {"POST": api.add_payments},
            "/rules": {"GET": api.get_rules, "POST": api.add_rule, "DELETE": api.clear_rules},
            "/clock": {"POST": api.clock},
            "/requests": {"GET": api.requests, "DELETE": api.clear_requests},
            "/openapi.json": {"GET": api.openapi},
            "/payments/{owner}/{paymentId}": {"GET": api.get_payment},
            "/secrets/{githubId}": {"GET": api.get_secret},
        })
    guard = _guard(token, activity)
    for path, methods in table.items():
        open_ = path == "/health"
        allowed = tuple(sorted({*methods, *(["HEAD"] if "GET" in methods else [])}))
        for method, handler in methods.items():
            router.add_route(method, PREFIX + path, guard(handler, open_))
            if method == hdrs.METH_GET:
                router.add_route(hdrs.METH_HEAD, PREFIX + path, guard(handler, open_))
        router.add_route(hdrs.METH_ANY, PREFIX + path, guard(not_allowed(allowed), open_))
    router.add_route(hdrs.METH_ANY, PREFIX + "/{path:.*}", guard(not_found, False))

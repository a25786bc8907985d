"""The control API under ``/__fakepay`` (SPEC 2): a sub-application over the same
``PaymentService``, for tests to reset, seed, configure, inspect and move the clock."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web

from .document import Document, Reader
from .errors import FakePayError, InvalidRequest, Unauthorized
from .scenario import parse_payments, parse_rule, parse_scenario, parse_scenario_text
from .server import as_error, error_response, internal_error, json_response
from .service import PaymentService, payment_data
from .wire import dumps, loads

__all__ = ["create_control_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_FILTERS = {"method": "method", "path": "path", "owner": "owner", "paymentId": "payment_id", "operation": "operation"}
_MAX_ADVANCE_MS = 100 * 365 * 24 * 3600 * 1000


def _ok(data: Any) -> web.Response:
    return json_response(dumps(data))


async def _json_body(request: web.Request) -> Any:
    return loads(await request.read())


def _query(request: web.Request, known: tuple[str, ...]) -> dict[str, str]:
    unknown = [key for key in request.query if key not in known]
    if unknown:
        raise InvalidRequest(f"unknown query parameter '{unknown[0]}'; known: {', '.join(known) or 'none'}")
    return dict(request.query)


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
        body = await request.read()
        if request.content_type == "application/json":
            scenario = parse_scenario(loads(body))
        else:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidRequest("scenario is not valid UTF-8") from None
            scenario = parse_scenario_text(text, "<request>")
        self._service.load(scenario)
        return _ok({"scenario": scenario.name, "seed": self._service.seed})

    async def patch_config(self, request: web.Request) -> web.Response:
        _query(request, ())
        patch = await _json_body(request)
        if not isinstance(patch, dict):
            raise InvalidRequest("config patch must be a JSON object")
        self._service.configure(patch)
        return _ok(self._service.state()["config"])

    async def add_payments(self, request: web.Request) -> web.Response:
        _query(request, ())
        data = await _json_body(request)
        if isinstance(data, dict) and set(data) == {"payments"}:
            data = data["payments"]
        stored = self._service.add_payments(parse_payments(data))
        return _ok({"payments": [payment_data(p) for p in stored]})

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
        freeze = body.get("freeze")
        at = None if freeze is None or freeze is True else reader.timestamp(freeze, ("freeze",))
        advance = None
        if body.get("advance_ms") is not None:
            advance = reader.number(body["advance_ms"], ("advance_ms",), -_MAX_ADVANCE_MS, _MAX_ADVANCE_MS)
        if "resume" in body and body["resume"] is not True:
            reader.problem(("resume",), "must be true")
        reader.check("clock request")
        service = self._service
        if body.get("resume"):
            service.resume_clock()
        if freeze is not None:
            service.freeze_clock(at)
        if advance is not None:
            service.advance_clock(advance)
        return _ok(service.state()["clock"])

    async def requests(self, request: web.Request) -> web.Response:
        query = _query(request, (*_FILTERS, "limit"))
        limit = None
        if "limit" in query:
            if not query["limit"].isdigit() or int(query["limit"]) < 1:
                raise InvalidRequest(f"limit must be a whole number of at least 1, got '{query['limit']}'")
            limit = int(query["limit"])
        filters = {_FILTERS[key]: value for key, value in query.items() if key in _FILTERS}
        entries = self._service.journal.entries(limit=limit, **filters)
        return _ok({"requests": [entry.to_data() for entry in entries]})

    async def clear_requests(self, request: web.Request) -> web.Response:
        _query(request, ())
        self._service.journal.clear()
        return _ok({"requests": []})


def _middleware(token: str | None) -> Callable[..., Awaitable[web.StreamResponse]]:
    expected = f"Bearer {token}" if token else None

    @web.middleware
    async def control(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if expected is not None and not request.path.endswith("/health"):
                given = request.headers.get(hdrs.AUTHORIZATION, "")
                if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8", "replace")):
                    raise Unauthorized("the control API needs 'Authorization: Bearer <control token>'")
            return await handler(request)
        except FakePayError as error:
            return error_response(error)
        except web.HTTPException as exception:
            return error_response(as_error(exception, request))
        except Exception as exception:  # a bug: still a JSON answer
            return error_response(internal_error(exception))

    return control


def create_control_app(service: PaymentService, *, enabled: bool = True, token: str | None = None) -> web.Application:
    """The ``/__fakepay`` sub-application; with ``enabled=False`` it has only ``health``."""
    api = ControlApi(service)
    app = web.Application(middlewares=[_middleware(token)])
    app.router.add_get("/health", api.health)
    if enabled:
        app.router.add_get("/state", api.state)
        app.router.add_post("/reset", api.reset)
        app.router.add_get("/scenario", api.get_scenario)
        app.router.add_put("/scenario", api.put_scenario)
        app.router.add_patch("/config", api.patch_config)
        app.router.add_post("/payments", api.add_payments)
        app.router.add_get("/rules", api.get_rules)
        app.router.add_post("/rules", api.add_rule)
        app.router.add_delete("/rules", api.clear_rules)
        app.router.add_post("/clock", api.clock)
        app.router.add_get("/requests", api.requests)
        app.router.add_delete("/requests", api.clear_requests)
    return app

"""The OpenAPI 3 document of fakepay (docs/api.md, docs/control-api.md), served at ``GET
/__fakepay/openapi.json``: the API of an instance's dialect, made of its route table, its
operations, its models and its error classes; and the control API, made of its own route table."""

from __future__ import annotations

import re
from typing import Any

from ..core.dialect import Dialect, Operation
from ..core.errors import FakePayError, InvalidRequest
from ..core.fields import PATH_VALUE, FieldKind, LocalDateTime, Model, Schema
from ..core.globs import MAX_GLOB
from ..http.pipeline import errors_of
from ..scenario.envelope import MAX_SEED, config_model, rule_model
from .api import PAGES, PREFIX, ROUTES, RULE_ID, ControlCalls, ControlRoute
from .stream import BATCH_S, PAYMENTS_PER_BATCH, REQUESTS_PER_BATCH

__all__ = ["openapi_document"]

JSON = "application/json"
#: A local date-time as fakepay writes it.
_WRITTEN_TIME = LocalDateTime().schema(written=True)
_ANY_OBJECT = {"type": "object", "additionalProperties": True}
#: Any value but an empty one (an owner is any githubId, or any JWT's ``sub`` under ``any-jwt``).
_GIVEN = {"type": "string", "minLength": 1}
#: Whole numbers from 0, and from 1, to 999999999, written in digits.
_COUNT = {"type": "string", "pattern": "^[0-9]{1,9}$"}
_POSITIVE_COUNT = {"type": "string", "pattern": "^0*[1-9][0-9]*$", "maxLength": 9}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


_SENTENCE_END = re.compile(r"[.;](?:\s|$)")


def _meaning(error: type[FakePayError]) -> str:
    """``TYPE: when it is answered``, from the error class's docstring."""
    text = " ".join((error.__doc__ or "").replace("``", "").split())
    return f"{error.type}: {_SENTENCE_END.split(text, maxsplit=1)[0]}"


def _errors(errors: tuple[type[FakePayError], ...]) -> dict[str, Any]:
    """The error answers of an operation, one per status, saying what each of its types means."""
    by_status: dict[int, list[type[FakePayError]]] = {}
    for error in dict.fromkeys(errors):
        by_status.setdefault(error.status, []).append(error)
    return {str(status): _json(_ref("Error"), "; ".join(map(_meaning, by_status[status]))) for status in sorted(by_status)}


def _path_parameter(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _schema(answer: Model | FieldKind) -> Schema:
    """The schema of an answer: a model's component, or a kind's written schema."""
    return _ref(answer.name) if isinstance(answer, Model) else answer.schema(written=True)


# -- the API of the dialect ---------------------------------------------------------------------

def _public(dialect: Dialect) -> dict[str, Any]:
    return {template: {method.lower(): _operation(dialect.operations[name], "{" in template)
                       for method, name in methods.items()}
            for template, methods in dialect.served(PREFIX)}


def _operation(operation: Operation, valued: bool) -> dict[str, Any]:
    """An operation of the API; ``valued``: its path has a value."""
    document: dict[str, Any] = {"summary": operation.summary, "operationId": operation.name}
    if operation.authenticated:
        document["security"] = [{"secret": []}]
    if valued:
        document["parameters"] = [_path_parameter(operation.param, operation.path_value.schema())]
    if operation.body is not None and operation.query:
        document.setdefault("parameters", []).append(
            {"name": "requestBody", "in": "query", "required": False,
             "content": {JSON: {"schema": _ref(operation.body.name)}}})
    elif operation.body is not None:
        document["requestBody"] = {"required": True, "content": {JSON: {"schema": _ref(operation.body.name)}}}
    answer = {"description": "OK", "content": {operation.answer_type: {"schema": _schema(operation.answer)}}}
    document["responses"] = {"200": answer, **_errors(errors_of(operation))}
    return document


def _secured(dialect: Dialect) -> str:
    """What the API's secret is: what its unauthenticated operation that answers a secret answers."""
    for template, methods in dialect.routes:
        for method, name in methods.items():
            if dialect.operations[name].answers_secret:
                return f"The secret {method} {template} answers"
    return "The API's secret"


# -- the control API ----------------------------------------------------------------------------

def _payments(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["payments"], "properties": {"payments": {"type": "array", "items": item}}}


def _api() -> dict[str, Any]:
    """What ``GET /__fakepay/api`` answers."""

    def items(**properties: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "required": list(properties), "additionalProperties": False, "properties": properties}

    def listed(**properties: dict[str, Any]) -> dict[str, Any]:
        return {"type": "array", "items": items(**properties)}

    text = {"type": "string"}
    texts = {"type": "array", "items": text}
    return items(
            name=text,
            title=text,
            operations=listed(name=text, method=text, path=text, param=text, changes={"type": "boolean"}),
            matchers=listed(key=text, kind={"enum": ["glob", "text", "choice", "amount"]}, choices=texts),
            payments=items(statuses=texts, columns=listed(key=text, title=text,
                                                          kind={"enum": ["id", "status", "amount", "count", "time", "text"]},
                                                          unit={"type": ["string", "null"]})),
            webhooks={"type": "boolean", "description": "Whether it sends webhooks, which rules of the operation webhook shape."},
    )


_RULES = {"type": "object", "required": ["rules"], "properties": {"rules": {"type": "array", "items": _ref("ActiveRule")}}}
_JOURNAL = {"type": "object", "required": ["requests"], "properties": {"requests": {"type": "array", "items": _ref("JournalEntry")}}}
#: What each control handler answers with, what body it takes (None: none), and the schemas of
#: its query parameters; None: a handler the document leaves out (a redirect for people).
_CONTROL: dict[str, tuple[dict[str, Any], dict[str, Any] | None, dict[str, dict[str, Any]]] | None] = {
    "health": ({"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}, None, {}),
    "state": (_ref("State"), None, {"owner": _GIVEN, "limit": _COUNT, "offset": _COUNT}),
    "reset": ({"type": "object", "required": ["reset", "owner"],
               "properties": {"reset": {"enum": ["all", "owner"]}, "owner": {"type": ["string", "null"]}}}, None, {"owner": _GIVEN}),
    "get_scenario": (_ANY_OBJECT, None, {}),
    "put_scenario": (_ANY_OBJECT, _ANY_OBJECT, {}),
    "scenarios": ({"type": "object", "required": ["scenarios"],
                   "properties": {"scenarios": {"type": "array", "items": {"type": "string"}}}}, None, {}),
    "load_shipped": ({"type": "object", "required": ["scenario", "seed"],
                      "properties": {"scenario": {"type": "string"}, "seed": {"type": "integer"}}}, None, {}),
    "patch_config": (_ref("Config"), _ANY_OBJECT, {}),
    "add_payments": (_payments(_ref("StoredPayment")), {"oneOf": [
        {"type": "array", "items": _ref("SeedPayment")},
        _ref("SeedPayment"),
        {**_payments(_ref("SeedPayment")), "additionalProperties": False},
    ]}, {}),
    "get_payment": (_ref("StoredPayment"), None, {}),
    "get_secret": ({"type": "object", "required": ["githubId", "secret"],
                    "properties": {"githubId": {"type": "string"}, "secret": {"type": "string"}}}, None, {}),
    "get_rules": (_RULES, None, {}),
    "add_rule": (_ref("ActiveRule"), _ref("Rule"), {}),
    "clear_rules": (_RULES, None, {}),
    "delete_rule": (_RULES, None, {}),
    "clock": (_ref("Clock"), {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {
            "freeze": {"oneOf": [LocalDateTime().schema(), {"const": True}]},
            "advance_ms": {"type": "number", "minimum": -3.1536e12, "maximum": 3.1536e12},
            "resume": {"const": True},
        },
    }, {}),
    "requests": (_JOURNAL, None, {"method": _GIVEN, "path": {**_GIVEN, "maxLength": MAX_GLOB}, "owner": _GIVEN,
                                  "paymentId": _GIVEN, "operation": _GIVEN, "limit": _POSITIVE_COUNT}),
    "clear_requests": (_JOURNAL, None, {}),
    "events": ({}, None, {}),
    "openapi": (_ANY_OBJECT, None, {}),
    "describe_api": (_api(), None, {}),
    "create_sandbox": (_ref("Sandbox"), {"type": "object", "additionalProperties": False, "properties": {
        "scenario": {"type": ["string", "object", "null"]},
        "seed": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_SEED},
        "failure_rate": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    }}, {}),
    "list_sandboxes": (_ref("Sandboxes"), None, {}),
    "get_sandbox": (_ref("Sandbox"), None, {}),
    "delete_sandbox": ({"type": "object", "required": ["deleted"], "additionalProperties": False,
                        "properties": {"deleted": {"type": "string"}}}, None, {}),
    "to_page": None,
}


def _summary(route: ControlRoute) -> str:
    """The first paragraph of the route's handler's docstring."""
    doc = getattr(ControlCalls, route.handler).__doc__ or ""
    return " ".join(doc.split("\n\n")[0].replace("``", "").split()).removesuffix(".")


def _control_operation(route: ControlRoute, dialect: Dialect) -> dict[str, Any]:
    documented = _CONTROL[route.handler]
    assert documented is not None
    answer, body, query = documented
    operation: dict[str, Any] = {"summary": _summary(route), "tags": ["control"],
                                 "responses": {"200": _json(answer), **_errors((InvalidRequest, *route.raises))}}
    parameters = [_path_parameter(name, _path_value(name, dialect)) for name in re.findall(r"\{(\w+)\}", route.path)]
    parameters += [{"name": name, "in": "query", "required": False, "schema": query[name]} for name in route.query or ()]
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": route.handler not in _OPTIONAL_BODY, "content": {JSON: {"schema": body}}}
    return operation


#: The control calls whose body may be left out.
_OPTIONAL_BODY = {"create_sandbox"}


def _path_value(name: str, dialect: Dialect) -> dict[str, Any]:
    """What the control API's path value ``name`` may be: a rule's id, an owner as a seeded
    payment names it, or any path value."""
    if name == "id":
        return {"type": "string", "pattern": f"^{RULE_ID.pattern}$"}
    if name == "githubId":
        return dialect.section.seed["owner"].kind.schema()
    return PATH_VALUE.schema()


def _control(dialect: Dialect) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in ROUTES:
        if _CONTROL[route.handler] is not None:
            operation = _events(route, dialect) if route.handler == "events" else _control_operation(route, dialect)
            paths.setdefault(PREFIX + route.path, {})[route.method.lower()] = operation
    page = {"description": "The page", "content": {PAGES["/"][1]: {"schema": {"type": "string"}}}}
    paths[PREFIX + "/"] = {"get": {"summary": "The dashboard: a page that shows and steers this fakepay (asks for the control token itself)",
                                   "tags": ["control"], "responses": {"200": page}}}
    return paths


_OWNER_OR_ALL = {"type": ["string", "null"]}
_HOW_MANY: dict[str, Any] = {"type": "integer", "minimum": 0}
#: What the event stream sends: each event's ``type``, what it means, and its other fields.
_EVENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "ready": ("first, once subscribed: what happens from now on is sent", {}),
    "request": ("a journal entry recorded", {"request": _ref("JournalEntry")}),
    "payment": ("a payment stored or changed (of its changes before the next control event in a batch, the last)", {"payment": _ref("StoredPayment")}),
    "reset": ("back to the scenario's start (`owner`: only that owner's; null: everything)", {"owner": _OWNER_OR_ALL}),
    "scenario": ("a scenario loaded", {"scenario": {"type": "string"}, "seed": {"type": "integer"}}),
    "config": ("the configuration changed", {"config": _ref("Config")}),
    "rule": ("a rule added, or its count used: that rule (of its changes before the next control event in a batch, the last)",
             {"rule": _ref("ActiveRule")}),
    "rule_deleted": ("a rule deleted: its id", {"id": {"type": "integer"}}),
    "rules": ("the rules cleared: an empty list", {"rules": {"type": "array", "maxItems": 0}}),
    "clock": ("the clock frozen, advanced or resumed", {"clock": _ref("Clock")}),
    "requests_cleared": ("journal entries dropped (`owner`: only that owner's; null: all)", {"owner": _OWNER_OR_ALL}),
    "skipped": (f"first in a batch that left events out: `requests` journal entries before its newest {REQUESTS_PER_BATCH} "
                "(`outcomes`: how many came in each second, written as an entry's time, with each outcome), `payments` "
                f"payments changed before its last {PAYMENTS_PER_BATCH}; the journal and the state have them",
                {"requests": _HOW_MANY, "outcomes": {"type": "array", "items": {
                    "type": "object",
                    "required": ["time", "outcome", "count"],
                    "additionalProperties": False,
                    "properties": {"time": _WRITTEN_TIME, "outcome": {"type": "string"}, "count": {"type": "integer", "minimum": 1}},
                }}, "payments": _HOW_MANY}),
    "dropped": ("this subscriber fell behind (1,000 events or 4 MiB waiting), or more happened at once than the stream "
                "holds: `count` events are missing here", {"count": {"type": "integer", "minimum": 1}}),
}


def _event(type_: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", *fields],
        "additionalProperties": False,
        "properties": {"type": {"const": type_}, **fields},
    }


def _events(route: ControlRoute, dialect: Dialect) -> dict[str, Any]:
    lines = "".join(f"\n- `{name}`: {meaning}" for name, (meaning, _) in _EVENTS.items())
    # Each Server-Sent Event (its `data`, a JSON object), as OpenAPI 3.1 tools read an event stream's schema.
    event = {
        "type": "object",
        "required": ["data"],
        "properties": {
            "data": {
                "type": "string",
                "contentMediaType": JSON,
                "contentSchema": {"oneOf": [_event(name, fields) for name, (_, fields) in _EVENTS.items()]},
            }
        },
    }
    operation = _control_operation(route, dialect)
    operation["description"] = ("Each event is one `data:` line holding a JSON object with a `type`:" + lines
                                + f"\n\nEvents come in batches, at most one every {BATCH_S * 1000:g} ms, in the order things happened "
                                "but for what `skipped` says. Comment lines (`: keep-alive`) come every 15 s. The stream ends when "
                                "the server stops.")
    operation["responses"]["200"] = {"description": "The stream; the schema is that of each event",
                                     "content": {"text/event-stream": {"schema": event}}}
    return operation


def _schemas(dialect: Dialect) -> dict[str, Any]:
    bodies = [dialect.section.seed, *(operation.body for operation in dialect.operations.values() if operation.body)]
    answers = [dialect.stored, *(operation.answer for operation in dialect.operations.values() if isinstance(operation.answer, Model))]
    rule = rule_model(dialect.name).schema()
    return {
        "Error": {
            "type": "object",
            "required": ["type", "message"],
            "additionalProperties": False,
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
        },
        **{model.name: model.schema() for model in bodies},
        **{model.name: model.schema(written=True) for model in answers},
        "Rule": rule,
        "ActiveRule": {
            **rule,
            "required": ["id", "when", "then", "remaining"],
            "properties": {"id": {"type": "integer"}, **rule["properties"], "remaining": {"type": ["integer", "null"]}},
        },
        "JournalEntry": {
            "type": "object",
            "required": ["id", "time", "operation", "method", "path", "params", "owner", "authorization", "body",
                         "status", "response", "outcome", "rule", "duration_ms", "warnings"],
            "properties": {
                "id": {"type": "integer"},
                "time": _WRITTEN_TIME,
                "operation": {"enum": [*dialect.operations, None]},
                "method": {"type": "string"},
                "path": {"type": "string"},
                "params": {"type": "object", "additionalProperties": {"type": "string"}},
                "owner": {"type": ["string", "null"]},
                "authorization": {"type": ["string", "null"]},
                "status": {"type": ["integer", "null"]},
                "outcome": {"type": "string"},
                "rule": {"type": ["integer", "null"]},
                "duration_ms": {"type": "number"},
                "warnings": {"type": "array", "items": {"type": "string"}},
            },
        },
        "Clock": {
            "type": "object",
            "required": ["now", "frozen", "timezone"],
            "properties": {"now": _WRITTEN_TIME, "frozen": {"type": "boolean"}, "timezone": {"type": "string"}},
        },
        "Config": config_model(dialect.name).schema(written=True),
        "Sandbox": {
            "type": "object",
            "required": ["id", "scenario", "seed", "payments", "idle_s"],
            "additionalProperties": False,
            "properties": {"id": {"type": "string"}, "scenario": {"type": "string"}, "seed": {"type": "integer"},
                           "payments": {"type": "integer", "minimum": 0}, "idle_s": {"type": "number", "minimum": 0}},
        },
        "Sandboxes": {
            "type": "object",
            "required": ["limit", "idle_timeout_s", "live", "sandboxes"],
            "additionalProperties": False,
            "properties": {"limit": {"type": "integer", "minimum": 0}, "idle_timeout_s": {"type": "number"},
                           "live": {"type": "integer", "minimum": 0}, "sandboxes": {"type": "array", "items": _ref("Sandbox")}},
        },
        "State": {
            "type": "object",
            "required": ["scenario", "seed", "config", "clock", "rules", "stores", "payments"],
            "properties": {
                "scenario": {"type": "string"},
                "seed": {"type": "integer"},
                "config": _ref("Config"),
                "clock": _ref("Clock"),
                "rules": {"type": "array", "items": _ref("ActiveRule")},
                "sandboxes": _ref("Sandboxes"),
                "stores": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["githubId", "payments", "attempts"],
                        "properties": {"githubId": {"type": "string"}, "payments": {"type": "integer", "minimum": 0},
                                       "attempts": {"type": "integer", "minimum": 0}},
                    },
                },
                "payments": {"type": "array", "items": _ref("StoredPayment")},
            },
        },
    }


def openapi_document(dialect: Dialect) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``dialect``'s API and the control API."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fakepay",
            "version": "1",
            "description": f"A stateful fake of the {dialect.title}, and its control API under {PREFIX}.",
        },
        "paths": {**_public(dialect), **_control(dialect)},
        "components": {
            "schemas": _schemas(dialect),
            "securitySchemes": {"secret": {"type": "http", "scheme": "bearer", "description": _secured(dialect)}},
        },
    }

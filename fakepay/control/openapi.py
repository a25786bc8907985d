"""The OpenAPI 3 document of fakepay: the public CEOS payment API and the control API
(docs/api.md, docs/control-api.md), served at ``GET /__fakepay/openapi.json``."""

from __future__ import annotations

from typing import Any

from ..core.dialect import Dialect
from ..core.globs import MAX_GLOB
from ..core.rules import FAULTS, INT_MAX, MAX_RULES
from ..core.text import MAX_ID_LENGTH
from ..dialects.ceos.models import CURRENCIES
from ..dialects.ceos.payments import STATUSES
from ..dialects.ceos.secrets import AUTH_MODES

__all__ = ["openapi_document"]

JSON = "application/json"
_TEXT = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S"}
#: What fakepay writes: seconds always, microseconds at most.
_LOCAL_DATETIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"}
#: What fakepay reads, as Java's LocalDateTime.parse: seconds optional, up to nanoseconds.
_LOCAL_DATETIME_IN = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$"}
_ANY_OBJECT = {"type": "object", "additionalProperties": True}

_ERRORS = {
    400: "INVALID_REQUEST: malformed JSON, a bad field or path value",
    401: "UNAUTHORIZED: missing, malformed or unknown secret",
    404: "PAYMENT_NOT_FOUND, or NOT_FOUND for an unknown route",
    405: "METHOD_NOT_ALLOWED",
    409: "ALREADY_PAID, PAYMENT_ALREADY_CANCELLED or PAYMENT_NOT_PAID",
    413: "PAYLOAD_TOO_LARGE: a body over 1 MiB",
    415: "UNSUPPORTED_MEDIA_TYPE: an instant payment that is not JSON",
    500: "PAYMENT_FAILED: the simulated failure",
    503: "STATE_RESET: fakepay was reset while the request was in flight; not carried out",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): _json(_ref("Error"), _ERRORS[status]) for status in statuses}


def _path_parameter(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(**schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """Optional query parameters, by name and schema."""
    return [{"name": name, "in": "query", "required": False, "schema": schema} for name, schema in schemas.items()]


#: Any value but an empty one (an owner is any githubId, or any JWT's ``sub`` under ``any-jwt``).
_GIVEN = {"type": "string", "minLength": 1}
#: Whole numbers from 0, and from 1, to 999999999, written in digits.
_COUNT = {"type": "string", "pattern": "^[0-9]{1,9}$"}
_POSITIVE_COUNT = {"type": "string", "pattern": "^0*[1-9][0-9]*$", "maxLength": 9}


#: A path value once decoded (a paymentId, an owner): 1 to 256 characters, no "/" and no control characters.
_PATH_VALUE = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH, "pattern": "^[^/\\u0000-\\u001f\\u007f-\\u009f]+$"}
_PAYMENT_ID = _path_parameter("paymentId", _PATH_VALUE)
_SECURED: list[dict[str, list[str]]] = [{"secret": []}]


def _public() -> dict[str, Any]:
    return {
        "/auth/{githubId}": {
            "get": {
                "summary": "Issue the API secret of a githubId (the same every time)",
                "operationId": "auth",
                "parameters": [_path_parameter("githubId", {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$"})],
                "responses": {
                    "200": {"description": "The secret", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    **_errors(400, 500, 503),
                },
            }
        },
        "/payments/{paymentId}/instant": {
            "post": {
                "summary": "Pay",
                "operationId": "instant",
                "security": _SECURED,
                "parameters": [_PAYMENT_ID],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("InstantPaymentRequest")}}},
                "responses": {"200": _json(_ref("Receipt")), **_errors(400, 401, 409, 413, 415, 500, 503)},
            }
        },
        "/payments/{paymentId}/cancel": {
            "post": {
                "summary": "Cancel a paid payment (any body is ignored)",
                "operationId": "cancel",
                "security": _SECURED,
                "parameters": [_PAYMENT_ID],
                "responses": {"200": _json(_ref("Payment")), **_errors(400, 401, 404, 409, 500, 503)},
            }
        },
        "/payments/{paymentId}": {
            "get": {
                "summary": "Look a payment up",
                "operationId": "get",
                "security": _SECURED,
                "parameters": [_PAYMENT_ID],
                "responses": {"200": _json(_ref("Payment")), **_errors(400, 401, 404, 500, 503)},
            }
        },
    }


def _control_operation(summary: str, response: dict[str, Any], *, body: dict[str, Any] | None = None,
                       query: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": ["control"], "responses": {"200": _json(response), **_errors(400)}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    if query:
        operation["parameters"] = _query(**query)
    return operation


def _control() -> dict[str, Any]:
    rules = {"type": "object", "required": ["rules"], "properties": {"rules": {"type": "array", "items": _ref("ActiveRule")}}}
    journal = {"type": "object", "required": ["requests"], "properties": {"requests": {"type": "array", "items": _ref("JournalEntry")}}}
    return {
        "/__fakepay/health": {"get": _control_operation("Readiness", {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}})},
        "/__fakepay/state": {
            "get": _control_operation(
                "Config in force, rules, stores and payments (limit and offset page the payments; stores count them all)",
                _ref("State"),
                query={"owner": _GIVEN, "limit": _COUNT, "offset": _COUNT},
            )
        },
        "/__fakepay/reset": {
            "post": _control_operation(
                "Back to the scenario's start (or one owner's)",
                {"type": "object", "required": ["reset", "owner"], "properties": {"reset": {"enum": ["all", "owner"]}, "owner": {"type": ["string", "null"]}}},
                query={"owner": _GIVEN},
            )
        },
        "/__fakepay/scenario": {
            "get": _control_operation("The loaded scenario", _ANY_OBJECT),
            "put": _control_operation("Load a scenario (YAML or JSON)", _ANY_OBJECT, body=_ANY_OBJECT),
        },
        "/__fakepay/scenarios": {
            "get": _control_operation(
                "The names of the scenarios shipped with fakepay",
                {"type": "object", "required": ["scenarios"], "properties": {"scenarios": {"type": "array", "items": {"type": "string"}}}},
            )
        },
        "/__fakepay/scenarios/{name}": {"post": _load_shipped()},
        "/__fakepay/config": {"patch": _control_operation("Change part of the config until reset", _ref("Config"), body=_ANY_OBJECT)},
        "/__fakepay/payments": {
            "post": _control_operation(
                "Seed payments",
                {"type": "object", "required": ["payments"], "properties": {"payments": {"type": "array", "items": _ref("StoredPayment")}}},
                body={
                    "oneOf": [
                        {"type": "array", "items": _ref("SeedPayment")},
                        _ref("SeedPayment"),
                        {"type": "object", "required": ["payments"], "additionalProperties": False,
                         "properties": {"payments": {"type": "array", "items": _ref("SeedPayment")}}},
                    ]
                },
            )
        },
        "/__fakepay/rules": {
            "get": _control_operation("The rules in force", rules),
            "post": _add_rule(),
            "delete": _control_operation("Clear the rules", rules),
        },
        "/__fakepay/rules/{id}": {"delete": _delete_rule(rules)},
        "/__fakepay/clock": {
            "post": _control_operation(
                "Freeze, advance or resume the clock",
                _ref("Clock"),
                body={
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": False,
                    "properties": {
                        "freeze": {"oneOf": [_LOCAL_DATETIME_IN, {"const": True}]},
                        "advance_ms": {"type": "number", "minimum": -3.1536e12, "maximum": 3.1536e12},
                        "resume": {"const": True},
                    },
                },
            )
        },
        "/__fakepay/requests": {
            "get": _control_operation(
                "The request journal",
                journal,
                query={"method": _GIVEN, "path": {**_GIVEN, "maxLength": MAX_GLOB}, "owner": _GIVEN, "paymentId": _GIVEN,
                       "operation": _GIVEN, "limit": _POSITIVE_COUNT},
            ),
            "delete": _control_operation("Clear the journal", journal),
        },
        "/__fakepay/events": {"get": _events()},
        "/__fakepay/openapi.json": {"get": _control_operation("This document", _ANY_OBJECT)},
        "/__fakepay/api": {"get": _api()},
        "/__fakepay/payments/{owner}/{paymentId}": {
            "get": {
                **_control_operation("One stored payment, with every field", _ref("StoredPayment")),
                "parameters": [_path_parameter("owner", _PATH_VALUE), _PAYMENT_ID],
                "responses": {"200": _json(_ref("StoredPayment")), **_errors(400, 404)},
            }
        },
        "/__fakepay/secrets/{githubId}": {
            "get": {
                **_control_operation(
                    "The API secret of a githubId, as GET /auth answers it but not journaled",
                    {"type": "object", "required": ["githubId", "secret"],
                     "properties": {"githubId": {"type": "string"}, "secret": {"type": "string"}}},
                ),
                "parameters": [_path_parameter("githubId", {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$"})],
            }
        },
        "/__fakepay/": {
            "get": {
                "summary": "The dashboard: a page that shows and steers this fakepay (asks for the control token itself)",
                "tags": ["control"],
                "responses": {"200": {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}}},
            }
        },
    }


def _load_shipped() -> dict[str, Any]:
    loaded = {"type": "object", "required": ["scenario", "seed"], "properties": {"scenario": {"type": "string"}, "seed": {"type": "integer"}}}
    operation = _control_operation("Load a shipped scenario by name", loaded)
    operation["parameters"] = [_path_parameter("name", _PATH_VALUE)]
    operation["responses"]["404"] = _json(_ref("Error"), "NOT_FOUND: no shipped scenario by that name")
    return operation


def _add_rule() -> dict[str, Any]:
    operation = _control_operation("Add a rule", _ref("ActiveRule"), body=_ref("Rule"))
    operation["responses"]["409"] = _json(_ref("Error"), f"TOO_MANY_RULES: {MAX_RULES} rules are in force already")
    return operation


def _delete_rule(rules: dict[str, Any]) -> dict[str, Any]:
    operation = _control_operation("Delete one rule; answers the rules left", rules)
    operation["parameters"] = [_path_parameter("id", {"type": "string", "pattern": "^[0-9]{1,18}$"})]
    operation["responses"]["404"] = _json(_ref("Error"), "NOT_FOUND: no rule with that id")
    return operation


def _api() -> dict[str, Any]:
    def items(**properties: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "required": list(properties), "additionalProperties": False, "properties": properties}

    def listed(**properties: dict[str, Any]) -> dict[str, Any]:
        return {"type": "array", "items": items(**properties)}

    text = {"type": "string"}
    texts = {"type": "array", "items": text}
    return _control_operation(
        "The API in force: its operations and their routes, the conditions its rules may set, a payment's statuses "
        "and the fields a row of payments shows",
        items(
            name=text,
            title=text,
            operations=listed(name=text, method=text, path=text, param=text, changes={"type": "boolean"}),
            matchers=listed(key=text, kind={"enum": ["glob", "text", "choice", "amount"]}, choices=texts),
            payments=items(statuses=texts, columns=listed(key=text, title=text,
                                                          kind={"enum": ["id", "status", "amount", "count", "time", "text"]},
                                                          unit={"type": ["string", "null"]})),
        ),
    )


_OWNER_OR_ALL = {"type": ["string", "null"]}
#: What the event stream sends: each event's ``type``, what it means, and its other fields.
_EVENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "ready": ("first, once subscribed: what happens from now on is sent", {}),
    "request": ("a journal entry recorded", {"request": _ref("JournalEntry")}),
    "payment": ("a payment stored or changed", {"payment": _ref("StoredPayment")}),
    "reset": ("back to the scenario's start (`owner`: only that owner's; null: everything)", {"owner": _OWNER_OR_ALL}),
    "scenario": ("a scenario loaded", {"scenario": {"type": "string"}, "seed": {"type": "integer"}}),
    "config": ("the configuration changed", {"config": _ref("Config")}),
    "rule": ("a rule added, or its count used: that rule", {"rule": _ref("ActiveRule")}),
    "rule_deleted": ("a rule deleted: its id", {"id": {"type": "integer"}}),
    "rules": ("the rules cleared: an empty list", {"rules": {"type": "array", "maxItems": 0}}),
    "clock": ("the clock frozen, advanced or resumed", {"clock": _ref("Clock")}),
    "requests_cleared": ("journal entries dropped (`owner`: only that owner's; null: all)", {"owner": _OWNER_OR_ALL}),
    "dropped": ("this subscriber fell behind (1,000 events or 4 MiB waiting): `count` events were skipped here",
                {"count": {"type": "integer", "minimum": 1}}),
}


def _event(type_: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", *fields],
        "additionalProperties": False,
        "properties": {"type": {"const": type_}, **fields},
    }


def _events() -> dict[str, Any]:
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
    return {
        "summary": "Server-Sent Events: every journal entry and change of state as it happens",
        "description": "Each event is one `data:` line holding a JSON object with a `type`:" + lines
                       + "\n\nComment lines (`: keep-alive`) come every 15 s. The stream ends when the server stops.",
        "tags": ["control"],
        "responses": {
            "200": {"description": "The stream; the schema is that of each event", "content": {"text/event-stream": {"schema": event}}},
            **_errors(400),
        },
    }


def _schemas(dialect: Dialect) -> dict[str, Any]:
    payment_fields = {
        "owner": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$"},
        "paymentId": _PATH_VALUE,
        "storeId": _TEXT,
        "orderName": _TEXT,
        "totalPayAmount": {"type": "integer", "minimum": 1, "maximum": INT_MAX},
        "currency": {"enum": list(CURRENCIES)},
        "customData": {"type": ["string", "null"]},
    }
    stored_fields = {
        **payment_fields,
        "status": {"enum": list(STATUSES)},
        "paidAt": {"oneOf": [_LOCAL_DATETIME, {"type": "null"}]},
        "attempts": {"type": "integer", "minimum": 1},
        "createdAt": _LOCAL_DATETIME,
        "updatedAt": _LOCAL_DATETIME,
    }
    seed_fields = {
        **payment_fields,
        "status": {"enum": [*STATUSES, None]},
        "paidAt": {"oneOf": [_LOCAL_DATETIME_IN, {"type": "null"}]},
    }
    required = ["owner", "paymentId", "storeId", "orderName", "totalPayAmount", "currency"]
    return {
        "Error": {
            "type": "object",
            "required": ["type", "message"],
            "additionalProperties": False,
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
        },
        "InstantPaymentRequest": {
            "type": "object",
            "required": ["storeId", "orderName", "totalPayAmount", "currency"],
            "properties": {k: payment_fields[k] for k in ("storeId", "orderName", "totalPayAmount", "currency", "customData")},
        },
        "Receipt": {
            "type": "object",
            "required": ["paymentId", "paidAt"],
            "additionalProperties": False,
            "properties": {"paymentId": {"type": "string"}, "paidAt": _LOCAL_DATETIME},
        },
        "Payment": {
            "type": "object",
            "required": ["paymentId", "paymentStatus", "orderName", "pgProvider", "currency", "customData", "paidAt"],
            "additionalProperties": False,
            "properties": {
                "paymentId": {"type": "string"},
                "paymentStatus": {"enum": list(STATUSES)},
                "orderName": {"type": "string"},
                "pgProvider": {"const": "CEOS_PAY"},
                "currency": {"enum": list(CURRENCIES)},
                "customData": {"type": ["string", "null"]},
                "paidAt": {"oneOf": [_LOCAL_DATETIME, {"type": "null"}]},
            },
        },
        "SeedPayment": {"type": "object", "required": required, "additionalProperties": False, "properties": seed_fields},
        "StoredPayment": {
            "type": "object",
            "required": [*required, "status", "paidAt", "attempts", "createdAt", "updatedAt"],
            "properties": stored_fields,
        },
        "Rule": {
            "type": "object",
            "required": ["then"],
            "properties": {
                "when": {
                    "type": "object",
                    "properties": {
                        "operation": {"enum": list(dialect.operations)},
                        "owner": {"type": "string"},
                        "paymentId": {"type": "string", "description": "glob"},
                        "storeId": {"type": "string"},
                        "orderName": {"type": "string", "description": "glob"},
                        "currency": {"enum": list(CURRENCIES)},
                        "totalPayAmount": {"oneOf": [{"type": "integer"}, {"type": "object"}]},
                    },
                },
                "then": {"oneOf": [{"enum": list(FAULTS)}, {"type": "object"}]},
                "times": {"type": "integer", "minimum": 1},
            },
        },
        "ActiveRule": {
            "allOf": [_ref("Rule")],
            "type": "object",
            "required": ["id", "when", "then", "remaining"],
            "properties": {"id": {"type": "integer"}, "remaining": {"type": ["integer", "null"]}},
        },
        "JournalEntry": {
            "type": "object",
            "required": ["id", "time", "operation", "method", "path", "params", "owner", "authorization", "body",
                         "status", "response", "outcome", "rule", "duration_ms", "warnings"],
            "properties": {
                "id": {"type": "integer"},
                "time": _LOCAL_DATETIME,
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
            "properties": {"now": _LOCAL_DATETIME, "frozen": {"type": "boolean"}, "timezone": {"type": "string"}},
        },
        "Config": _config(),
        "State": {
            "type": "object",
            "required": ["scenario", "seed", "config", "clock", "rules", "stores", "payments"],
            "properties": {
                "scenario": {"type": "string"},
                "seed": {"type": "integer"},
                "config": _ref("Config"),
                "clock": _ref("Clock"),
                "rules": {"type": "array", "items": _ref("ActiveRule")},
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


def _config() -> dict[str, Any]:
    """The configuration in force, as ``/state``, ``PATCH /config`` and the ``config`` event show it."""

    def group(**properties: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "required": list(properties), "properties": properties}

    count = {"type": "integer", "minimum": 0}
    return group(
        name={"type": "string"},
        seed={"type": "integer"},
        clock=group(timezone={"type": "string"}, frozen_at={"oneOf": [_LOCAL_DATETIME, {"type": "null"}]}),
        auth=group(mode={"enum": list(AUTH_MODES)}, signing_key={"type": "string"}),
        failure=group(rate={"type": "number", "minimum": 0, "maximum": 1}, status={"type": "integer"},
                      reuse_failed_payment_id={"type": "boolean"}),
        latency=group(fixed_ms=count, jitter_ms=count),
        journal=group(max_entries={"type": "integer", "minimum": 1}),
    )


def openapi_document(dialect: Dialect) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``dialect``'s API and the control API."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fakepay",
            "version": "1",
            "description": "A stateful fake of the CEOS payment server, and its control API under /__fakepay.",
        },
        "paths": {**_public(), **_control()},
        "components": {
            "schemas": _schemas(dialect),
            "securitySchemes": {"secret": {"type": "http", "scheme": "bearer", "description": "The secret of GET /auth/{githubId}"}},
        },
    }

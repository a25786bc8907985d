"""The OpenAPI 3 document of fakepay: the public CEOS payment API and the control API
(README: "The API, with curl", "The control API"), served at ``GET /__fakepay/openapi.json``."""

from __future__ import annotations

from typing import Any

from .payments import STATUSES
from .rules import FAULTS, MAX_RULES, OPERATIONS
from .validation import CURRENCIES, INT_MAX

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


def _query(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in names]


_PAYMENT_ID = _path_parameter("paymentId", {"type": "string", "minLength": 1, "maxLength": 256})
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
                       query: tuple[str, ...] = ()) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": ["control"], "responses": {"200": _json(response), **_errors(400)}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    if query:
        operation["parameters"] = _query(*query)
    return operation


def _control() -> dict[str, Any]:
    rules = {"type": "object", "required": ["rules"], "properties": {"rules": {"type": "array", "items": _ref("ActiveRule")}}}
    journal = {"type": "object", "required": ["requests"], "properties": {"requests": {"type": "array", "items": _ref("JournalEntry")}}}
    clock = {
        "type": "object",
        "required": ["now", "frozen", "timezone"],
        "properties": {"now": _LOCAL_DATETIME, "frozen": {"type": "boolean"}, "timezone": {"type": "string"}},
    }
    return {
        "/__fakepay/health": {"get": _control_operation("Readiness", {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}})},
        "/__fakepay/state": {"get": _control_operation("Config in force, rules, stores and payments", _ref("State"), query=("owner",))},
        "/__fakepay/reset": {
            "post": _control_operation(
                "Back to the scenario's start (or one owner's)",
                {"type": "object", "required": ["reset", "owner"], "properties": {"reset": {"enum": ["all", "owner"]}, "owner": {"type": ["string", "null"]}}},
                query=("owner",),
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
        "/__fakepay/config": {"patch": _control_operation("Change part of the config until reset", _ANY_OBJECT, body=_ANY_OBJECT)},
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
                clock,
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
            "get": _control_operation("The request journal", journal, query=("method", "path", "owner", "paymentId", "operation", "limit")),
            "delete": _control_operation("Clear the journal", journal),
        },
        "/__fakepay/events": {"get": _events()},
        "/__fakepay/openapi.json": {"get": _control_operation("This document", _ANY_OBJECT)},
        "/__fakepay/payments/{owner}/{paymentId}": {
            "get": {
                **_control_operation("One stored payment, with every field", _ref("StoredPayment")),
                "parameters": [_path_parameter("owner", {"type": "string", "minLength": 1}), _PAYMENT_ID],
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
    operation["parameters"] = [_path_parameter("name", {"type": "string"})]
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


_EVENT_TYPES = {
    "ready": "first, once subscribed: what happens from now on is sent",
    "request": "a journal entry recorded: `request` (a JournalEntry)",
    "payment": "a payment stored or changed: `payment` (a StoredPayment)",
    "reset": "back to the scenario's start: `owner` (null: everything)",
    "scenario": "a scenario loaded: `scenario` (its name), `seed`",
    "config": "the configuration changed: `config`",
    "rule": "a rule added, or its count used: `rule` (that ActiveRule)",
    "rule_deleted": "a rule deleted: `id`",
    "rules": "the rules cleared: `rules` (an empty list)",
    "clock": "the clock frozen, advanced or resumed: `clock`",
    "requests_cleared": "journal entries dropped: `owner` (null: all)",
    "dropped": "this subscriber fell over 1,000 events behind; `count` events were skipped here",
}


def _events() -> dict[str, Any]:
    lines = "".join(f"\n- `{name}`: {meaning}" for name, meaning in _EVENT_TYPES.items())
    return {
        "summary": "Server-Sent Events: every journal entry and change of state as it happens",
        "description": "Each event is one `data:` line holding a JSON object with a `type`:" + lines
                       + "\n\nComment lines (`: keep-alive`) come every 15 s. The stream ends when the server stops.",
        "tags": ["control"],
        "responses": {
            "200": {"description": "The stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            **_errors(400),
        },
    }


def _schemas() -> dict[str, Any]:
    payment_fields = {
        "owner": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$"},
        "paymentId": {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[^/\\u0000-\\u001f\\u007f-\\u009f]+$"},
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
                        "operation": {"enum": list(OPERATIONS)},
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
                "operation": {"enum": [*OPERATIONS, None]},
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
        "State": {
            "type": "object",
            "required": ["scenario", "seed", "config", "clock", "rules", "stores", "payments"],
            "properties": {
                "scenario": {"type": "string"},
                "seed": {"type": "integer"},
                "config": {"type": "object"},
                "clock": {"type": "object"},
                "rules": {"type": "array", "items": _ref("ActiveRule")},
                "stores": {"type": "array", "items": {"type": "object"}},
                "payments": {"type": "array", "items": _ref("StoredPayment")},
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the public and control APIs."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fakepay",
            "version": "1",
            "description": "A stateful fake of the CEOS payment server, and its control API under /__fakepay.",
        },
        "paths": {**_public(), **_control()},
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"secret": {"type": "http", "scheme": "bearer", "description": "The secret of GET /auth/{githubId}"}},
        },
    }

"""The CEOS payment request, its fields declared once (what ``POST /payments/{paymentId}/instant``
and a seeded payment check, and their schemas), and how its body is parsed."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

from ...core.errors import InvalidRequest
from ...core.fields import Choice, Field, Integer, Model, Text
from ...core.rules import INT_MAX
from ...core.text import MAX_SHOWN, describe, did_you_mean, show

__all__ = [
    "CURRENCIES",
    "INSTANT",
    "INSTANT_FIELDS",
    "TEXT",
    "InstantPaymentRequest",
    "parse_instant_request",
    "unknown_field_warnings",
]

CURRENCIES = ("KRW", "USD")
#: A payment's text: not blank, at most 200 characters.
TEXT = Text(max_length=200, blank=False)
#: The body of ``POST /payments/{paymentId}/instant``; unknown fields are ignored, with a warning.
INSTANT = Model("InstantPaymentRequest", (
    Field("storeId", TEXT, required=True, description="The store's id."),
    Field("orderName", TEXT, required=True, description="What is paid for."),
    Field("totalPayAmount", Integer(1, INT_MAX, request=True), required=True, description="A JSON integer."),
    Field("currency", Choice(CURRENCIES, request=True), required=True),
    Field("customData", Text(null=True), description="Any text the client keeps with the payment."),
), open=True)
INSTANT_FIELDS = INSTANT.names
#: At most this many unknown fields are named in warnings; the rest are counted.
MAX_WARNINGS = 10


class InstantPaymentRequest(NamedTuple):
    """A valid body of ``POST /payments/{paymentId}/instant``."""

    store_id: str
    order_name: str
    total_pay_amount: int
    currency: str
    custom_data: str | None


def parse_instant_request(body: Any) -> tuple[InstantPaymentRequest, list[str]]:
    """The request and its warnings (unknown fields), or ``InvalidRequest`` naming every bad field."""
    if type(body) is not dict:
        raise InvalidRequest(f"request body must be a JSON object, got {describe(body)}")
    problems = INSTANT.problems(body)
    if problems:
        raise InvalidRequest(_invalid_request_message(body, problems))
    custom_data = body.get("customData")
    warnings = []
    if len(body) > 4 + ("customData" in body):  # the four required fields are there: others are unknown
        warnings = unknown_field_warnings([name for name in body if name not in INSTANT_FIELDS])
    request = InstantPaymentRequest(body["storeId"], body["orderName"], body["totalPayAmount"], body["currency"], custom_data)
    return request, warnings


def _invalid_request_message(body: dict[str, Any], problems: dict[str, str]) -> str:
    """Every problem, then the warning of each unknown field (of the first ``MAX_WARNINGS``) that
    looks like a misspelling of a field with a problem: ``totalPayAmount is required; unknown field
    'amount' ignored; did you mean 'totalPayAmount'?``."""
    unknown = itertools.islice((name for name in body if name not in INSTANT_FIELDS), MAX_WARNINGS)
    hints = [warning for warning, close in map(_unknown_field, unknown) if close in problems]
    return f"invalid {INSTANT.name}: " + "; ".join([f"{name} {problem}" for name, problem in problems.items()] + hints)


def _unknown_field(name: str) -> tuple[str, str | None]:
    """The warning of an unknown field of an instant payment, and the field it may be a misspelling of."""
    close = did_you_mean(name, INSTANT_FIELDS) if len(name) <= MAX_SHOWN else None
    hint = f"; did you mean '{close}'?" if close else ""
    return f"unknown field {show(name)} ignored{hint}", close


def unknown_field_warnings(names: Sequence[str]) -> list[str]:
    """``unknown field 'amount' ignored; did you mean 'totalPayAmount'?`` for the first
    ``MAX_WARNINGS`` unknown fields of an instant payment, then how many more."""
    warnings = [warning for warning, _ in map(_unknown_field, names[:MAX_WARNINGS])]
    if len(names) > MAX_WARNINGS:
        warnings.append(f"and {len(names) - MAX_WARNINGS} more unknown fields ignored")
    return warnings

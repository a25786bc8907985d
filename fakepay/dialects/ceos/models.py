"""The CEOS payment request's fields and their rules, shared by the API and seeded scenarios."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from ...core.errors import InvalidRequest
from ...core.rules import INT_MAX
from ...core.text import MAX_SHOWN, describe, did_you_mean, show

__all__ = [
    "CURRENCIES",
    "INSTANT_FIELDS",
    "PAYMENT_CHECKS",
    "InstantPaymentRequest",
    "check_amount",
    "check_currency",
    "check_custom_data",
    "check_text",
    "parse_instant_request",
    "unknown_field_warnings",
]

CURRENCIES = ("KRW", "USD")
TEXT_MAX = 200
INSTANT_FIELDS = ("storeId", "orderName", "totalPayAmount", "currency", "customData")
#: At most this many unknown fields are named in warnings; the rest are counted.
MAX_WARNINGS = 10


class InstantPaymentRequest(NamedTuple):
    """A valid body of ``POST /payments/{paymentId}/instant``."""

    store_id: str
    order_name: str
    total_pay_amount: int
    currency: str
    custom_data: str | None


def _unicode_length(value: str) -> int | None:
    """The length as Java counts it (UTF-16 units), or None for text that is not valid Unicode."""
    if value.isascii():
        return len(value)
    try:
        return len(value.encode("utf-16-le")) // 2
    except UnicodeEncodeError:
        return None


#: What is wrong with a field's value, or None.
_Check = Callable[[Any], str | None]


def _required(check: _Check) -> _Check:
    """``check`` for a field that must be given: a missing (null) one "is required"."""

    @functools.wraps(check)
    def checked(value: Any) -> str | None:
        return "is required" if value is None else check(value)

    return checked


@_required
def check_text(value: Any) -> str | None:
    """What is wrong with a required text field (``storeId``, ``orderName``), or None."""
    if type(value) is not str:
        return f"must be a string, got {describe(value)}"
    length = _unicode_length(value)
    if length is None:
        return "must be valid Unicode text"
    if not value or value.isspace():
        return "must not be blank"
    if length > TEXT_MAX:
        return f"must be at most {TEXT_MAX} characters, got {length}"
    return None


@_required
def check_amount(value: Any) -> str | None:
    """What is wrong with ``totalPayAmount``, or None."""
    if type(value) is not int:
        return f"must be an integer from 1 to {INT_MAX}, got {describe(value)}"
    if not 1 <= value <= INT_MAX:
        return f"must be an integer from 1 to {INT_MAX}, got {value}"
    return None


@_required
def check_currency(value: Any) -> str | None:
    """What is wrong with ``currency``, or None."""
    if value not in CURRENCIES or type(value) is not str:
        return f"must be 'KRW' or 'USD', got {show(value)}"
    return None


def check_custom_data(value: Any) -> str | None:
    """What is wrong with ``customData`` (optional text), or None."""
    if value is None:
        return None
    if type(value) is not str:
        return f"must be a string or null, got {describe(value)}"
    if _unicode_length(value) is None:
        return "must be valid Unicode text"
    return None


#: Each field of an instant payment (and of a seeded one) with what checks it.
PAYMENT_CHECKS = (
    ("storeId", check_text),
    ("orderName", check_text),
    ("totalPayAmount", check_amount),
    ("currency", check_currency),
    ("customData", check_custom_data),
)


def parse_instant_request(body: Any) -> tuple[InstantPaymentRequest, list[str]]:
    """The request and its warnings (unknown fields), or ``InvalidRequest`` naming every bad field."""
    if type(body) is not dict:
        raise InvalidRequest(f"request body must be a JSON object, got {describe(body)}")
    problems = None
    for name, check in PAYMENT_CHECKS:
        problem = check(body.get(name))
        if problem is not None:
            problems = problems or {}
            problems[name] = problem
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
    return "invalid InstantPaymentRequest: " + "; ".join([f"{name} {problem}" for name, problem in problems.items()] + hints)


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

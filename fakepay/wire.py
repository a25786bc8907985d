"""The wire format of the CEOS payment API: JSON bodies byte for byte, ``LocalDateTime`` text,
and strict decoding of path values. No HTTP here, only bytes and text."""

from __future__ import annotations

import json
import re
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any
from urllib.parse import unquote_to_bytes

from .errors import FakePayError, InvalidRequest
from .payments import Payment
from .validation import show

__all__ = [
    "decode_path_value",
    "dumps",
    "encode_error",
    "encode_payment",
    "encode_receipt",
    "format_local_datetime",
    "loads",
    "loads_strict",
    "nested_deeper_than",
    "parse_local_datetime",
    "path_value_problem",
    "printable",
]

MAX_ID_LENGTH = 256
#: Control API bodies nest at most this deep.
MAX_DEPTH = 32
_SAFE_SEGMENT = re.compile(r"[!-$&-~]{1,256}")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f/]")
_CONTROL_OR_SURROGATE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_LOCAL_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?", re.ASCII)


def _utf8(text: str) -> bytes:
    """JSON text as UTF-8; a lone surrogate (not encodable) is written as its ``\\uXXXX`` escape."""
    return text.encode("utf-8", "backslashreplace")


def dumps(value: Any) -> bytes:
    """Compact JSON in UTF-8 with non-ASCII text unescaped, as Jackson writes it."""
    return _utf8(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {show(key)}")
            seen.add(key)
    return data


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_STRICT_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique_keys)


def loads(body: bytes) -> Any:
    """Parse a JSON body (UTF-8 only, no NaN or Infinity; of duplicate keys the last wins, as
    Jackson reads them), or ``InvalidRequest``."""
    return _decode(body, _DECODER)


def loads_strict(body: bytes) -> Any:
    """Parse a JSON body as ``loads`` does, also refusing duplicate keys and nesting deeper
    than ``MAX_DEPTH``: for the control API, where a mistake should not pass silently."""
    value = _decode(body, _STRICT_DECODER)
    if nested_deeper_than(value, MAX_DEPTH):
        raise InvalidRequest(f"JSON is nested deeper than {MAX_DEPTH} levels")
    return value


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects in ``value`` nest deeper than ``limit`` (without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


_OPENERS = ("{", "[")


def _decode(body: bytes, decoder: json.JSONDecoder) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("request body is not valid UTF-8") from None
    try:
        if text[:1] in _OPENERS:  # as bodies mostly are: no white space around, and nothing after
            value, end = decoder.raw_decode(text)
            if end == len(text):
                return value
        return decoder.decode(text)  # white space around, or something after: decode says what
    except json.JSONDecodeError as error:
        if not text.strip():
            raise InvalidRequest("request body is empty; a JSON object is required") from None
        raise InvalidRequest(
            f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except (ValueError, RecursionError) as error:
        raise InvalidRequest(f"malformed JSON: {error}") from None


def format_local_datetime(value: datetime) -> str:
    """Java's ``ISO_LOCAL_DATE_TIME``: ``2025-10-22T20:21:35.5294``, fraction zeros trimmed."""
    text = value.isoformat()
    return text.rstrip("0") if value.microsecond else text


def parse_local_datetime(text: str) -> datetime | None:
    """Parse what ``LocalDateTime.parse`` accepts (fraction beyond microseconds truncated)."""
    match = _LOCAL_DATETIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        return None


def decode_path_value(raw: str) -> str:
    """Percent-decode one raw path segment strictly: valid ``%XX`` escapes, valid UTF-8, 1–256
    characters, no ``/`` and no control characters; anything else is ``InvalidRequest``."""
    if _SAFE_SEGMENT.fullmatch(raw):
        return raw
    if _PERCENT.search(raw):
        raise InvalidRequest(f"path value {show(raw)} has a '%' that does not start a valid %XX escape")
    try:
        value = unquote_to_bytes(raw.encode("utf-8")).decode("utf-8")
    except UnicodeError:
        raise InvalidRequest(f"path value {show(raw)} is not valid UTF-8 once percent-decoded") from None
    problem = path_value_problem(value)
    if problem is not None:
        raise InvalidRequest(f"path value {show(raw)} {problem}")
    return value


def path_value_problem(value: str) -> str | None:
    """What is wrong with a decoded path value (a paymentId, also a seeded one), or None."""
    if not 1 <= len(value) <= MAX_ID_LENGTH:
        return f"must be 1 to {MAX_ID_LENGTH} characters once decoded"
    if _CONTROL.search(value):
        return "must not contain '/' or control characters"
    if not printable(value):
        return "must be valid Unicode text"
    return None


def printable(text: str) -> bool:
    """Whether ``text`` is valid Unicode (no lone surrogates) with no control characters: safe
    to write into a terminal, a log or UTF-8 bytes."""
    return not _CONTROL_OR_SURROGATE.search(text)


def encode_receipt(payment: Payment) -> bytes:
    """The answer to a successful instant payment: ``{"paymentId", "paidAt"}``."""
    return _utf8(f'{{"paymentId":{encode_basestring(payment.payment_id)},"paidAt":{_paid_at(payment)}}}')


def encode_payment(payment: Payment) -> bytes:
    """The payment object the lookup and the cancel answer with."""
    custom_data = payment.custom_data
    return _utf8(
        f'{{"paymentId":{encode_basestring(payment.payment_id)},"paymentStatus":"{payment.status}",'
        f'"orderName":{encode_basestring(payment.order_name)},"pgProvider":"CEOS_PAY","currency":"{payment.currency}",'
        f'"customData":{"null" if custom_data is None else encode_basestring(custom_data)},'
        f'"paidAt":{_paid_at(payment)}}}'
    )


def _paid_at(payment: Payment) -> str:
    paid_at = payment.paid_at
    return "null" if paid_at is None else f'"{format_local_datetime(paid_at)}"'


def encode_error(error: FakePayError) -> bytes:
    """``{"type": ..., "message": ...}``."""
    return dumps({"type": error.type, "message": error.message})

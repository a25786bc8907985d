"""JSON as fakepay reads and writes it: compact UTF-8 with non-ASCII text as is (as Jackson writes
it), strict decoding with every problem an ``InvalidRequest``."""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import InvalidRequest
from .text import show

__all__ = ["MAX_DEPTH", "dumps", "loads", "loads_finite", "loads_strict", "nested_deeper_than", "utf8"]

#: Control API bodies nest at most this deep.
MAX_DEPTH = 32


def utf8(text: str) -> bytes:
    """JSON text as UTF-8; a lone surrogate (not encodable) is written as its ``\\uXXXX`` escape."""
    return text.encode("utf-8", "backslashreplace")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(value: Any) -> bytes:
    """Compact JSON in UTF-8 with non-ASCII text unescaped, as Jackson writes it."""
    return utf8(_ENCODER.encode(value))


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


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is beyond a float")
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_STRICT_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
_FINITE_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite)


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


def loads_finite(text: str) -> Any:
    """Parse JSON text that ``dumps`` can write back as JSON: no NaN or Infinity, no number
    beyond a float (of duplicate keys the last wins); ``ValueError`` otherwise."""
    return _FINITE_DECODER.decode(text)


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

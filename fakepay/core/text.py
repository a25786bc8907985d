"""Text as fakepay quotes and checks it: values in messages, suggestions for misspelt names, and
the strict reading of path values."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any
from urllib.parse import unquote_to_bytes

from .errors import InvalidRequest

__all__ = [
    "CONTROL_PATTERN",
    "MAX_ID_LENGTH",
    "PRINTABLE_PATTERN",
    "decode_path_value",
    "describe",
    "did_you_mean",
    "path_value_problem",
    "printable",
    "printable_problem",
    "show",
    "suggestion",
]

#: Text quoted in a message is cut to this many characters.
MAX_SHOWN = 64
#: A path value (an id) is at most this many characters once decoded.
MAX_ID_LENGTH = 256
_SAFE_SEGMENT = re.compile(r"[!-$&-~]{1,256}")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: The control characters, as a character class's ranges in Python's and JSON Schema's words.
CONTROL_PATTERN = "\\u0000-\\u001f\\u007f-\\u009f"
#: Text without control characters, in JSON Schema's words (which cannot name lone surrogates).
PRINTABLE_PATTERN = f"^[^{CONTROL_PATTERN}]*$"
_CONTROL = re.compile(f"[{CONTROL_PATTERN}/]")
_CONTROL_OR_SURROGATE = re.compile(f"[{CONTROL_PATTERN}\\ud800-\\udfff]")


def describe(value: Any, yaml: bool = False) -> str:
    """What kind of value this is, in JSON's words (or YAML's: mapping, list, nothing)."""
    if value is None:
        return "nothing" if yaml else "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list" if yaml else "an array"
    if isinstance(value, dict):
        return "a mapping" if yaml else "an object"
    return type(value).__name__


def show(value: Any, yaml: bool = False) -> str:
    """A value as a message quotes it: text (cut to ``MAX_SHOWN`` characters, control characters
    escaped) and numbers as written (a huge integer by its size), anything else by its kind."""
    if isinstance(value, str):
        return repr(value[:MAX_SHOWN]) + ("…" if len(value) > MAX_SHOWN else "")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if abs(value) < 10**MAX_SHOWN else f"an integer of {value.bit_length()} bits"
    if isinstance(value, float):
        return str(value)
    return describe(value, yaml)


def did_you_mean(name: str, known: Collection[str]) -> str | None:
    """The known name closest to ``name``, if one is close enough to be a likely typo. Where all
    known names start alike (``FAKEPAY_HOST``, ``FAKEPAY_PORT``), only what follows is compared."""
    import difflib
    import os.path

    lowered = {k.lower(): k for k in known}
    low = name.lower()
    if low in lowered:
        return lowered[low]
    common = os.path.commonprefix(list(lowered)) if len(lowered) > 1 else ""  # noqa: RUF071 (names, not paths)
    if common and low.startswith(common):
        rest = {k[len(common):]: k for k in known}
        close = did_you_mean(name[len(common):], rest)
        return None if close is None else rest[close]
    matches = difflib.get_close_matches(low, lowered, n=1, cutoff=0.6)
    if matches:
        return lowered[matches[0]]
    containing = [k for lk, k in lowered.items() if len(low) >= 3 and (low in lk or lk in low)]
    return containing[0] if len(containing) == 1 else None


def suggestion(name: str, known: Collection[str]) -> str:
    """``; did you mean 'X'?`` for the known name ``X`` closest to ``name``, or nothing."""
    close = did_you_mean(name, known)
    return f"; did you mean '{close}'?" if close else ""


def printable(text: str) -> bool:
    """Whether ``text`` is valid Unicode (no lone surrogates) with no control characters: safe
    to write into a terminal, a log or UTF-8 bytes."""
    return not _CONTROL_OR_SURROGATE.search(text)


def printable_problem(value: str) -> str | None:
    """What is wrong with text that must be printable, or None."""
    return None if printable(value) else "must be printable Unicode text (no control characters)"


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
    """What is wrong with a decoded path value (an id, also a seeded one), or None."""
    if not 1 <= len(value) <= MAX_ID_LENGTH:
        return f"must be 1 to {MAX_ID_LENGTH} characters once decoded"
    if _CONTROL.search(value):
        return "must not contain '/' or control characters"
    if not printable(value):
        return "must be valid Unicode text"
    return None

"""Fields written once: a model is an ordered tuple of fields, each with a name, whether it is
required, a kind with its limits and a description. From it come the check of a value (what is
wrong with it, as fakepay's messages say it), its reading from a document, and its JSON Schema,
as the scenario schema and the OpenAPI document state it (docs/scenarios.md)."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .clock import LOCAL_DATETIME_PATTERN, parse_local_datetime
from .text import (
    CONTROL_PATTERN,
    MAX_ID_LENGTH,
    PRINTABLE_PATTERN,
    describe,
    path_value_problem,
    printable_problem,
    show,
    suggestion,
)

if TYPE_CHECKING:
    from .document import Path, Reader

__all__ = [
    "PATH_VALUE",
    "PRINTABLE",
    "Boolean",
    "Choice",
    "Const",
    "Field",
    "FieldKind",
    "Group",
    "Integer",
    "Invalid",
    "Json",
    "ListOf",
    "LocalDateTime",
    "Model",
    "Number",
    "Schema",
    "Stated",
    "String",
    "Text",
]

#: A JSON Schema, or a fragment of one.
Schema = dict[str, Any]
#: How fakepay writes a local date-time: seconds always, a fraction of at most six digits.
_WRITTEN_DATETIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"


def _or_null(schema: Schema) -> Schema:
    """``schema`` (of one type, or a choice of values) that also admits null."""
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None]}
    return {**schema, "type": [schema["type"], "null"]}


class Invalid(Exception):
    """A value with a problem, found on the fast way through (``FieldKind.value``, ``Model.read``):
    a ``Reader`` reads it again to say what the problem is, and where."""


@dataclass(frozen=True)
class FieldKind:
    """What a field's value may be. ``null``: null is a value of its own, standing for none or
    the default (the schema admits it; a reader takes any null for an absent value)."""

    null: bool = dataclasses.field(default=False, kw_only=True)

    def problem(self, value: Any) -> str | None:
        """What is wrong with a value given (not null), or None."""
        return None

    def read(self, value: Any) -> Any:
        """A value without problems, as fakepay holds it."""
        return value

    def take(self, reader: Reader, value: Any, path: Path) -> Any:
        """``value`` (not null) at ``path`` of a document, read; each problem goes to ``reader``,
        and a value with problems reads as None."""
        problem = self.problem(value)
        if problem is not None:
            reader.problem(path, problem)
            return None
        return self.read(value)

    def shape(self, written: bool) -> Schema:
        """Its JSON Schema, null aside: of what is read, or of what fakepay writes (``written``)."""
        raise NotImplementedError

    def schema(self, written: bool = False) -> Schema:
        """Its JSON Schema: of what is read, or of what fakepay writes (``written``)."""
        shape = self.shape(written)
        return _or_null(shape) if self.null else shape

    def value(self, value: Any) -> Any:
        """``value`` (not null) read, or ``Invalid`` if it has a problem (which ``take`` words)."""
        if self.problem(value) is not None:
            raise Invalid
        return self.read(value)


def _utf16_length(value: str) -> int | None:
    """The length as Java counts it (UTF-16 units), or None for text that is not valid Unicode."""
    if value.isascii():
        return len(value)
    try:
        return len(value.encode("utf-16-le")) // 2
    except UnicodeEncodeError:
        return None


@dataclass(frozen=True)
class Text(FieldKind):
    """Text in an API request's body, as the API's checks word it: valid Unicode of at most
    ``max_length`` characters as Java counts them (UTF-16 units), not blank unless ``blank``."""

    max_length: int | None = None
    blank: bool = True

    def problem(self, value: Any) -> str | None:
        if type(value) is not str:
            return f"must be a string{' or null' if self.null else ''}, got {describe(value)}"
        length = _utf16_length(value)
        if length is None:
            return "must be valid Unicode text"
        if not self.blank and (not value or value.isspace()):
            return "must not be blank"
        if self.max_length is not None and length > self.max_length:
            return f"must be at most {self.max_length} characters, got {length}"
        return None

    def shape(self, written: bool) -> Schema:
        limits: Schema = {} if self.blank else {"minLength": 1}
        if self.max_length is not None:
            limits["maxLength"] = self.max_length
        return {"type": "string", **limits, **({} if self.blank else {"pattern": r"\S"})}


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Integer(FieldKind):
    """A whole number from ``low`` to ``high``. ``request``: a field of an API request's body,
    whose message names a wrong value's JSON kind (``got a string``) rather than quoting it."""

    low: int
    high: int
    request: bool = False

    def problem(self, value: Any) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high:
            return None
        bounds = f"must be an integer from {self.low} to {self.high}"
        if self.request:
            return f"{bounds}, got {value if _whole(value) else describe(value)}"
        return f"{bounds}, got {show(value, yaml=True)}"

    def shape(self, written: bool) -> Schema:
        return {"type": "integer", "minimum": self.low, "maximum": self.high}


@dataclass(frozen=True)
class Number(FieldKind):
    """A finite number from ``low`` to ``high``, read as a float."""

    low: float
    high: float

    def problem(self, value: Any) -> str | None:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high:
            return None  # NaN is not within any bounds, nor is infinity within finite ones
        return f"must be a number from {self.low:g} to {self.high:g}, got {show(value, yaml=True)}"

    def read(self, value: Any) -> float:
        return float(value)

    def shape(self, written: bool) -> Schema:
        return {"type": "number", "minimum": self.low, "maximum": self.high}


@dataclass(frozen=True)
class Boolean(FieldKind):
    """True or false."""

    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else f"must be true or false, got {show(value, yaml=True)}"

    def shape(self, written: bool) -> Schema:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Choice(FieldKind):
    """One of ``values`` (text). ``request``: a field of an API request's body, whose message
    lists the values as ``'A' or 'B'``; otherwise the message suggests the closest one."""

    values: tuple[str, ...]
    request: bool = False

    def problem(self, value: Any) -> str | None:
        if isinstance(value, str) and value in self.values:
            return None
        quoted = [f"'{choice}'" for choice in self.values]
        if self.request:
            listed = f"{', '.join(quoted[:-1])} or {quoted[-1]}" if len(quoted) > 1 else quoted[0]
            return f"must be {listed}, got {show(value)}"
        hint = suggestion(value, self.values) if isinstance(value, str) else ""
        return f"must be one of {', '.join(quoted)}, got {show(value, yaml=True)}{hint}"

    def shape(self, written: bool) -> Schema:
        return {"enum": list(self.values)}


@dataclass(frozen=True)
class Const(FieldKind):
    """Exactly ``value``, ``why`` said in the message."""

    value: Any
    why: str = ""

    def problem(self, value: Any) -> str | None:
        if type(value) is type(self.value) and value == self.value:
            return None
        return f"must be {self.value} ({self.why}), got {show(value, yaml=True)}"

    def shape(self, written: bool) -> Schema:
        return {"const": self.value}


@dataclass(frozen=True)
class String(FieldKind):
    """Non-empty text that ``check`` (a problem, or None) accepts; ``limits`` state the same
    rule in JSON Schema's words (``maxLength``, ``pattern``), as far as they can."""

    check: Callable[[str], str | None] | None = None
    limits: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            hint = "; quote it" if isinstance(value, (int, float, bool, datetime)) else ""
            return f"must be a non-empty string, got {show(value, yaml=True)}{hint}"
        return self.check(value) if self.check else None

    def shape(self, written: bool) -> Schema:
        return {"type": "string", "minLength": 1, **self.limits}


#: A path value, such as a payment's id: 1 to 256 characters, no "/" and no control characters.
PATH_VALUE = String(path_value_problem, {"maxLength": MAX_ID_LENGTH, "pattern": f"^[^/{CONTROL_PATTERN}]+$"})
#: Text without control characters.
PRINTABLE = String(printable_problem, {"pattern": PRINTABLE_PATTERN})


@dataclass(frozen=True)
class LocalDateTime(FieldKind):
    """A local date-time without offset, as ``2025-10-22T20:21:35.529482``: read as Java's
    ``LocalDateTime.parse`` reads it (seconds optional, up to nanoseconds), or a YAML timestamp
    without offset; read as a naive ``datetime``."""

    def problem(self, value: Any) -> str | None:
        return None if self.read(value) is not None else self._wrong(value)

    def read(self, value: Any) -> datetime | None:
        if isinstance(value, datetime):
            return value if value.tzinfo is None else None
        return parse_local_datetime(value) if isinstance(value, str) else None

    def take(self, reader: Reader, value: Any, path: Path) -> datetime | None:
        read = self.read(value)  # parsed once
        if read is None:
            reader.problem(path, self._wrong(value))
        return read

    @staticmethod
    def _wrong(value: Any) -> str:
        return f"must be a local date-time like '2025-10-22T20:21:35.529482' (no offset), got {show(value, yaml=True)}"

    def shape(self, written: bool) -> Schema:
        return {"type": "string", "pattern": _WRITTEN_DATETIME if written else f"^{LOCAL_DATETIME_PATTERN}$"}


@dataclass(frozen=True)
class Json(FieldKind):
    """Any plain JSON value: objects, arrays, strings, numbers, booleans, null."""

    def problem(self, value: Any) -> str | None:
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            return "must be plain JSON (objects, arrays, strings, numbers, booleans, null)"
        return None

    def shape(self, written: bool) -> Schema:
        return {}


@dataclass(frozen=True)
class Stated(FieldKind):
    """A value fakepay only writes (a count, say): its JSON Schema, stated as is."""

    stated: Mapping[str, Any]

    def shape(self, written: bool) -> Schema:
        return dict(self.stated)


@dataclass(frozen=True)
class Field:
    """One field of a model."""

    name: str
    kind: FieldKind
    required: bool = False
    description: str = ""

    def schema(self, written: bool = False) -> Schema:
        schema = self.kind.schema(written)
        return {**schema, "description": self.description} if self.description else schema


@dataclass(frozen=True)
class Model:
    """An object's fields, in order, under the ``name`` that messages and documents give it.
    ``open``: unknown keys are left to its reader (an API ignores them) rather than refused.
    ``constraints``: what its reader checks across fields, in JSON Schema's words."""

    name: str
    fields: tuple[Field, ...]
    open: bool = False
    constraints: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)

    def __getitem__(self, name: str) -> Field:
        """The field ``name`` (``KeyError`` when there is none)."""
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(name)

    @functools.cached_property
    def _checks(self) -> tuple[tuple[str, bool, Callable[[Any], str | None]], ...]:
        return tuple((field.name, field.required, field.kind.problem) for field in self.fields)

    def problems(self, data: Mapping[str, Any]) -> dict[str, str]:
        """What is wrong with each field of ``data`` (an object), by name, in the model's order: a
        required one absent or null, or a value its kind refuses."""
        found = {}
        for name, required, check in self._checks:
            value = data.get(name)
            if value is not None:
                problem = check(value)
                if problem is not None:
                    found[name] = problem
            elif required:
                found[name] = "is required"
        return found

    def read(self, data: Any) -> dict[str, Any]:
        """The fields of an object without problems, read as a ``Reader`` reads them (absent and
        null ones left out), at a fraction of its cost; ``Invalid`` on the first problem."""
        if type(data) is not dict:
            raise Invalid
        kinds = self._kinds
        read = {}
        for name, given in data.items():
            kind = kinds.get(name)
            if kind is None:
                if not self.open:
                    raise Invalid
            elif given is not None:
                read[name] = kind.value(given)
        if not self._required <= read.keys():
            raise Invalid
        return read

    @functools.cached_property
    def _kinds(self) -> dict[str, FieldKind]:
        return {field.name: field.kind for field in self.fields}

    @functools.cached_property
    def _required(self) -> frozenset[str]:
        return frozenset(field.name for field in self.fields if field.required)

    def schema(self, written: bool = False) -> Schema:
        """The JSON Schema of the object: of what is read (its required fields), or of what
        fakepay has ``written`` (every field)."""
        required = [field.name for field in self.fields if written or field.required]
        return {
            "type": "object",
            **({} if self.open else {"additionalProperties": False}),
            **({"required": required} if required else {}),
            "properties": {field.name: field.schema(written) for field in self.fields},
            **({} if written else self.constraints),
        }


@dataclass(frozen=True)
class Group(FieldKind):
    """A mapping read by ``model`` (a section of a scenario, say), read as a dict of the values
    read well."""

    model: Model

    def take(self, reader: Reader, value: Any, path: Path) -> dict[str, Any]:
        return reader.fields(self.model, value, path)

    def value(self, value: Any) -> dict[str, Any]:
        return self.model.read(value)

    def shape(self, written: bool) -> Schema:
        return self.model.schema(written)


@dataclass(frozen=True)
class ListOf(FieldKind):
    """A list of ``item``s, at most ``max_items`` (its message names the list by its key: ``at
    most 1000 rules``), read as a tuple of the items read well."""

    item: FieldKind
    max_items: int | None = None

    def value(self, value: Any) -> tuple[Any, ...]:
        if type(value) is not list or (self.max_items is not None and len(value) > self.max_items) or None in value:
            raise Invalid
        return tuple(map(self.item.value, value))

    def take(self, reader: Reader, value: Any, path: Path) -> tuple[Any, ...]:
        items = reader.sequence(value, path)
        if self.max_items is not None and len(items) > self.max_items:
            reader.problem(path, f"at most {self.max_items} {path[-1]}, got {len(items)}")
        return tuple(read for index, item in enumerate(items)
                     if (read := self.item.take(reader, item, (*path, index))) is not None)

    def shape(self, written: bool) -> Schema:
        limit = {} if self.max_items is None else {"maxItems": self.max_items}
        return {"type": "array", **limit, "items": self.item.schema(written)}

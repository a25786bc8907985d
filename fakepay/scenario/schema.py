"""The JSON Schema of scenario files (``schema.json`` beside this module, for editors), made of
the declarations the reader checks a scenario by: ``python -m fakepay.scenario.schema`` writes it
again after they change (docs/scenarios.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.config import DEFAULT_API
from ..core.fields import Model, Schema
from ..dialects import DIALECTS, dialect
from .envelope import SHARED, rules_field

__all__ = ["FILE", "scenario_schema", "schema_text"]

#: Where the schema is kept, in the package.
FILE = Path(__file__).with_name("schema.json")


def scenario_schema() -> Schema:
    """The JSON Schema of a scenario: the envelope every API shares, and for each API the
    section and rules of a scenario that names it (or, for the default API, names none)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://fakepay.invalid/scenario.schema.json",
        "title": "fakepay scenario",
        "description": "The starting state and behaviour of a fakepay instance.",
        **Model("scenario", SHARED, open=True).schema(),
        "allOf": [_of_api(name) for name in DIALECTS],
        "unevaluatedProperties": False,
    }


def _of_api(name: str) -> Schema:
    """What a scenario of the API ``name`` has beyond the envelope."""
    api = dialect(name)
    named: Schema = {"properties": {"api": {"const": name}}, **({} if name == DEFAULT_API else {"required": ["api"]})}
    return {"if": named, "then": Model(name, (*api.section.model.fields, rules_field(name)), open=True).schema()}


def schema_text() -> str:
    """The schema as the file holds it: indented, what fits on a line of ``_WIDTH`` on one."""
    return _json(scenario_schema(), "") + "\n"


#: The width of the file's lines, as far as they can be kept to it.
_WIDTH = 110


def _json(value: Any, indent: str, key: str = "") -> str:
    """``value`` as JSON after ``indent`` and ``key`` (written already): on one line if it fits."""
    flat = json.dumps(value, ensure_ascii=False)
    if len(indent) + len(key) + len(flat) <= _WIDTH or not isinstance(value, (dict, list)) or not value:
        return flat
    inner = indent + "  "
    if isinstance(value, dict):
        items = []
        for name, item in value.items():
            written = f"{json.dumps(name)}: "
            items.append(inner + written + _json(item, inner, written))
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    return "[\n" + ",\n".join(inner + _json(item, inner) for item in value) + f"\n{indent}]"


if __name__ == "__main__":
    FILE.write_text(schema_text(), encoding="utf-8")

"""The APIs fakepay serves, each a dialect in a folder of its own, found by name."""

from __future__ import annotations

import importlib

from ..core.dialect import Dialect
from ..core.text import suggestion

__all__ = ["DIALECTS", "dialect"]

#: Each dialect's name, and the module and name of its ``Dialect``: one line a dialect.
DIALECTS = {
    "ceos": ("fakepay.dialects.ceos", "CEOS"),
    "portone": ("fakepay.dialects.portone", "PORTONE"),
}


def dialect(name: str) -> Dialect:
    """The dialect ``name`` (``ValueError`` naming those there are when there is none)."""
    where = DIALECTS.get(name)
    if where is None:
        raise ValueError(f"no API {name!r}; fakepay serves {', '.join(DIALECTS)}{suggestion(name, DIALECTS)}")
    module, attribute = where
    found: Dialect = getattr(importlib.import_module(module), attribute)
    return found

"""The layers of the package, read from each module's imports with ``ast``: which part of fakepay
may import which, no import cycle among the imports run when a module is loaded, and no API
named outside the dialects."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from .support import ROOT

PACKAGE = ROOT / "fakepay"
DIALECTS = sorted(path.parent.name for path in (PACKAGE / "dialects").glob("*/__init__.py"))
#: Each part of fakepay (a module, or ``.*``: a folder and all below it) and what of fakepay its
#: modules may import beyond themselves. The test harness uses the public API, ``fakepay``, and
#: what a user's tests may use beside it: scenarios, the core's types, the host names it allows.
PARTS: dict[str, tuple[str, ...]] = {
    "fakepay.core.*": (),
    "fakepay.dialects": ("fakepay.core.*",),
    **{f"fakepay.dialects.{name}.*": ("fakepay.core.*",) for name in DIALECTS},
    "fakepay.scenario.*": ("fakepay.core.*", "fakepay.dialects"),
    "fakepay.http.*": ("fakepay.core.*",),
    "fakepay.control.*": ("fakepay.core.*", "fakepay.http.*", "fakepay.scenario.*", "fakepay.dialects"),
    "fakepay.testing.*": ("fakepay", "fakepay.core.*", "fakepay.scenario.*", "fakepay.http.hosts"),
}
#: The parts that name no API: each API is named in its dialect's folder and in the registry.
NAMELESS = ("fakepay.core.*", "fakepay.http.*", "fakepay.control.*", "fakepay.scenario.*")
#: The one place among them an API is named: the API of a scenario that names none.
DEFAULT_API = ("fakepay.core.config", 'DEFAULT_API = "ceos"')


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def matches(module: str, pattern: str) -> bool:
    """Whether ``module`` is the module ``pattern``, or, for ``folder.*``, in that folder."""
    if pattern.endswith(".*"):
        return module == pattern[:-2] or module.startswith(pattern[:-1])
    return module == pattern


def part_of(module: str) -> str | None:
    return next((part for part in PARTS if matches(module, part)), None)


def _statements(node: ast.AST, loaded_only: bool) -> list[ast.Import | ast.ImportFrom]:
    """The import statements under ``node``; with ``loaded_only``, those run when the module is
    loaded (not in functions, nor under ``if TYPE_CHECKING``)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [node]
    if loaded_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return []
    children: list[ast.AST] = list(ast.iter_child_nodes(node))
    if loaded_only and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
        children = list(node.orelse)
    return [statement for child in children for statement in _statements(child, loaded_only)]


def imports(module: str, loaded_only: bool = False) -> set[str]:
    """The modules of fakepay that ``module`` imports, relative imports resolved (``from . import
    x`` imports the module ``x`` where there is one)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _statements(ast.parse(path.read_text()), loaded_only):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = package.rsplit(".", node.level - 1)[0] if node.level else ""
        target = ".".join(filter(None, (base, node.module)))
        found.add(target)
        found.update(f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in MODULES)
    return {name for name in found if matches(name, "fakepay.*")}


@pytest.mark.parametrize("part", PARTS)
def test_each_part_imports_only_what_it_may(part: str) -> None:
    modules = [module for module in MODULES if part_of(module) == part]
    assert modules, f"no module is in {part}"
    allowed = (part, *PARTS[part])
    wrong = [f"{module} imports {name}" for module in modules for name in sorted(imports(module))
             if not any(matches(name, pattern) for pattern in allowed)]
    assert wrong == []


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """The import cycles of ``graph`` (each module's imports), as ``a -> b -> a``."""
    found: list[str] = []
    state: dict[str, str] = {}  # "open" while its imports are followed, then "done"
    trail: list[str] = []

    def visit(module: str) -> None:
        state[module] = "open"
        trail.append(module)
        for name in sorted(graph[module]):
            if state.get(name) == "open":
                found.append(" -> ".join([*trail[trail.index(name):], name]))
            elif name not in state:
                visit(name)
        trail.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return found


def test_no_import_cycle_when_modules_load() -> None:
    assert cycles({module: imports(module, loaded_only=True) & set(MODULES) for module in MODULES}) == []


def _docstrings(tree: ast.Module) -> set[tuple[int, int]]:
    """Where each docstring starts (line, column)."""
    owners = [tree, *(node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))]
    return {(first.lineno, first.col_offset) for owner in owners
            if owner.body and isinstance(first := owner.body[0], ast.Expr)
            and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)}


def named_apis(module: str) -> list[str]:
    """The lines of ``module`` whose code (not comments, nor docstrings) names an API."""
    text = MODULES[module].read_text()
    skipped = _docstrings(ast.parse(text))
    lines = text.splitlines()
    return [lines[token.start[0] - 1].strip() for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type not in (tokenize.COMMENT, tokenize.NL) and token.start not in skipped
            and re.search("ceos", token.string, re.IGNORECASE)]


def test_only_the_dialects_name_an_api() -> None:
    named = {(module, line) for module in MODULES if any(matches(module, part) for part in NAMELESS)
             for line in named_apis(module)}
    assert named == {DEFAULT_API}

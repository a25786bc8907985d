"""Scenario files read and written: the envelope every API shares (name, seed, clock, failure,
latency, rules, journal) and the section of the API that ``api`` names, which its dialect reads."""

from __future__ import annotations

import copy
import os
from importlib import resources
from pathlib import Path as FilePath
from typing import Any

from ..core.clock import format_local_datetime
from ..core.config import DEFAULT_API, DEFAULT_MAX_ENTRIES, ClockConfig, FailureConfig, LatencyConfig, Scenario
from ..core.dialect import Dialect
from ..core.document import Document, Reader
from ..core.errors import ScenarioError
from ..core.rules import Rule
from ..core.text import printable, suggestion
from ..dialects import dialect
from .envelope import API, HEAD, MAX_NAME_LENGTH, VERSION, rule_kind, tail

#: A scenario file is read to at most this many bytes (one sent over HTTP: 1 MiB).
MAX_FILE_BYTES = 8 * 1024 * 1024


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a file would write it (``parse_scenario`` reads it back unchanged)."""
    api = dialect(scenario.api)
    return {
        "version": 1,
        **({"api": scenario.api} if scenario.api != DEFAULT_API else {}),
        "name": scenario.name,
        "seed": scenario.seed,
        "clock": {
            "timezone": scenario.clock.timezone,
            "frozen_at": None if scenario.clock.frozen_at is None else format_local_datetime(scenario.clock.frozen_at),
        },
        **api.section.write(scenario.section or api.section.default),
        "failure": {
            "rate": scenario.failure.rate,
            "status": scenario.failure.status,
            "reuse_failed_payment_id": scenario.failure.reuse_failed_payment_id,
        },
        "latency": {"fixed_ms": scenario.latency.fixed_ms, "jitter_ms": scenario.latency.jitter_ms},
        "rules": [rule.to_data() for rule in scenario.rules],
        "journal": {"max_entries": scenario.journal_max_entries},
    }


def patched(scenario: Scenario, patch: Any) -> Scenario:
    """``scenario`` with ``patch`` merged into it (mappings merged key by key), checked whole;
    ``ScenarioError`` (nothing changed) when the patch is invalid."""
    reader = Reader(Document(patch))
    reader.mapping(patch, (), (*_PATCHABLE, *dialect(scenario.api).section.patchable))
    reader.check("config")
    return parse_scenario(_merge(scenario_data(scenario), patch))


_PATCHABLE = ("name", "seed", "clock", "failure", "latency", "journal")


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    return copy.deepcopy(patch)


def _shipped_folder() -> FilePath:
    """The folder of the scenarios that ship with fakepay: the package ``fakepay.scenarios``, which
    the install makes of the project's top-level ``scenarios/`` (as files: setuptools does not zip).
    Where fakepay is imported from a checkout rather than its installation, as by ``python -m
    fakepay`` in the checkout's root after ``pip install .``, that package is not beside it, and the
    checkout's own folder serves."""
    try:
        return FilePath(str(resources.files("fakepay.scenarios")))
    except ModuleNotFoundError:
        return FilePath(__file__).parents[2] / "scenarios"


#: The folder of the scenarios that ship with fakepay, loadable by name.
SHIPPED = _shipped_folder()


def shipped_scenarios() -> list[str]:
    """The names of the scenarios that ship with fakepay: ``default``, ``happy-path``, ..."""
    return sorted(path.stem for path in SHIPPED.glob("*.yaml"))


def scenario_file(name_or_path: str | os.PathLike[str]) -> FilePath:
    """The file of a scenario given by name or path.

    A bare name (no folder, no suffix) of a shipped scenario, such as ``happy-path``, is that
    scenario's file; anything else is a path, relative to the current working directory.
    ``ScenarioError`` (one problem, one line) when there is no such file.
    """
    text = os.fspath(name_or_path)
    shipped = SHIPPED / f"{text}.yaml"
    if text and text == FilePath(text).name and "." not in text and shipped.is_file():
        return shipped
    path = FilePath(text)
    if not path.is_file():
        where = "" if path.is_absolute() else f" (relative to {os.getcwd()})"
        shipped_names = shipped_scenarios()
        raise ScenarioError([
            f"no scenario '{text}': not a file{where} nor a shipped scenario ({', '.join(shipped_names)})"
            + suggestion(text, shipped_names)
        ])
    return path


def load_scenario(name_or_path: str | os.PathLike[str]) -> Scenario:
    """Read a scenario by name or path (see ``scenario_file``); ``ScenarioError`` lists every
    problem; an unreadable file is ``OSError``."""
    path = scenario_file(name_or_path)
    name = (path.stem if printable(path.stem) else ascii(path.stem))[:MAX_NAME_LENGTH]  # shown in banners and logs
    with path.open("rb") as file:
        data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError([f"{path}: a scenario file is at most {MAX_FILE_BYTES // 1024 // 1024} MiB"])
    return _scenario(Reader(Document.from_bytes(data, str(path))), default_name=name)


def parse_scenario_text(text: str, source: str = "<scenario>", default_name: str = "default") -> Scenario:
    """Parse a scenario from YAML or JSON text."""
    return _scenario(Reader(Document.from_yaml(text, source)), default_name)


def parse_scenario_bytes(data: bytes, source: str = "<scenario>") -> Scenario:
    """Parse a scenario from YAML or JSON in UTF-8."""
    return _scenario(Reader(Document.from_bytes(data, source)), "default")


def parse_scenario(data: Any, default_name: str = "default") -> Scenario:
    """Build a scenario from plain data (a parsed YAML or JSON document)."""
    return _scenario(Reader(Document(data)), default_name)


def parse_payments(data: Any, api: str = DEFAULT_API) -> tuple[Any, ...]:
    """Seeded payments of the API ``api`` from a list (or one mapping), as ``POST
    /__fakepay/payments`` takes them."""
    reader = Reader(Document(data))
    payments = dialect(api).section.seed_payments(reader, data if isinstance(data, list) else [data], ())
    reader.check("payments")
    return payments


def parse_rule(data: Any, api: str = DEFAULT_API) -> Rule:
    """One rule of the API ``api``, as ``POST /__fakepay/rules`` takes it."""
    reader = Reader(Document(data))
    rule: Rule | None = rule_kind(api).take(reader, data, ())
    reader.check("rule")
    assert rule is not None
    return rule


def _api(r: Reader, doc: dict[str, Any]) -> Dialect:
    """The dialect a scenario names with ``api`` (the default when it names none, or one there is not)."""
    name = doc.get("api")
    if name is not None:
        name = API.kind.take(r, name, ("api",))
    return dialect(name or DEFAULT_API)


def _scenario(r: Reader, default_name: str) -> Scenario:
    data = r.document.data
    if data is None and not r.problems:
        r.problem((), "the scenario is empty: write at least one of its keys, such as 'name: my-scenario'")
    first = data if isinstance(data, dict) else {}
    api = _api(r, first)
    after = tail(api.name)
    known = (VERSION.name, API.name, *HEAD.names, *api.section.model.names, *after.names)
    doc = r.mapping(data, (), known) if data is not None else {}
    if "version" in doc:
        VERSION.kind.take(r, doc["version"], ("version",))
    head = r.values(HEAD, doc, ())
    section = api.section.read(r, doc)
    rest = r.values(after, doc, ())
    r.check()
    return Scenario(
        name=head.get("name", default_name),
        seed=head.get("seed"),
        clock=ClockConfig(**head.get("clock", {})),
        failure=FailureConfig(**rest.get("failure", {})),
        latency=LatencyConfig(**rest.get("latency", {})),
        rules=rest.get("rules", ()),
        journal_max_entries=rest.get("journal", {}).get("max_entries", DEFAULT_MAX_ENTRIES),
        api=api.name,
        section=section,
    )

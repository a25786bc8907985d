"""Scenario files read and written: the envelope every API shares (name, seed, clock, failure,
latency, rules, journal) and the section of the API that ``api`` names, which its dialect reads."""

from __future__ import annotations

import copy
import json
import os
from importlib import resources
from pathlib import Path as FilePath
from typing import Any
from zoneinfo import ZoneInfo

from ..core.clock import DEFAULT_TIMEZONE, format_local_datetime
from ..core.config import DEFAULT_MAX_ENTRIES, ClockConfig, FailureConfig, LatencyConfig, Scenario
from ..core.dialect import Dialect
from ..core.document import Document, Path, Reader, absent_empty
from ..core.errors import ScenarioError
from ..core.globs import MAX_GLOB
from ..core.rules import FAULTS, INT_MAX, MAX_RULES, Condition, Kind, Matcher, Outcome, Rule, When
from ..core.text import printable, printable_problem, show, suggestion
from ..dialects import DIALECTS, dialect

MAX_SEED = 2**63 - 1
MAX_DELAY_MS = 3_600_000
MAX_NAME_LENGTH = 100
#: A scenario file is read to at most this many bytes (one sent over HTTP: 1 MiB).
MAX_FILE_BYTES = 8 * 1024 * 1024


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a file would write it (``parse_scenario`` reads it back unchanged)."""
    api = dialect(scenario.api)
    return {
        "version": 1,
        **({"api": scenario.api} if scenario.api != "ceos" else {}),
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


_ENVELOPE_KEYS = ("version", "api", "name", "seed", "clock", "failure", "latency", "rules", "journal")
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


def parse_payments(data: Any, api: str = "ceos") -> tuple[Any, ...]:
    """Seeded payments of the API ``api`` from a list (or one mapping), as ``POST
    /__fakepay/payments`` takes them."""
    reader = Reader(Document(data))
    payments = dialect(api).section.seed_payments(reader, data if isinstance(data, list) else [data], ())
    reader.check("payments")
    return payments


def parse_rule(data: Any, api: str = "ceos") -> Rule:
    """One rule of the API ``api``, as ``POST /__fakepay/rules`` takes it."""
    reader = Reader(Document(data))
    rule = _rule(reader, data, (), dialect(api))
    reader.check("rule")
    assert rule is not None
    return rule


def _api(r: Reader, doc: dict[str, Any]) -> Dialect:
    """The dialect a scenario names with ``api`` (CEOS when it names none, or one there is not)."""
    name = doc.get("api")
    if name is not None:
        name = r.choice(name, ("api",), tuple(DIALECTS))
    return dialect(name or "ceos")


def _scenario(r: Reader, default_name: str) -> Scenario:
    data = r.document.data
    if data is None and not r.problems:
        r.problem((), "the scenario is empty: write at least one of its keys, such as 'name: my-scenario'")
    first = data if isinstance(data, dict) else {}
    api = _api(r, first)
    doc = r.mapping(data, (), (*_ENVELOPE_KEYS, *api.section.keys)) if data is not None else {}
    if "version" in doc and (type(doc["version"]) is not int or doc["version"] != 1):
        r.problem(("version",), f"must be 1 (the only version so far), got {show(doc['version'], yaml=True)}")
    name = default_name if doc.get("name") is None else r.string(doc["name"], ("name",), _name)
    seed = None if doc.get("seed") is None else r.integer(doc["seed"], ("seed",), 0, MAX_SEED)
    clock = _clock(r, doc.get("clock"))
    section = api.section.read(r, doc)
    failure = _failure(r, doc.get("failure"))
    latency = _latency(r, doc.get("latency"))
    rule_items = r.sequence(doc.get("rules"), ("rules",))
    if len(rule_items) > MAX_RULES:
        r.problem(("rules",), f"at most {MAX_RULES} rules, got {len(rule_items)}")
    rules = tuple(
        rule for index, item in enumerate(rule_items) if (rule := _rule(r, item, ("rules", index), api)) is not None
    )
    journal = r.mapping(absent_empty(doc.get("journal")), ("journal",), ("max_entries",))
    max_entries = DEFAULT_MAX_ENTRIES
    if journal.get("max_entries") is not None:
        max_entries = r.integer(journal["max_entries"], ("journal", "max_entries"), 1, 1_000_000) or max_entries
    r.check()
    return Scenario(
        name=name or default_name,
        seed=seed,
        clock=clock,
        failure=failure,
        latency=latency,
        rules=rules,
        journal_max_entries=max_entries,
        api=api.name,
        section=section,
    )


def _pattern(value: str) -> str | None:
    return f"must be a pattern of at most {MAX_GLOB} characters" if len(value) > MAX_GLOB else None


def _name(value: str) -> str | None:
    if len(value) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters"
    return printable_problem(value)


def _valid_timezone(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return f"unknown time zone {show(name)}; use an IANA name such as 'Asia/Seoul' or 'UTC'"
    return None


def _clock(r: Reader, value: Any) -> ClockConfig:
    path: Path = ("clock",)
    data = r.mapping(absent_empty(value), path, ("timezone", "frozen_at"))
    timezone = DEFAULT_TIMEZONE
    if data.get("timezone") is not None:
        timezone = r.string(data["timezone"], (*path, "timezone"), _valid_timezone) or timezone
    frozen_at = None
    if data.get("frozen_at") is not None:
        frozen_at = r.timestamp(data["frozen_at"], (*path, "frozen_at"))
    return ClockConfig(timezone, frozen_at)


def _failure(r: Reader, value: Any) -> FailureConfig:
    path: Path = ("failure",)
    data = r.mapping(absent_empty(value), path, ("rate", "status", "reuse_failed_payment_id"))
    default = FailureConfig()
    rate = default.rate if data.get("rate") is None else r.number(data["rate"], (*path, "rate"), 0.0, 1.0)
    status = default.status if data.get("status") is None else r.integer(data["status"], (*path, "status"), 400, 599)
    reuse: bool | None = default.reuse_failed_payment_id
    if data.get("reuse_failed_payment_id") is not None:
        reuse = r.boolean(data["reuse_failed_payment_id"], (*path, "reuse_failed_payment_id"))
    return FailureConfig(
        default.rate if rate is None else rate,
        status or default.status,
        default.reuse_failed_payment_id if reuse is None else reuse,
    )


def _latency(r: Reader, value: Any) -> LatencyConfig:
    path: Path = ("latency",)
    data = r.mapping(absent_empty(value), path, ("fixed_ms", "jitter_ms"))
    fixed, jitter = (
        0 if data.get(key) is None else r.integer(data[key], (*path, key), 0, MAX_DELAY_MS) or 0
        for key in ("fixed_ms", "jitter_ms")
    )
    return LatencyConfig(fixed, jitter)


def _rule(r: Reader, value: Any, path: Path, api: Dialect) -> Rule | None:
    data = r.mapping(value, path, ("when", "then", "times"), required=("then",))
    before = r.problem_count
    when = _when(r, absent_empty(data.get("when")), (*path, "when"), api)
    then = _outcome(r, data["then"], (*path, "then")) if data.get("then") is not None else None
    times = None if data.get("times") is None else r.integer(data["times"], (*path, "times"), 1, INT_MAX)
    if r.problem_count > before or then is None:
        return None
    return Rule(when, then, times)


def _when(r: Reader, value: Any, path: Path, api: Dialect) -> When:
    """A rule's conditions: its operation and owner, then the dialect's matchers, in their order."""
    data = r.mapping(value, path, ("operation", "owner", *(matcher.key for matcher in api.matchers)))
    operation = owner = None
    if data.get("operation") is not None:
        operation = r.choice(data["operation"], (*path, "operation"), tuple(api.operations))
    if data.get("owner") is not None:
        owner = r.string(data["owner"], (*path, "owner"))
    conditions = []
    for matcher in api.matchers:
        if data.get(matcher.key) is not None:
            condition = _condition(r, matcher, data[matcher.key], (*path, matcher.key))
            if condition is not None:
                conditions.append(condition)
    return When(operation, owner, tuple(conditions))


def _condition(r: Reader, matcher: Matcher, value: Any, path: Path) -> Condition | None:
    """What ``matcher`` asks for ``value``, checked by its kind."""
    kind = matcher.kind
    if kind == "amount" and isinstance(value, dict):
        bounds = r.mapping(value, path, ("gte", "lte"))
        if not bounds:
            r.problem(path, "needs 'gte', 'lte' or both")
        checked = {bound: r.integer(bounds[bound], (*path, bound), 0, INT_MAX) for bound in ("gte", "lte")
                   if bounds.get(bound) is not None}
        read: Any = checked if None not in checked.values() else None
    elif kind == "amount":
        read = r.integer(value, path, 0, INT_MAX)
    elif kind == "choice":
        read = r.choice(value, path, matcher.choices)
    else:
        read = r.string(value, path, _pattern if kind == "glob" else None)
    return None if read is None else Condition.of(matcher, read)


def _outcome(r: Reader, value: Any, path: Path) -> Outcome | None:
    if isinstance(value, str):
        kind = r.choice(value, path, FAULTS)
        return None if kind is None else Outcome(Kind(kind))
    if not isinstance(value, dict):
        r.problem(path, f"must be one of {', '.join(FAULTS)}, or a mapping with delay_ms, timeout_s or status")
        return None
    data = r.mapping(value, path, ("delay_ms", "timeout_s", "status", "body"))
    chosen = [key for key in ("delay_ms", "timeout_s", "status") if key in data]
    if len(chosen) != 1:
        r.problem(path, "needs exactly one of 'delay_ms', 'timeout_s' or 'status'")
        return None
    if "body" in data and chosen != ["status"]:
        r.problem((*path, "body"), "goes only with 'status'")
        return None
    key = chosen[0]
    if key == "delay_ms":
        delay = r.integer(data[key], (*path, key), 0, MAX_DELAY_MS)
        return None if delay is None else Outcome(Kind.DELAY, delay_ms=delay)
    if key == "timeout_s":
        if data[key] is None:
            return Outcome(Kind.TIMEOUT)
        timeout = r.number(data[key], (*path, key), 0.0, MAX_DELAY_MS / 1000)
        return None if timeout is None else Outcome(Kind.TIMEOUT, timeout_s=timeout)
    status = r.integer(data[key], (*path, key), 200, 599)
    body = data.get("body", {})
    try:
        json.dumps(body, allow_nan=False)
    except (TypeError, ValueError):
        r.problem((*path, "body"), "must be plain JSON (objects, arrays, strings, numbers, booleans, null)")
        return None
    return None if status is None else Outcome(Kind.STATUS, status=status, body=body)

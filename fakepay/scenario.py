"""Scenarios (docs/scenarios.md): the whole starting state and behaviour of an instance, read strictly from
YAML or JSON, every problem reported as ``file:line:col: key.path: message``."""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from pathlib import Path as FilePath
from typing import Any
from zoneinfo import ZoneInfo

from .auth import AUTH_MODES, DEFAULT_SIGNING_KEY, valid_github_id
from .clock import DEFAULT_TIMEZONE
from .document import Document, Path, Reader
from .errors import ScenarioError
from .globs import MAX_GLOB
from .journal import DEFAULT_MAX_ENTRIES
from .payments import FAILED, PAID, STATUSES
from .rules import FAULTS, MAX_RULES, OPERATIONS, Kind, Outcome, Rule, When
from .validation import (
    CURRENCIES,
    INSTANT_FIELDS,
    INT_MAX,
    PAYMENT_CHECKS,
    InstantPaymentRequest,
    show,
    suggestion,
)
from .wire import format_local_datetime, path_value_problem, printable

__all__ = [
    "AuthConfig",
    "ClockConfig",
    "FailureConfig",
    "LatencyConfig",
    "Scenario",
    "SeedPayment",
    "StoreConfig",
    "load_scenario",
    "parse_payments",
    "parse_rule",
    "parse_scenario",
    "parse_scenario_bytes",
    "parse_scenario_text",
    "scenario_file",
    "shipped_scenarios",
]

MAX_SEED = 2**63 - 1
MAX_DELAY_MS = 3_600_000
MAX_NAME_LENGTH = 100
#: A scenario file is read to at most this many bytes (one sent over HTTP: 1 MiB).
MAX_FILE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class ClockConfig:
    timezone: str = DEFAULT_TIMEZONE
    frozen_at: datetime | None = None


@dataclass(frozen=True)
class AuthConfig:
    mode: str = "strict"
    signing_key: str = DEFAULT_SIGNING_KEY


@dataclass(frozen=True)
class StoreConfig:
    github_id: str
    secret: str | None = None


@dataclass(frozen=True, slots=True)
class SeedPayment:
    """A payment a scenario (or ``POST /__fakepay/payments``) puts in the store: whose, its id,
    what was asked (as an instant payment's body asks it), and its status."""

    owner: str
    payment_id: str
    request: InstantPaymentRequest
    status: str = PAID
    paid_at: datetime | None = None


@dataclass(frozen=True)
class FailureConfig:
    rate: float = 0.1
    status: int = 500
    reuse_failed_payment_id: bool = True


@dataclass(frozen=True)
class LatencyConfig:
    fixed_ms: int = 0
    jitter_ms: int = 0


@dataclass(frozen=True)
class Scenario:
    """Everything an instance starts from; ``reset`` returns to it."""

    name: str = "default"
    seed: int | None = None
    clock: ClockConfig = field(default_factory=ClockConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    stores: tuple[StoreConfig, ...] = ()
    payments: tuple[SeedPayment, ...] = ()
    failure: FailureConfig = field(default_factory=FailureConfig)
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    rules: tuple[Rule, ...] = ()
    journal_max_entries: int = DEFAULT_MAX_ENTRIES

    def to_data(self) -> dict[str, Any]:
        """The scenario as a file would write it (``parse_scenario`` reads it back unchanged)."""
        return {
            "version": 1,
            "name": self.name,
            "seed": self.seed,
            "clock": {
                "timezone": self.clock.timezone,
                "frozen_at": None if self.clock.frozen_at is None else format_local_datetime(self.clock.frozen_at),
            },
            "auth": {"mode": self.auth.mode, "signing_key": self.auth.signing_key},
            "stores": [
                {"githubId": s.github_id, **({"secret": s.secret} if s.secret else {})} for s in self.stores
            ],
            "payments": [seed_payment_data(p) for p in self.payments],
            "failure": {
                "rate": self.failure.rate,
                "status": self.failure.status,
                "reuse_failed_payment_id": self.failure.reuse_failed_payment_id,
            },
            "latency": {"fixed_ms": self.latency.fixed_ms, "jitter_ms": self.latency.jitter_ms},
            "rules": [rule.to_data() for rule in self.rules],
            "journal": {"max_entries": self.journal_max_entries},
        }

    def overridden(self, *, seed: int | None = None, failure_rate: float | None = None) -> Scenario:
        """This scenario with another seed or failure rate, where given."""
        scenario = self if seed is None else replace(self, seed=seed)
        if failure_rate is not None:
            scenario = replace(scenario, failure=replace(scenario.failure, rate=failure_rate))
        return scenario

    def patched(self, patch: Any) -> Scenario:
        """This scenario with ``patch`` merged into it (mappings merged key by key), checked whole."""
        reader = Reader(Document(patch))
        reader.mapping(patch, (), _PATCHABLE)
        reader.check("config")
        merged = _merge(self.to_data(), patch)
        return parse_scenario(merged)


def seed_payment_data(payment: SeedPayment) -> dict[str, Any]:
    return {
        "owner": payment.owner,
        "paymentId": payment.payment_id,
        **dict(zip(INSTANT_FIELDS, payment.request, strict=True)),
        "status": payment.status,
        "paidAt": None if payment.paid_at is None else format_local_datetime(payment.paid_at),
    }


_SCENARIO_KEYS = ("version", "name", "seed", "clock", "auth", "stores", "payments", "failure", "latency", "rules", "journal")
_PATCHABLE = ("name", "seed", "clock", "auth", "stores", "failure", "latency", "journal")
_PAYMENT_KEYS = ("owner", "paymentId", "storeId", "orderName", "totalPayAmount", "currency", "customData", "status", "paidAt")
_WHEN_KEYS = ("operation", "owner", "paymentId", "storeId", "orderName", "currency", "totalPayAmount")


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
        return FilePath(__file__).parent.parent / "scenarios"


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


def parse_payments(data: Any) -> tuple[SeedPayment, ...]:
    """Seeded payments from a list (or one mapping), as ``POST /__fakepay/payments`` takes them."""
    reader = Reader(Document(data))
    payments = _payments(reader, data if isinstance(data, list) else [data], ())
    reader.check("payments")
    return payments


def parse_rule(data: Any) -> Rule:
    """One rule, as ``POST /__fakepay/rules`` takes it."""
    reader = Reader(Document(data))
    rule = _rule(reader, data, ())
    reader.check("rule")
    assert rule is not None
    return rule


def _scenario(r: Reader, default_name: str) -> Scenario:
    data = r.document.data
    if data is None and not r.problems:
        r.problem((), "the scenario is empty: write at least one of its keys, such as 'name: my-scenario'")
    doc = r.mapping(data, (), _SCENARIO_KEYS) if data is not None else {}
    if "version" in doc and (type(doc["version"]) is not int or doc["version"] != 1):
        r.problem(("version",), f"must be 1 (the only version so far), got {show(doc['version'], yaml=True)}")
    name = default_name if doc.get("name") is None else r.string(doc["name"], ("name",), _name)
    seed = None if doc.get("seed") is None else r.integer(doc["seed"], ("seed",), 0, MAX_SEED)
    clock = _clock(r, doc.get("clock"))
    auth = _auth(r, doc.get("auth"))
    stores = _stores(r, doc.get("stores"))
    payments = _payments(r, r.sequence(doc.get("payments"), ("payments",)), ("payments",))
    failure = _failure(r, doc.get("failure"))
    latency = _latency(r, doc.get("latency"))
    rule_items = r.sequence(doc.get("rules"), ("rules",))
    if len(rule_items) > MAX_RULES:
        r.problem(("rules",), f"at most {MAX_RULES} rules, got {len(rule_items)}")
    rules = tuple(
        rule for index, item in enumerate(rule_items) if (rule := _rule(r, item, ("rules", index))) is not None
    )
    journal = r.mapping(_absent_empty(doc.get("journal")), ("journal",), ("max_entries",))
    max_entries = DEFAULT_MAX_ENTRIES
    if journal.get("max_entries") is not None:
        max_entries = r.integer(journal["max_entries"], ("journal", "max_entries"), 1, 1_000_000) or max_entries
    r.check()
    return Scenario(
        name=name or default_name,
        seed=seed,
        clock=clock,
        auth=auth,
        stores=stores,
        payments=payments,
        failure=failure,
        latency=latency,
        rules=rules,
        journal_max_entries=max_entries,
    )


def _pattern(value: str) -> str | None:
    return f"must be a pattern of at most {MAX_GLOB} characters" if len(value) > MAX_GLOB else None


def _printable(value: str) -> str | None:
    return None if printable(value) else "must be printable Unicode text (no control characters)"


def _absent_empty(value: Any) -> Any:
    """A section left empty (``clock:``) is an empty mapping; anything else is read as written."""
    return {} if value is None else value


def _name(value: str) -> str | None:
    if len(value) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters"
    return _printable(value)


def _valid_timezone(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return f"unknown time zone {show(name)}; use an IANA name such as 'Asia/Seoul' or 'UTC'"
    return None


def _clock(r: Reader, value: Any) -> ClockConfig:
    path: Path = ("clock",)
    data = r.mapping(_absent_empty(value), path, ("timezone", "frozen_at"))
    timezone = DEFAULT_TIMEZONE
    if data.get("timezone") is not None:
        timezone = r.string(data["timezone"], (*path, "timezone"), _valid_timezone) or timezone
    frozen_at = None
    if data.get("frozen_at") is not None:
        frozen_at = r.timestamp(data["frozen_at"], (*path, "frozen_at"))
    return ClockConfig(timezone, frozen_at)


def _auth(r: Reader, value: Any) -> AuthConfig:
    path: Path = ("auth",)
    data = r.mapping(_absent_empty(value), path, ("mode", "signing_key"))
    mode = "strict" if data.get("mode") is None else r.choice(data["mode"], (*path, "mode"), AUTH_MODES)
    key = DEFAULT_SIGNING_KEY
    if data.get("signing_key") is not None:
        key = r.string(data["signing_key"], (*path, "signing_key"), _printable) or key
    return AuthConfig(mode or "strict", key)


def _github_id(value: str) -> str | None:
    return None if valid_github_id(value) else "must be 1 to 100 ASCII letters, digits, '-', '_' or '.'"


def _stores(r: Reader, value: Any) -> tuple[StoreConfig, ...]:
    stores = []
    owners_of: dict[str, str] = {}
    for index, item in enumerate(r.sequence(value, ("stores",))):
        path: Path = ("stores", index)
        data = r.mapping(item, path, ("githubId", "secret"), required=("githubId",))
        github_id = r.string(data["githubId"], (*path, "githubId"), _github_id) if data.get("githubId") is not None else None
        secret = None
        if data.get("secret") is not None:
            secret = r.string(data["secret"], (*path, "secret"), _no_spaces)
            if secret is not None and owners_of.setdefault(secret, github_id or "") != (github_id or ""):
                r.problem((*path, "secret"), f"the same secret is declared for '{owners_of[secret]}'")
        if github_id is not None:
            stores.append(StoreConfig(github_id, secret))
    return tuple(stores)


def _no_spaces(value: str) -> str | None:
    return "must not contain white space" if any(c.isspace() for c in value) else None


def _payments(r: Reader, items: list[Any], base: Path) -> tuple[SeedPayment, ...]:
    payments = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(items):
        path: Path = (*base, index)
        data = r.mapping(item, path, _PAYMENT_KEYS, required=("owner", "paymentId"))
        before = r.problem_count
        owner = r.string(data["owner"], (*path, "owner"), _github_id) if data.get("owner") is not None else None
        payment_id = r.string(data["paymentId"], (*path, "paymentId"), path_value_problem) if data.get("paymentId") is not None else None
        for key, check in PAYMENT_CHECKS:
            problem = check(data.get(key)) if isinstance(data, dict) and data else None
            if problem:
                r.problem((*path, key), problem)
        status = PAID if data.get("status") is None else r.choice(data["status"], (*path, "status"), STATUSES)
        paid_at = None if data.get("paidAt") is None else r.timestamp(data["paidAt"], (*path, "paidAt"))
        if status == FAILED and paid_at is not None:
            r.problem((*path, "paidAt"), "a FAILED payment has no paidAt")
        if owner is not None and payment_id is not None:
            if (owner, payment_id) in seen:
                r.problem((*path, "paymentId"), f"'{payment_id}' is already seeded for owner '{owner}'")
            seen.add((owner, payment_id))
        if r.problem_count == before and data:
            payments.append(
                SeedPayment(
                    owner=owner or "",
                    payment_id=payment_id or "",
                    request=InstantPaymentRequest._make(map(data.get, INSTANT_FIELDS)),
                    status=status or PAID,
                    paid_at=paid_at,
                )
            )
    return tuple(payments)


def _failure(r: Reader, value: Any) -> FailureConfig:
    path: Path = ("failure",)
    data = r.mapping(_absent_empty(value), path, ("rate", "status", "reuse_failed_payment_id"))
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
    data = r.mapping(_absent_empty(value), path, ("fixed_ms", "jitter_ms"))
    fixed, jitter = (
        0 if data.get(key) is None else r.integer(data[key], (*path, key), 0, MAX_DELAY_MS) or 0
        for key in ("fixed_ms", "jitter_ms")
    )
    return LatencyConfig(fixed, jitter)


def _rule(r: Reader, value: Any, path: Path) -> Rule | None:
    data = r.mapping(value, path, ("when", "then", "times"), required=("then",))
    before = r.problem_count
    when = _when(r, _absent_empty(data.get("when")), (*path, "when"))
    then = _outcome(r, data["then"], (*path, "then")) if data.get("then") is not None else None
    times = None if data.get("times") is None else r.integer(data["times"], (*path, "times"), 1, INT_MAX)
    if r.problem_count > before or then is None:
        return None
    return Rule(when, then, times)


def _when(r: Reader, value: Any, path: Path) -> When:
    data = r.mapping(value, path, _WHEN_KEYS)
    fields: dict[str, Any] = {}
    if data.get("operation") is not None:
        fields["operation"] = r.choice(data["operation"], (*path, "operation"), OPERATIONS)
    for key, name in (("owner", "owner"), ("paymentId", "payment_id"), ("storeId", "store_id"), ("orderName", "order_name")):
        if data.get(key) is not None:
            fields[name] = r.string(data[key], (*path, key), _pattern if key in ("paymentId", "orderName") else None)
    if data.get("currency") is not None:
        fields["currency"] = r.choice(data["currency"], (*path, "currency"), CURRENCIES)
    amount = data.get("totalPayAmount")
    amount_path = (*path, "totalPayAmount")
    if isinstance(amount, dict):
        bounds = r.mapping(amount, amount_path, ("gte", "lte"))
        for bound in ("gte", "lte"):
            if bounds.get(bound) is not None:
                fields[f"amount_{bound}"] = r.integer(bounds[bound], (*amount_path, bound), 0, INT_MAX)
        if not bounds:
            r.problem(amount_path, "needs 'gte', 'lte' or both")
    elif amount is not None:
        fields["amount_eq"] = r.integer(amount, amount_path, 0, INT_MAX)
    return When(**fields)


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

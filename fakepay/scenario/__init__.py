"""Scenarios (docs/scenarios.md): the whole starting state and behaviour of an instance, read
strictly from YAML or JSON, every problem reported as ``file:line:col: key.path: message``; and
the scenarios that ship with fakepay."""

from ..core.config import Scenario
from .reader import (
    load_scenario,
    parse_payments,
    parse_rule,
    parse_scenario,
    parse_scenario_bytes,
    parse_scenario_text,
    patched,
    scenario_data,
    scenario_file,
    shipped_scenarios,
)

__all__ = [
    "Scenario",
    "load_scenario",
    "parse_payments",
    "parse_rule",
    "parse_scenario",
    "parse_scenario_bytes",
    "parse_scenario_text",
    "patched",
    "scenario_data",
    "scenario_file",
    "shipped_scenarios",
]

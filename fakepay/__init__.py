"""fakepay: a stateful fake of the CEOS payment server, for tests.

The public API is what ``__all__`` names. Names are imported on first use, so that importing
``fakepay`` (as pytest does with the plugin) costs nothing until fakepay is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AlreadyCancelled": "errors",
    "AlreadyPaid": "errors",
    "FakePayError": "errors",
    "InternalError": "errors",
    "InvalidRequest": "errors",
    "MethodNotAllowed": "errors",
    "PayloadTooLarge": "errors",
    "PaymentFailed": "errors",
    "PaymentNotFound": "errors",
    "PaymentNotPaid": "errors",
    "RouteNotFound": "errors",
    "ScenarioError": "errors",
    "Unauthorized": "errors",
    "UnsupportedMediaType": "errors",
    "Clock": "clock",
    "environment_warnings": "environment",
    "issue_secret": "auth",
    "Payment": "payments",
    "Rule": "rules",
    "Scenario": "scenario",
    "load_scenario": "scenario",
    "parse_scenario": "scenario",
    "parse_scenario_text": "scenario",
    "scenario_file": "scenario",
    "shipped_scenarios": "scenario",
    "PaymentService": "service",
    "create_app": "app",
    "Server": "runner",
    "FakePay": "handle",
    "FakePayControlError": "handle",
}

__all__ = [
    "AlreadyCancelled",
    "AlreadyPaid",
    "Clock",
    "FakePay",
    "FakePayControlError",
    "FakePayError",
    "InternalError",
    "InvalidRequest",
    "MethodNotAllowed",
    "PayloadTooLarge",
    "Payment",
    "PaymentFailed",
    "PaymentNotFound",
    "PaymentNotPaid",
    "PaymentService",
    "RouteNotFound",
    "Rule",
    "Scenario",
    "ScenarioError",
    "Server",
    "Unauthorized",
    "UnsupportedMediaType",
    "create_app",
    "environment_warnings",
    "issue_secret",
    "load_scenario",
    "parse_scenario",
    "parse_scenario_text",
    "scenario_file",
    "shipped_scenarios",
]


def __getattr__(name: str) -> Any:
    """Import the module of ``name`` and keep every name it exports, so that names of one module
    always come from the same import of it (pytester imports modules again between runs)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fakepay' has no attribute '{name}'")
    loaded = importlib.import_module(f".{module}", __name__)
    globals().update((exported, getattr(loaded, exported)) for exported, owner in _EXPORTS.items() if owner == module)
    return globals()[name]


def __dir__() -> list[str]:
    return [*globals(), *__all__]


if TYPE_CHECKING:
    from .app import create_app
    from .auth import issue_secret
    from .clock import Clock
    from .environment import environment_warnings
    from .errors import (
        AlreadyCancelled,
        AlreadyPaid,
        FakePayError,
        InternalError,
        InvalidRequest,
        MethodNotAllowed,
        PayloadTooLarge,
        PaymentFailed,
        PaymentNotFound,
        PaymentNotPaid,
        RouteNotFound,
        ScenarioError,
        Unauthorized,
        UnsupportedMediaType,
    )
    from .handle import FakePay, FakePayControlError
    from .payments import Payment
    from .rules import Rule
    from .runner import Server
    from .scenario import Scenario, load_scenario, parse_scenario, parse_scenario_text, scenario_file, shipped_scenarios
    from .service import PaymentService

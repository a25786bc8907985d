"""fakepay: a stateful fake of the CEOS payment server, for tests.

The public API is what ``__all__`` names. Names are imported on first use, so that importing
``fakepay`` (as pytest does with the plugin) costs nothing until fakepay is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AlreadyCancelled": "dialects.ceos.errors",
    "AlreadyPaid": "dialects.ceos.errors",
    "FakePayError": "core.errors",
    "InternalError": "core.errors",
    "InvalidRequest": "core.errors",
    "MethodNotAllowed": "core.errors",
    "PayloadTooLarge": "core.errors",
    "PaymentFailed": "dialects.ceos.errors",
    "PaymentNotFound": "core.errors",
    "PaymentNotPaid": "dialects.ceos.errors",
    "RouteNotFound": "core.errors",
    "ScenarioError": "core.errors",
    "Unauthorized": "core.errors",
    "UnsupportedMediaType": "core.errors",
    "Clock": "core.clock",
    "environment_warnings": "environment",
    "issue_secret": "dialects.ceos.secrets",
    "Payment": "dialects.ceos.payments",
    "Rule": "core.rules",
    "RetryPolicy": "core.webhooks",
    "Scenario": "core.config",
    "load_scenario": "scenario",
    "parse_scenario": "scenario",
    "parse_scenario_text": "scenario",
    "scenario_file": "scenario",
    "shipped_scenarios": "scenario",
    "PaymentService": "server",
    "create_app": "server",
    "Server": "server",
    "FakePay": "testing.client",
    "FakePayControlError": "testing.client",
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
    "RetryPolicy",
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
    from .core.clock import Clock
    from .core.config import Scenario
    from .core.errors import (
        FakePayError,
        InternalError,
        InvalidRequest,
        MethodNotAllowed,
        PayloadTooLarge,
        PaymentNotFound,
        RouteNotFound,
        ScenarioError,
        Unauthorized,
        UnsupportedMediaType,
    )
    from .core.rules import Rule
    from .core.webhooks import RetryPolicy
    from .dialects.ceos.errors import AlreadyCancelled, AlreadyPaid, PaymentFailed, PaymentNotPaid
    from .dialects.ceos.payments import Payment
    from .dialects.ceos.secrets import issue_secret
    from .environment import environment_warnings
    from .scenario import load_scenario, parse_scenario, parse_scenario_text, scenario_file, shipped_scenarios
    from .server import PaymentService, Server, create_app
    from .testing.client import FakePay, FakePayControlError

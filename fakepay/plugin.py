"""The pytest plugin: the ``fakepay`` fixture, the ``fakepay`` marker and their options.

Registered through the ``pytest11`` entry point. Importing it loads nothing but pytest; the
server is started the first time a test asks for it, once per session (and per xdist worker).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from aiohttp import web

    from fakepay import FakePay

__all__ = ["fakepay", "fakepay_app", "fakepay_session"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fakepay", "fake CEOS payment server")
    group.addoption(
        "--fakepay-scenario", metavar="NAME|FILE",
        help="scenario the fakepay fixture starts from: a shipped one by name, or a file relative to the current directory",
    )
    group.addoption("--fakepay-url", metavar="URL", help="use the fakepay already running at URL (also FAKEPAY_URL)")
    parser.addini("fakepay_scenario", "scenario the fakepay fixture starts from")
    parser.addini("fakepay_url", "use the fakepay already running at this URL")


def pytest_configure(config: pytest.Config) -> None:
    scenario = _setting(config, "scenario")
    if scenario:
        _scenario_file(scenario)
    config.addinivalue_line(
        "markers",
        "fakepay(scenario=None, failure_rate=None, seed=None): the scenario, failure rate or seed of the "
        "fakepay fixture for this test",
    )


def _setting(config: pytest.Config, name: str, env: str | None = None) -> str | None:
    value = config.getoption(f"--fakepay-{name}") or config.getini(f"fakepay_{name}")
    return value or (os.environ.get(env) if env else None) or None


def _scenario_file(value: str | os.PathLike[str]) -> Path:
    """A shipped scenario's name or a path relative to the current directory, as a file; a usage
    error when there is none."""
    from fakepay import ScenarioError, scenario_file

    try:
        return scenario_file(value)
    except ScenarioError as error:
        raise pytest.UsageError(error.problems[0]) from None


@pytest.fixture(scope="session")
def fakepay_session(pytestconfig: pytest.Config) -> Iterator[FakePay]:
    """The session's fakepay: started once (per xdist worker), or attached by URL."""
    from fakepay import FakePay

    url = _setting(pytestconfig, "url", "FAKEPAY_URL")
    scenario = _setting(pytestconfig, "scenario")
    handle = FakePay(url, scenario=_scenario_file(scenario) if scenario else None)
    with handle:
        yield handle


@pytest.fixture
def fakepay(request: pytest.FixtureRequest, fakepay_session: FakePay) -> FakePay:
    """A running fakepay, back at its scenario's start for this test (failure rate 0 unless the
    scenario or a ``@pytest.mark.fakepay(...)`` marker says otherwise)."""
    marker = request.node.get_closest_marker("fakepay")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    unknown = set(options) - {"scenario", "failure_rate", "seed"}
    if unknown or (marker and marker.args):
        raise pytest.UsageError(f"@pytest.mark.fakepay takes only scenario=, failure_rate=, seed=; got {sorted(unknown) or marker.args}")
    fakepay_session.restore(
        scenario=_scenario_file(options["scenario"]) if options.get("scenario") else None,
        failure_rate=options.get("failure_rate"),
        seed=options.get("seed"),
    )
    return fakepay_session


@pytest.fixture
def fakepay_app() -> web.Application:
    """A fresh fakepay ``aiohttp.web.Application`` (failure rate 0), for pytest-aiohttp's ``aiohttp_client``."""
    from fakepay import PaymentService, create_app, parse_scenario

    return create_app(PaymentService(parse_scenario({"version": 1, "failure": {"rate": 0.0}})))

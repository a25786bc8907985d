"""The pytest plugin: the ``fakepay`` fixture, the ``fakepay`` marker and their options.

Registered through the ``pytest11`` entry point. Importing it loads nothing but pytest; the
server is started the first time a test asks for it, once per session (and per xdist worker).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from aiohttp import web

    from fakepay import FakePay

__all__ = ["fakepay", "fakepay_app", "fakepay_session"]

_SCENARIO_HELP = "a shipped scenario's name, or a file relative to the current directory"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fakepay", "fake CEOS payment server")
    group.addoption("--fakepay-scenario", metavar="NAME|FILE", help=f"scenario every test starts from: {_SCENARIO_HELP}")
    group.addoption("--fakepay-url", metavar="URL", help="use the fakepay already running at URL (also FAKEPAY_URL)")
    group.addoption(
        "--fakepay-control-token", metavar="T",
        help="token of the fakepay's control API, as given to 'fakepay serve --control-token' (also FAKEPAY_CONTROL_TOKEN)",
    )
    parser.addini("fakepay_scenario", f"scenario every test starts from: {_SCENARIO_HELP}")
    parser.addini("fakepay_url", "use the fakepay already running at this URL")
    parser.addini("fakepay_control_token", "token of the fakepay's control API")


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
    value = config.getoption(f"--fakepay-{name.replace('_', '-')}") or config.getini(f"fakepay_{name}")
    return value or (os.environ.get(env) if env else None) or None


def _scenario_file(value: str | os.PathLike[str]) -> Path:
    """The file of a shipped scenario's name or of a path; a usage error when there is none."""
    from fakepay import ScenarioError, scenario_file

    try:
        return scenario_file(value)
    except ScenarioError as error:
        raise pytest.UsageError(error.problems[0]) from None


def _session_scenario(config: pytest.Config) -> Path | None:
    scenario = _setting(config, "scenario")
    return _scenario_file(scenario) if scenario else None


def _marker(request: pytest.FixtureRequest) -> tuple[Path | None, float | None, int | None]:
    """The scenario file, failure rate and seed of the test's ``fakepay`` marker."""
    marker = request.node.get_closest_marker("fakepay")
    options = dict(marker.kwargs) if marker else {}
    unknown = set(options) - {"scenario", "failure_rate", "seed"}
    if unknown or (marker and marker.args):
        pytest.fail(f"@pytest.mark.fakepay takes only scenario=, failure_rate=, seed=; got "
                    f"{sorted(unknown) or marker.args}", pytrace=False)
    try:
        scenario = _scenario_file(options["scenario"]) if options.get("scenario") else None
    except pytest.UsageError as error:
        pytest.fail(str(error), pytrace=False)
    return scenario, options.get("failure_rate"), options.get("seed")


@pytest.fixture(scope="session")
def fakepay_session(pytestconfig: pytest.Config) -> Iterator[FakePay]:
    """The session's fakepay: started once (per xdist worker), or attached by URL and, at the
    end, put back on the scenario it was serving."""
    from fakepay import FakePay

    url = _setting(pytestconfig, "url", "FAKEPAY_URL")
    scenario = _session_scenario(pytestconfig)
    try:
        handle = FakePay(
            url,
            scenario=scenario,
            failure_rate=0.0 if url and scenario is None else None,  # as a server started here
            control_token=_setting(pytestconfig, "control_token", "FAKEPAY_CONTROL_TOKEN"),
        )
    except ValueError as error:
        raise pytest.UsageError(f"--fakepay-url / FAKEPAY_URL: {error}") from None
    with handle:
        yield handle


@pytest.fixture
def fakepay(request: pytest.FixtureRequest, fakepay_session: FakePay) -> FakePay:
    """A running fakepay, back at its scenario's start for this test (failure rate 0 unless the
    scenario or a ``@pytest.mark.fakepay(...)`` marker says otherwise)."""
    scenario, failure_rate, seed = _marker(request)
    fakepay_session.restore(scenario=scenario, failure_rate=failure_rate, seed=seed)
    return fakepay_session


@pytest.fixture
def fakepay_app(request: pytest.FixtureRequest) -> web.Application:
    """A fresh fakepay ``aiohttp.web.Application`` for pytest-aiohttp's ``aiohttp_client``, from the
    same start as the ``fakepay`` fixture: the marker's or the session's scenario, else failure rate 0."""
    from fakepay import PaymentService, Scenario, create_app, load_scenario

    scenario_file, failure_rate, seed = _marker(request)
    scenario_file = scenario_file or _session_scenario(request.config)
    scenario = load_scenario(scenario_file) if scenario_file else Scenario().overridden(failure_rate=0.0)
    return create_app(PaymentService(scenario.overridden(seed=seed, failure_rate=failure_rate)))

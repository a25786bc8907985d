"""The pytest plugin: the ``fakepay`` fixture, the ``fakepay`` marker and their options.

Registered through the ``pytest11`` entry point. Importing it loads nothing but pytest; the
server is started the first time a test asks for it, once per session (and per xdist worker), or
attached to, and then worked in through a sandbox of each session's (or each test's) own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import pytest

if TYPE_CHECKING:
    from aiohttp import web

    from fakepay import FakePay, Scenario

__all__ = ["fakepay", "fakepay_app", "fakepay_portone", "fakepay_portone_session", "fakepay_session"]

_SCENARIO_HELP = "a shipped scenario's name, or a file relative to the current directory"
#: The session's scenario, read once when pytest starts.
_SESSION_SCENARIO = pytest.StashKey["Scenario | None"]()
#: Where the tests work (docs/pytest.md, "Sandboxes"): a sandbox of each session's own, of each
#: test's own, or (attached) the server's own state.
_SANDBOXES = ("session", "test", "none")
_SANDBOX_HELP = ("where the tests work on a fakepay attached to: in a sandbox of each pytest process's own (session, "
                 "the default), in one of each test's own (test), or on its own state, shared by every process (none)")
_SESSION_SANDBOX = pytest.StashKey[str]()
_T = TypeVar("_T")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fakepay", "fake payment server (CEOS, PortOne V2)")
    group.addoption("--fakepay-scenario", metavar="NAME|FILE", help=f"scenario every test starts from: {_SCENARIO_HELP}")
    group.addoption("--fakepay-url", metavar="URL", help="use the fakepay already running at URL (also FAKEPAY_URL)")
    group.addoption(
        "--fakepay-control-token", metavar="T",
        help="token of the fakepay's control API, as given to 'fakepay serve --control-token' (also FAKEPAY_CONTROL_TOKEN)",
    )
    group.addoption("--fakepay-sandbox", choices=_SANDBOXES, help=_SANDBOX_HELP)
    parser.addini("fakepay_scenario", f"scenario every test starts from: {_SCENARIO_HELP}")
    parser.addini("fakepay_url", "use the fakepay already running at this URL")
    parser.addini("fakepay_control_token", "token of the fakepay's control API")
    parser.addini("fakepay_sandbox", f"{'|'.join(_SANDBOXES)}: {_SANDBOX_HELP}")


class _Setting(NamedTuple):
    """A setting's value, and how the user gave it (an option, an ini option or a variable), for messages."""

    value: str
    given: str


def _setting(config: pytest.Config, name: str, env: str | None = None) -> _Setting | None:
    option = f"--fakepay-{name.replace('_', '-')}"
    if config.getoption(option):
        return _Setting(config.getoption(option), option)
    if config.getini(f"fakepay_{name}"):
        return _Setting(config.getini(f"fakepay_{name}"), f"ini option fakepay_{name}")
    if env and os.environ.get(env):
        return _Setting(os.environ[env], env)
    return None


def pytest_configure(config: pytest.Config) -> None:
    """Check every setting that needs no server, so that a mistake is one usage error (exit 4)."""
    config.addinivalue_line(
        "markers",
        "fakepay(scenario=None, failure_rate=None, seed=None, sandbox=None): the scenario, failure rate or seed "
        "of the fakepay fixture for this test, and sandbox='test' for a sandbox of its own",
    )
    if not hasattr(config, "workerinput"):  # once, not again in each xdist worker
        from fakepay import environment_warnings

        for warning in environment_warnings(os.environ):
            print(f"fakepay: {warning}", file=sys.stderr)
    scenario, sandbox = _setting(config, "scenario"), _setting(config, "sandbox")
    if sandbox and sandbox.value not in _SANDBOXES:  # the option's choices are checked already
        raise pytest.UsageError(f"{sandbox.given}: takes {', '.join(_SANDBOXES)}; got {sandbox.value!r}")
    config.stash[_SESSION_SANDBOX] = sandbox.value if sandbox else "session"
    try:
        config.stash[_SESSION_SCENARIO] = _load_scenario(scenario.value, scenario.given) if scenario else None
    except _SetupError as error:
        raise pytest.UsageError(str(error)) from None
    url, token = _url(config), _control_token(config)
    if url or token:
        from fakepay import FakePay

        _check(url, FakePay)
        _check(token, lambda value: FakePay(control_token=value))


def _check(setting: _Setting | None, make: Callable[[str], object]) -> None:
    """A usage error naming ``setting`` if ``make`` refuses its value with a ``ValueError``."""
    if setting is not None:
        try:
            make(setting.value)
        except ValueError as error:
            raise pytest.UsageError(f"{setting.given}: {error}") from None


class _SetupError(Exception):
    """A setting that keeps the tests from their fakepay; the message names it, one line per problem."""


def _load_scenario(name: str | os.PathLike[str], given: str) -> Scenario:
    """The scenario of a shipped name or a file, which the user gave as ``given``."""
    from fakepay import ScenarioError, load_scenario, scenario_file

    try:
        return load_scenario(scenario_file(name))
    except ScenarioError as error:
        raise _SetupError("\n".join(f"{given}: {problem}" for problem in error.problems)) from None
    except OSError as error:
        raise _SetupError(f"{given}: cannot read {error.filename}: {error.strerror}") from None


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist starts its workers
def pytest_sessionstart(session: pytest.Session) -> None:
    """With pytest-xdist, which leaves collecting to its workers, check the fakepay to attach to now."""
    if session.config.pluginmanager.has_plugin("dsession"):
        _check_attached(session.config)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Check the fakepay to attach to before the first test, if a test to run uses it (not in an
    xdist worker, which cannot end the session with a usage error)."""
    config = session.config
    if config.option.collectonly or hasattr(config, "workerinput"):
        return
    if any({"fakepay_session", "fakepay_portone_session"} & set(getattr(item, "fixturenames", ())) for item in session.items):
        _check_attached(config)


def _url(config: pytest.Config) -> _Setting | None:
    return _setting(config, "url", "FAKEPAY_URL")


def _control_token(config: pytest.Config) -> _Setting | None:
    return _setting(config, "control_token", "FAKEPAY_CONTROL_TOKEN")


def _check_attached(config: pytest.Config) -> None:
    """Attach to the fakepay at ``--fakepay-url``, if given, and make a sandbox there unless told
    not to, leaving it as found; a usage error if that fails."""
    url, token = _url(config), _control_token(config)
    if url is None:
        return
    from fakepay import FakePay

    handle = FakePay(url.value, control_token=token and token.value)
    try:
        _attach(handle, url, token)
        if config.stash[_SESSION_SANDBOX] != "none":
            _sandbox(handle, None, None, None).stop()
    except _SetupError as error:
        raise pytest.UsageError(str(error)) from None
    finally:
        handle.stop()


def _attach(handle: FakePay, url: _Setting, token: _Setting | None) -> None:
    """Start ``handle`` on the fakepay at ``url``; ``_SetupError`` naming the setting to change
    when it cannot."""
    import http.client
    import json

    from fakepay import FakePayControlError

    try:
        handle.start()
    except OSError as error:  # "no fakepay answers at URL: why"
        raise _SetupError(f"{url.given}: {error}") from None
    except FakePayControlError as error:
        if error.type == "UNAUTHORIZED" and token is None:
            raise _SetupError(
                f"the fakepay at {url.value} needs a control token: give the one it was started with as "
                "--fakepay-control-token T, the ini option fakepay_control_token or FAKEPAY_CONTROL_TOKEN"
            ) from None
        if error.type == "UNAUTHORIZED" and token is not None:
            raise _SetupError(f"{token.given}: the fakepay at {url.value} refused this control token") from None
        answer = str(error.status) if error.type == "HTTP_ERROR" else f"{error.status} {error.type}: {error.message}"
        raise _SetupError(f"{url.given}: {url.value} is not a fakepay with a control API (it answered {answer[:200]})") from None
    except json.JSONDecodeError:
        raise _SetupError(f"{url.given}: {url.value} is not a fakepay (it answered without JSON)") from None
    except http.client.HTTPException:
        raise _SetupError(f"{url.given}: {url.value} is not a fakepay (it does not answer HTTP)") from None


def _sandbox(server: FakePay, scenario: Scenario | None, failure_rate: float | None, seed: int | None) -> FakePay:
    """A handle on a new sandbox of ``server``, from ``scenario`` or else from the server's with no
    random failures, with ``failure_rate`` and ``seed`` over it; ``_SetupError`` when none is made."""
    from fakepay import FakePayControlError

    try:
        return server.sandbox(scenario=scenario, seed=seed,
                              failure_rate=0.0 if scenario is None and failure_rate is None else failure_rate)
    except FakePayControlError as error:  # an older fakepay, or one with no room left
        raise _SetupError(f"the fakepay at {server.url} made no sandbox ({error}); to work on its own state, "
                          "shared by every test, give --fakepay-sandbox=none") from None


def _or_fail(setup: Callable[[], _T]) -> _T:
    """What ``setup`` gives; when it raises ``_SetupError``, an error of the test that says why,
    without a traceback."""
    try:
        return setup()
    except _SetupError as error:
        raise pytest.fail.Exception(str(error), pytrace=False) from None


def _plain(api: str = "ceos") -> Scenario:
    """The scenario of a server of the API ``api`` the plugin starts when none is given: nothing
    seeded, no random failures."""
    from fakepay import Scenario

    return Scenario(api=api).overridden(failure_rate=0.0)


class _Start(NamedTuple):
    """How a test's fakepay starts, as its ``fakepay`` marker says (None: as the session's)."""

    scenario: Scenario | None
    failure_rate: float | None
    seed: int | None
    sandbox: str | None


def _marker(request: pytest.FixtureRequest) -> _Start:
    """The start the test's ``fakepay`` marker gives; when it is wrong, an error of the test."""
    return _or_fail(lambda: _marker_options(request.node.get_closest_marker("fakepay")))


def _marker_options(marker: pytest.Mark | None) -> _Start:
    """The marker's options, checked by the rules of a scenario; ``_SetupError`` says what is wrong."""
    from fakepay import Scenario, ScenarioError
    from fakepay.scenario import patched

    options, arguments = (dict(marker.kwargs), marker.args) if marker else ({}, ())
    unknown = set(options) - set(_Start._fields)
    if unknown or arguments:
        raise _SetupError("@pytest.mark.fakepay takes only scenario=, failure_rate=, seed=, sandbox=; "
                          f"got {sorted(unknown) or arguments}")
    sandbox = options.get("sandbox")
    if sandbox not in (None, "session", "test"):
        raise _SetupError(f"@pytest.mark.fakepay: sandbox= takes 'session' or 'test'; got {sandbox!r}")
    failure_rate, seed = options.get("failure_rate"), options.get("seed")
    for name, value, patch in (("failure_rate", failure_rate, {"failure": {"rate": failure_rate}}), ("seed", seed, {"seed": seed})):
        try:
            if value is not None:
                patched(Scenario(), patch)
        except ScenarioError as error:  # "failure.rate: must be a number from 0 to 1, got 2"
            raise _SetupError(f"@pytest.mark.fakepay: {name}={value!r}: {error.problems[0].partition(': ')[2]}") from None
    scenario = options.get("scenario")
    if scenario is None:
        return _Start(None, failure_rate, seed, sandbox)
    if not isinstance(scenario, (str, os.PathLike)):
        raise _SetupError(f"@pytest.mark.fakepay: scenario= takes {_SCENARIO_HELP}; got {scenario!r}")
    return _Start(_load_scenario(scenario, "@pytest.mark.fakepay: scenario"), failure_rate, seed, sandbox)


def _of_api(scenario: Scenario | None, api: str) -> Scenario | None:
    """``scenario`` if it is of the API ``api``, else None."""
    return scenario if scenario is not None and scenario.api == api else None


def _session(config: pytest.Config, api: str) -> Iterator[FakePay]:
    """A session's fakepay of the API ``api``: started once (per xdist worker), from the session's
    scenario if it is of that API; or attached by URL and worked in through a sandbox of the
    session's own, deleted at the end (with ``--fakepay-sandbox=none``, the server itself, put
    back at the end on the scenario it was serving)."""
    from fakepay import FakePay

    url, token = _url(config), _control_token(config)
    scenario = _of_api(config.stash[_SESSION_SCENARIO], api)
    shared = url is not None and config.stash[_SESSION_SANDBOX] == "none"
    handle = FakePay(
        url and url.value,
        scenario=scenario if shared else scenario or _plain(api) if url is None else None,
        failure_rate=0.0 if shared and scenario is None else None,  # as a server started here
        control_token=token and token.value,
    )
    if url:  # not checked before the tests: in an xdist worker, or it changed since
        _or_fail(lambda: _attach(handle, url, token))
    with handle:
        if url is None or shared:
            yield handle
        else:
            with _or_fail(lambda: _sandbox(handle, scenario or _plain(api), None, None)) as sandbox:
                yield sandbox


def _each_test(request: pytest.FixtureRequest, session: FakePay, api: str) -> Iterator[FakePay]:
    """A session's fakepay of the API ``api``, back at its scenario's start for this test (failure
    rate 0 unless the scenario or a ``@pytest.mark.fakepay(...)`` marker says otherwise), or a new
    sandbox of its server for this test; a marker's scenario of another API is another fixture's."""
    start = _marker(request)
    config = request.config
    marked = _of_api(start.scenario, api)
    if (start.sandbox or config.stash[_SESSION_SANDBOX]) == "test":
        # from the server's scenario when attached; in process, from the one it was started with
        scenario = marked or _of_api(config.stash[_SESSION_SCENARIO], api) or (None if _url(config) else _plain(api))
        with _or_fail(lambda: _sandbox(session, scenario, start.failure_rate, start.seed)) as sandbox:
            yield sandbox
    else:
        session.restore(scenario=marked, failure_rate=start.failure_rate, seed=start.seed)
        yield session


@pytest.fixture(scope="session")
def fakepay_session(pytestconfig: pytest.Config) -> Iterator[FakePay]:
    """The session's fakepay of the CEOS API (``_session``)."""
    yield from _session(pytestconfig, "ceos")


@pytest.fixture
def fakepay(request: pytest.FixtureRequest, fakepay_session: FakePay) -> Iterator[FakePay]:
    """A running fakepay of the CEOS API, back at its scenario's start for this test (failure rate
    0 unless the scenario or a ``@pytest.mark.fakepay(...)`` marker says otherwise): the session's,
    or a new sandbox of its server with ``--fakepay-sandbox=test`` or
    ``@pytest.mark.fakepay(sandbox="test")``."""
    yield from _each_test(request, fakepay_session, "ceos")


@pytest.fixture(scope="session")
def fakepay_portone_session(pytestconfig: pytest.Config) -> Iterator[FakePay]:
    """The session's fakepay of PortOne V2 (``_session``): attached by URL, always a sandbox of the
    session's own unless the server serves PortOne and ``--fakepay-sandbox=none`` says to share it."""
    yield from _session(pytestconfig, "portone")


@pytest.fixture
def fakepay_portone(request: pytest.FixtureRequest, fakepay_portone_session: FakePay) -> Iterator[FakePay]:
    """A running fakepay of PortOne V2, as ``fakepay`` is one of the CEOS API (docs/portone.md)."""
    yield from _each_test(request, fakepay_portone_session, "portone")


@pytest.fixture
def fakepay_app(request: pytest.FixtureRequest) -> web.Application:
    """A fresh fakepay ``aiohttp.web.Application`` for pytest-aiohttp's ``aiohttp_client``, from the
    same start as the ``fakepay`` fixture: the marker's or the session's scenario, else failure rate 0."""
    from fakepay import PaymentService, create_app

    start = _marker(request)
    scenario = start.scenario or request.config.stash[_SESSION_SCENARIO] or _plain()
    return create_app(PaymentService(scenario.overridden(seed=start.seed, failure_rate=start.failure_rate)))

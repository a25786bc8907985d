"""The ``fakepay`` command: ``serve``, ``validate`` and ``secret``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import re
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, TextIO, cast

from . import (
    Scenario,
    ScenarioError,
    __version__,
    environment_warnings,
    load_scenario,
    scenario_file,
    shipped_scenarios,
)
from .core.config import DEFAULT_API
from .core.errors import InvalidRequest
from .core.instance import Instance
from .core.sandboxes import DEFAULT_IDLE_S, DEFAULT_LIMIT
from .core.webhooks import DEFAULT_RETRY, RetryPolicy
from .dialects import DIALECTS, dialect
from .http.hosts import CONTROL_TOKEN_RULE, allowed_host_names, valid_control_token
from .scenario import patched
from .scenario.envelope import MAX_SEED

if TYPE_CHECKING:
    from .server import Server

__all__ = ["main"]

EXIT_USAGE = 2
MAX_SANDBOXES = 100_000
MAX_IDLE_S = 7 * 24 * 3600.0
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")
ENVIRONMENT_PREFIX = "FAKEPAY_"
YES, NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
SCENARIO_HELP = (
    f"a shipped scenario by name ({', '.join(shipped_scenarios())}) "
    "or a file, relative to the current directory"
)
#: The addresses that mean "every address of this machine", each with its family and loopback address.
WILDCARDS = {"0.0.0.0": (socket.AF_INET, "127.0.0.1"), "::": (socket.AF_INET6, "::1")}


def _rate(text: str) -> float:
    if not _DECIMAL.fullmatch(text) or not 0.0 <= float(text) <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text!r}")
    return float(text)


def _token(text: str) -> str:
    if not valid_control_token(text):
        raise argparse.ArgumentTypeError(CONTROL_TOKEN_RULE)
    return text


def _host_names(text: str) -> list[str]:
    try:
        return allowed_host_names(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


class _AddHostNames(argparse.Action):
    """``--allow-host``: may be repeated; the names on the command line replace the environment's."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        given = getattr(namespace, self.dest)
        earlier = [] if given is self.default else given
        setattr(namespace, self.dest, [*earlier, *cast(list[str], values)])


def _seed(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {MAX_SEED}, got {text!r}")
    return int(text)


def _host(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must be an address or a host name, such as 127.0.0.1 or 0.0.0.0")
    return text


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 5 or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got '{text}'")
    return int(text)


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 6 or not 0 <= int(text) <= MAX_SANDBOXES:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {MAX_SANDBOXES}, got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    if not _DECIMAL.fullmatch(text) or not 1.0 <= float(text) <= MAX_IDLE_S:
        raise argparse.ArgumentTypeError(f"must be a number of seconds from 1 to {MAX_IDLE_S:g}, got {text!r}")
    return float(text)


def _within(low: float, high: float, whole: bool = False) -> Callable[[str], float]:
    """A converter of a decimal (or, ``whole``, a whole number) from ``low`` to ``high``."""
    kind = "whole number" if whole else "number"

    def convert(text: str) -> float:
        if not (text.isascii() and text.isdigit() if whole else _DECIMAL.fullmatch(text)) or len(text) > 12 \
                or not low <= float(text) <= high:
            raise argparse.ArgumentTypeError(f"must be a {kind} from {low:g} to {high:g}, got {text!r}")
        return int(text) if whole else float(text)

    return convert


def _flag(text: str) -> bool:
    if text.lower() in YES + NO:
        return text.lower() in YES
    raise argparse.ArgumentTypeError(f"must be one of {', '.join(YES + NO)}, got '{text}'")


@dataclass(frozen=True)
class _NotGiven:
    """The value of an option that is not on the command line: its variable's, else its default."""

    variable: str
    text: str
    default: Any
    convert: Callable[[str], Any]


def _from_environment(options: Sequence[argparse.Action], environ: Mapping[str, str]) -> None:
    """Make ``FAKEPAY_<OPTION>`` stand in for each option that is not on the command line (under
    whichever spelling or abbreviation), so that the command line wins, and name the variable in
    the option's help. `_settle` puts in the values once the command line is parsed."""
    for action in options:
        variable = ENVIRONMENT_PREFIX + action.dest.upper()
        action.help = f"{action.help} [env {variable}]"
        convert = _flag if action.nargs == 0 else action.type if callable(action.type) else str
        action.default = _NotGiven(variable, environ.get(variable, ""), action.default, convert)


def _settle(args: argparse.Namespace) -> list[str]:
    """Give each option not on the command line its variable's value (an empty variable counts as
    unset), else its default; note in ``args.variables`` which came from a variable, and return
    what is wrong with each variable's value."""
    args.variables, bad = {}, []
    for dest, value in list(vars(args).items()):
        if isinstance(value, _NotGiven):
            setattr(args, dest, value.default)
            if value.text:
                try:
                    setattr(args, dest, value.convert(value.text))
                    args.variables[dest] = value.variable
                except argparse.ArgumentTypeError as error:
                    bad.append(f"{value.variable}: {error}")
    return bad


def _given(args: argparse.Namespace, dest: str, value: object = None) -> str:
    """How the user gave an option, for a message: ``--port``/``FAKEPAY_PORT``, with ``value``
    ``--port 0``/``FAKEPAY_PORT=0``."""
    variable = args.variables.get(dest)
    if variable:
        return variable if value is None else f"{variable}={value}"
    option = "--" + dest.replace("_", "-")
    return option if value is None else f"{option} {value}"


class _Version(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        try:
            installed = version("fakepay")
        except PackageNotFoundError:  # run from a source tree that is not installed
            installed = f"{__version__} (not installed)"
        print(f"fakepay {installed}")
        parser.exit()


def _with_help(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``parser`` (made with ``add_help=False``) with a ``--help`` whose help is a sentence too."""
    parser.add_argument("-h", "--help", action="help", help="Show this help and exit.")
    return parser


def _parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = _with_help(argparse.ArgumentParser(
        prog="fakepay",
        description="A stateful fake of the CEOS payment server, for tests.",
        add_help=False,
    ))
    parser.add_argument("--version", action=_Version, nargs=0, help="Show the version and exit.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = _with_help(commands.add_parser(
        "serve",
        help="Run the fake server.",
        description="Run the fake server until SIGINT or SIGTERM.",
        epilog=f"Every option can also be set by the environment variable in brackets; the command line wins. "
        f"An empty variable counts as unset; FAKEPAY_NO_CONTROL takes {'/'.join(YES)} or {'/'.join(NO)}.",
        add_help=False,
    ))
    _from_environment(
        [
            serve.add_argument(
                "--host", type=_host, default="127.0.0.1",
                help="The address to bind (default: 127.0.0.1); 0.0.0.0 is every address of the machine.",
            ),
            serve.add_argument("--port", type=_port, default=8080, help="The port to bind; 0 picks a free one (default: 8080)."),
            serve.add_argument(
                "--api", choices=tuple(DIALECTS), metavar="API",
                help=f"The API to serve: {' or '.join(DIALECTS)} (default: the scenario's, else {DEFAULT_API}).",
            ),
            serve.add_argument(
                "--scenario", metavar="NAME|FILE",
                help=f"The scenario to start from (default: the real server's behaviour): {SCENARIO_HELP}.",
            ),
            serve.add_argument("--seed", type=_seed, help="The seed of the random failures (default: the scenario's, else random)."),
            serve.add_argument(
                "--failure-rate", type=_rate, metavar="R",
                help="The share of instant payments that fail, 0 to 1 (default: the scenario's, 0.1 without one).",
            ),
            serve.add_argument("--journal-file", metavar="F", help="Also append every journal entry to F as JSON Lines."),
            serve.add_argument("--control-token", type=_token, metavar="T", help="Require 'Authorization: Bearer T' on the control API."),
            serve.add_argument(
                "--allow-host", action=_AddHostNames, type=_host_names, default=[], metavar="NAME[,NAME...]",
                help="Answer control calls made to these host names too, besides IP addresses, names of one label, "
                "localhost and this machine's name ('.example.test': it and every name under it; '*': any). "
                "May be repeated.",
            ),
            serve.add_argument("--no-control", action="store_true", help="Serve no control API (only /__fakepay/health)."),
            serve.add_argument(
                "--sandboxes", type=_count, default=DEFAULT_LIMIT, metavar="N",
                help=f"The most sandboxes live at once (default: {DEFAULT_LIMIT}; 0: none).",
            ),
            serve.add_argument(
                "--sandbox-idle", type=_seconds, default=DEFAULT_IDLE_S, metavar="S",
                help=f"Seconds a sandbox lives without a request or control call (default: {DEFAULT_IDLE_S:g}).",
            ),
            serve.add_argument(
                "--webhook-url", metavar="URL",
                help="PortOne mode: where webhooks go (default: the scenario's, else nowhere).",
            ),
            serve.add_argument(
                "--webhook-secret", metavar="S",
                help="PortOne mode: the whsec_ secret webhooks are signed with (default: the scenario's, else a random one).",
            ),
            serve.add_argument(
                "--webhook-timeout", type=_within(0.1, 600), default=DEFAULT_RETRY.timeout_s, metavar="S",
                help=f"Seconds a webhook's receiver has to answer (default: {DEFAULT_RETRY.timeout_s:g}).",
            ),
            serve.add_argument(
                "--webhook-retries", type=_within(0, 20, whole=True), default=DEFAULT_RETRY.retries, metavar="N",
                help=f"How many times a failed webhook is tried again (default: {DEFAULT_RETRY.retries}).",
            ),
            serve.add_argument(
                "--webhook-first-delay", type=_within(0, 600), default=DEFAULT_RETRY.first_delay_s, metavar="S",
                help=f"Seconds before a failed webhook's first retry, each next wait twice as long "
                f"(default: {DEFAULT_RETRY.first_delay_s:g}).",
            ),
        ],
        environ,
    )

    validate = _with_help(commands.add_parser(
        "validate", help="Check scenario files.", add_help=False,
        description="Check scenarios, listing every problem; the exit status is 2 if any has one.",
    ))
    validate.add_argument("files", nargs="+", metavar="NAME|FILE", help=f"A scenario to check: {SCENARIO_HELP}.")

    secret = _with_help(commands.add_parser(
        "secret", help="Print the API secret of a githubId.", description="Print what GET /auth/GITHUB_ID returns.", add_help=False,
    ))
    secret.add_argument("github_id", metavar="GITHUB_ID", help="The githubId whose secret to print.")
    secret.add_argument("--scenario", metavar="NAME|FILE", help=f"Use the signing key of this scenario: {SCENARIO_HELP}.")
    return parser


def _fail(*messages: str) -> int:
    for message in messages:
        print(f"fakepay: {message}", file=sys.stderr)
    return EXIT_USAGE


def _scenario(name: str | None, given: str) -> Scenario:
    """The scenario ``name`` (none: the real server's behaviour), which the user gave as ``given``
    (an option or a variable); ``ScenarioError`` says what is wrong, in lines for stderr."""
    if name is None:
        return Scenario()
    try:
        path = scenario_file(name)
    except ScenarioError as error:
        raise ScenarioError([f"fakepay: {given}: {error.problems[0]}"]) from None
    try:
        return load_scenario(path)
    except OSError as error:
        raise ScenarioError([f"fakepay: {given}: cannot read scenario: {error.strerror}: {error.filename}"]) from None


def _serve(args: argparse.Namespace) -> int:
    for warning in environment_warnings(os.environ):
        print(f"fakepay: {warning}", file=sys.stderr)
    bad = _settle(args)
    if bad:
        return _fail(*bad)
    if args.no_control and args.control_token:
        from_environment = {"no_control", "control_token"} & set(args.variables)
        if len(from_environment) != 1:  # both from one place: a contradiction
            return _fail(f"{_given(args, 'no_control')} and {_given(args, 'control_token')} contradict each other: choose one")
        # one from the command line, the other from the environment: the command line wins
        args.control_token, args.no_control = (args.control_token, False) if "no_control" in from_environment else (None, True)
    try:
        scenario = _scenario(args.scenario, _given(args, "scenario"))
    except ScenarioError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return EXIT_USAGE
    if args.api is not None and args.api != scenario.api:
        if args.scenario is not None:
            return _fail(f"{_given(args, 'scenario')} is a scenario of the {scenario.api} API, "
                         f"not of {_given(args, 'api', args.api)}")
        scenario = Scenario(api=args.api)
    scenario = scenario.overridden(seed=args.seed, failure_rate=args.failure_rate)
    webhook = {key: value for key, value in (("url", args.webhook_url), ("secret", args.webhook_secret)) if value}
    if webhook and not dialect(scenario.api).webhooks:
        given = _given(args, "webhook_url" if "url" in webhook else "webhook_secret")
        return _fail(f"{given}: the {scenario.api} API sends no webhooks; PortOne's does (--api portone)")
    if webhook:
        try:
            scenario = patched(scenario, {"webhook": webhook})
        except ScenarioError as error:
            given = _given(args, "webhook_url" if "url" in webhook else "webhook_secret")
            return _fail(f"{given}: {error.problems[0]}")
    journal: TextIO | None = None
    try:
        if args.journal_file:
            journal = _open_journal(args.journal_file)
    except OSError as error:
        reason = "it is a FIFO that no process reads" if error.errno == errno.ENXIO else error.strerror
        return _fail(f"{_given(args, 'journal_file')}: cannot open journal file: {reason}: {args.journal_file}")
    from .server import (  # aiohttp, loaded to serve only: the other commands and usage errors answer at once
        PaymentService,
        Server,
    )

    try:
        server = Server(
            PaymentService(scenario, journal_sink=journal),
            args.host,
            args.port,
            control=not args.no_control,
            control_token=args.control_token,
            allow_hosts=args.allow_host,
            sandboxes=args.sandboxes,
            sandbox_idle_s=args.sandbox_idle,
            webhooks=RetryPolicy(args.webhook_timeout, args.webhook_retries, args.webhook_first_delay),
        )
        warnings = []
        if not args.control_token and not args.no_control and not _is_loopback(args.host):
            warnings.append(
                f"warning: the control API is open to the network on {args.host}: whoever reaches "
                "the port can reset fakepay or make its payments fail. Require a token with --control-token T "
                "or FAKEPAY_CONTROL_TOKEN=T, or serve none with --no-control or FAKEPAY_NO_CONTROL=1"
            )
        return _run(server, warnings, lambda error: _cannot_listen(args, error))
    finally:
        if journal is not None:
            with contextlib.suppress(OSError):  # a failing journal file was reported while serving
                journal.close()


def _open_journal(path: str) -> TextIO:
    """``path`` opened to append to. A FIFO is opened without waiting for a reader, so that one
    with none is an ``OSError`` (ENXIO) rather than a start-up that hangs."""
    nonblocking = getattr(os, "O_NONBLOCK", 0)  # none on Windows
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | nonblocking, 0o666)
    if nonblocking:
        os.set_blocking(descriptor, True)  # writes wait, as to any file
    return open(descriptor, "a", encoding="utf-8")


def _cannot_listen(args: argparse.Namespace, error: OSError) -> str:
    """One line on why the server cannot listen where ``args`` say, and what to change."""
    where = f"cannot listen on {_host_port(args.host, args.port)}"
    if isinstance(error, socket.gaierror):
        return f"{where}: {args.host} is neither an address nor a known host name ({_given(args, 'host')})"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"{where}: {args.host} is not an address of this machine ({_given(args, 'host')}; 0.0.0.0 is every one)"
    if error.errno == errno.EADDRINUSE:
        return f"{where}: the port is in use; choose another, or {_given(args, 'port', 0)} for a free one"
    return f"{where}: {error.strerror or error}"


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _ShortLines(logging.Filter):
    """Turns aiohttp's and asyncio's reports of bad connections (a traceback each) into one short
    line, at most five a second; fakepay's own lines (its bugs with their traceback) pass as they are."""

    def __init__(self) -> None:
        from .http.answers import LogLimit  # made to serve only, as Server

        super().__init__()
        self._limit = LogLimit("more bad connections this second; they are not logged")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "fakepay":
            return True
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            message = f"{message}: {' '.join(str(error).split()) or type(error).__name__}"
        line = self._limit.line(message, record.created)
        if line is None:
            return False
        record.msg, record.args = line, None
        record.exc_info = record.exc_text = None
        return True


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("fakepay: %(message)s"))
    handler.addFilter(_ShortLines())
    for name in ("fakepay", "aiohttp", "asyncio"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False


def _raise_open_files_limit() -> None:
    """Let the server hold as many sockets as the system allows (the soft limit is often 1,024)."""
    try:
        import resource
    except ImportError:  # pragma: no cover (Windows)
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _run(server: Server, warnings: Sequence[str], cannot_listen: Callable[[OSError], str]) -> int:
    """Serve until SIGINT or SIGTERM; once listening, print the ``warnings`` and the banner."""
    _log_to_stderr()
    _raise_open_files_limit()

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover (Windows)
                signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop.set))
        try:
            await server.start()
        except OSError as error:
            return _fail(cannot_listen(error))
        for warning in warnings:
            print(f"fakepay: {warning}", file=sys.stderr)
        print("\n".join(_banner(server)), flush=True)
        await stop.wait()
        await server.stop()
        return 0

    return asyncio.run(run())


def _banner(server: Server) -> list[str]:
    """Where fakepay serves, at URLs a person can open: bound to every address (0.0.0.0 or ::),
    the loopback one, then this machine's own."""
    service = server.service
    url, every_address = server.url, []
    if server.host in WILDCARDS:
        family, loopback = WILDCARDS[server.host]
        url = f"http://{_host_port(loopback, server.port)}"
        own = _own_address(family)
        every_address = [
            f"listening on every address ({server.host})" + (f": also http://{_host_port(own, server.port)}" if own else ""),
            f"from outside a container, use the host port mapped to port {server.port} (docker run -p HOST_PORT:{server.port})",
        ]
    return [
        f"fakepay serving {url} (scenario: {service.config.name}, "
        f"failure rate: {service.config.failure.rate:g}, seed: {service.policy.seed})",
        *every_address,
        *([f"dashboard: {url}/__fakepay/"] if server.control else []),
    ]


def _own_address(family: socket.AddressFamily) -> str | None:
    """This machine's address on its default route, if it has one (in a container: the container's)."""
    probe_address = "192.0.2.1" if family == socket.AF_INET else "2001:db8::1"  # documentation addresses
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((probe_address, 9))  # a UDP "connection" only picks a route: nothing is sent
            address = ipaddress.ip_address(probe.getsockname()[0])
    except OSError:  # no route, or no such family here
        return None
    return None if address.is_loopback or address.is_link_local or address.is_unspecified else str(address)


def _validate(args: argparse.Namespace) -> int:
    failed = False
    for path in args.files:
        try:
            load_scenario(path)
        except ScenarioError as error:
            failed = True
            print("\n".join(error.problems), file=sys.stderr)
        except OSError as error:
            failed = True
            print(f"{path}: cannot read: {error.strerror}", file=sys.stderr)
        else:
            print(f"{path}: ok")
    return EXIT_USAGE if failed else 0


def _secret(args: argparse.Namespace) -> int:
    try:
        scenario = _scenario(args.scenario, "--scenario")
        print(Instance(dialect(scenario.api), scenario).state.secret(args.github_id))
    except ScenarioError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return EXIT_USAGE
    except InvalidRequest as error:
        return _fail(error.message)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser(os.environ).parse_args(argv)
    command = {"serve": _serve, "validate": _validate, "secret": _secret}[args.command]
    return command(args)

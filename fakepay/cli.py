"""The ``fakepay`` command: ``serve``, ``validate`` and ``secret``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TextIO, cast

from . import PaymentService, Scenario, ScenarioError, Server, __version__, issue_secret, load_scenario, shipped_scenarios
from .auth import CONTROL_TOKEN_RULE, valid_control_token
from .errors import InvalidRequest
from .hosts import allowed_host_names
from .responses import LogLimit
from .scenario import MAX_SEED

__all__ = ["main"]

EXIT_USAGE = 2
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")
ENVIRONMENT_PREFIX = "FAKEPAY_"
YES, NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
SCENARIO_HELP = (
    f"a shipped scenario by name ({', '.join(shipped_scenarios())}) "
    "or a file, relative to the current directory"
)


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


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 5 or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got '{text}'")
    return int(text)


def _flag(text: str) -> bool:
    if text.lower() in YES + NO:
        return text.lower() in YES
    raise argparse.ArgumentTypeError(f"must be one of {', '.join(YES + NO)}, got '{text}'")


@dataclass(frozen=True)
class _BadVariable:
    """The default of an option whose environment variable holds a value it refuses."""

    message: str


def _from_environment(options: Sequence[argparse.Action], environ: Mapping[str, str]) -> None:
    """Make ``FAKEPAY_<OPTION>`` the default of each option, so that the command line still wins,
    and name the variable in the option's help. An empty variable counts as unset; a bad value
    becomes a `_BadVariable`, reported only if the command line leaves that option unset."""
    for action in options:
        variable = ENVIRONMENT_PREFIX + action.dest.upper()
        action.help = f"{action.help} [env {variable}]"
        text = environ.get(variable, "")
        if not text:
            continue
        convert = _flag if action.nargs == 0 else action.type if callable(action.type) else str
        try:
            action.default = convert(text)
        except argparse.ArgumentTypeError as error:
            action.default = _BadVariable(f"{variable}: {error}")


class _Version(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        try:
            installed = version("fakepay")
        except PackageNotFoundError:  # run from a source tree that is not installed
            installed = f"{__version__} (not installed)"
        print(f"fakepay {installed}")
        parser.exit()


def _parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fakepay",
        description="A stateful fake of the CEOS payment server, for tests.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="run the fake server",
        description="Run the fake server until SIGINT or SIGTERM.",
        epilog=f"Every option can also be set by the environment variable in brackets; the command line wins. "
        f"An empty variable counts as unset; FAKEPAY_NO_CONTROL takes {'/'.join(YES)} or {'/'.join(NO)}.",
    )
    _from_environment(
        [
            serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)"),
            serve.add_argument("--port", type=_port, default=8080, help="port to bind; 0 picks a free one (default: 8080)"),
            serve.add_argument(
                "--scenario", metavar="NAME|FILE",
                help=f"scenario to start from (default: the real server's behaviour); {SCENARIO_HELP}",
            ),
            serve.add_argument("--seed", type=_seed, help="seed of the random failures (default: the scenario's, else random)"),
            serve.add_argument(
                "--failure-rate", type=_rate, metavar="R",
                help="share of instant payments that fail, 0 to 1 (default: the scenario's, 0.1 without one)",
            ),
            serve.add_argument("--journal-file", metavar="F", help="also append every journal entry to F as JSON Lines"),
            serve.add_argument("--control-token", type=_token, metavar="T", help="require 'Authorization: Bearer T' on the control API"),
            serve.add_argument(
                "--allow-host", action=_AddHostNames, type=_host_names, default=[], metavar="NAME[,NAME...]",
                help="answer control calls made to these host names too, besides IP addresses, localhost and "
                "this machine's name ('.example.test': it and every name under it; '*': any); may be repeated",
            ),
            serve.add_argument("--no-control", action="store_true", help="serve no control API (only /__fakepay/health)"),
        ],
        environ,
    )

    validate = commands.add_parser(
        "validate", help="check scenario files", description=f"Check scenarios; exit 2 if any has a problem. {SCENARIO_HELP}."
    )
    validate.add_argument("files", nargs="+", metavar="NAME|FILE")

    secret = commands.add_parser("secret", help="print the API secret of a githubId", description="Print what GET /auth/GITHUB_ID returns.")
    secret.add_argument("github_id", metavar="GITHUB_ID")
    secret.add_argument("--scenario", metavar="NAME|FILE", help=f"use the signing key of this scenario; {SCENARIO_HELP}")
    return parser


def _fail(*messages: str) -> int:
    for message in messages:
        print(f"fakepay: {message}", file=sys.stderr)
    return EXIT_USAGE


def _scenario(path: str | None) -> Scenario:
    return Scenario() if path is None else load_scenario(path)


def _serve(args: argparse.Namespace) -> int:
    bad = [value.message for value in vars(args).values() if isinstance(value, _BadVariable)]
    if bad:
        return _fail(*bad)
    if args.no_control and args.control_token:
        given = set(sys.argv[1:] if args.argv is None else args.argv)
        on_command_line = {"--no-control" in given, any(a.startswith("--control-token") for a in given)}
        if on_command_line != {True, False}:  # both from one place: a contradiction
            return _fail("--no-control and --control-token (FAKEPAY_NO_CONTROL, FAKEPAY_CONTROL_TOKEN) "
                         "contradict each other: choose one")
        # one from the command line, the other from the environment: the command line wins
        args.control_token, args.no_control = (None, True) if "--no-control" in given else (args.control_token, False)
    try:
        scenario = _scenario(args.scenario)
    except ScenarioError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        return _fail(f"cannot read scenario: {error.strerror}: {error.filename}")
    scenario = scenario.overridden(seed=args.seed, failure_rate=args.failure_rate)
    journal: TextIO | None = None
    try:
        if args.journal_file:
            journal = open(args.journal_file, "a", encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError as error:
        return _fail(f"cannot open journal file: {error.strerror}: {args.journal_file}")
    try:
        server = Server(
            PaymentService(scenario, journal_sink=journal),
            args.host,
            args.port,
            control=not args.no_control,
            control_token=args.control_token,
            allow_hosts=args.allow_host,
        )
        if not args.control_token and not args.no_control and not _is_loopback(args.host):
            print(
                f"fakepay: warning: the control API is open to the network on {args.host}: whoever reaches "
                "the port can reset fakepay or make its payments fail. Require a token with --control-token T "
                "or FAKEPAY_CONTROL_TOKEN=T, or serve none with --no-control or FAKEPAY_NO_CONTROL=1",
                file=sys.stderr,
            )
        return _run(server)
    finally:
        if journal is not None:
            with contextlib.suppress(OSError):  # a failing journal file was reported while serving
                journal.close()


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


def _run(server: Server) -> int:
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
            return _fail(f"cannot listen on {server.host}:{server.port}: {error.strerror or error}")
        service = server.service
        print(
            f"fakepay serving {server.url} (scenario: {service.config.name}, "
            f"failure rate: {service.config.failure.rate:g}, seed: {service.policy.seed})",
            flush=True,
        )
        if server.control:
            print(f"dashboard: {server.url}/__fakepay/", flush=True)
        await stop.wait()
        await server.stop()
        return 0

    return asyncio.run(run())


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
        scenario = _scenario(args.scenario)
        print(issue_secret(args.github_id, scenario.auth.signing_key))
    except ScenarioError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return EXIT_USAGE
    except InvalidRequest as error:
        return _fail(error.message)
    except OSError as error:
        return _fail(f"cannot read scenario: {error.strerror}: {error.filename}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser(os.environ).parse_args(argv)
    args.argv = None if argv is None else list(argv)
    command = {"serve": _serve, "validate": _validate, "secret": _secret}[args.command]
    return command(args)

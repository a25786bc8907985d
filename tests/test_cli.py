"""The ``fakepay`` command, run as a real process."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fakepay import issue_secret, shipped_scenarios

from .support import BODY_JSON, FAKEPAY, bearer, environment, fetch, free_port, serving


def test_serve_prints_one_banner_and_answers() -> None:
    with serving("--seed", "7") as (_, banner):
        url, _, scenario, rate, seed = banner.groups()
        assert (scenario, rate, seed) == ("default", "0.1", "7")
        assert fetch(f"{url}/__fakepay/health") == (200, b'{"status":"ok"}')
        assert fetch(f"{url}/auth/alice") == (200, issue_secret("alice").encode())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_cleanly_with_exit_0(signum: int) -> None:
    with serving() as (process, _):
        process.send_signal(signum)
        assert process.wait(timeout=5) == 0
        assert "Traceback" not in process.stderr.read()  # type: ignore[union-attr]


def test_stops_within_a_second_while_a_request_is_held() -> None:
    with serving("--failure-rate", "0") as (process, banner):
        url = banner.group(1)
        rule = {"when": {"operation": "get"}, "then": {"timeout_s": 60}}
        assert fetch(f"{url}/__fakepay/rules", "POST", json.dumps(rule).encode())[0] == 200
        held = socket.create_connection(("127.0.0.1", int(banner.group(2))))
        held.sendall(f"GET /payments/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {issue_secret('a')}\r\n\r\n".encode())
        time.sleep(0.3)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert time.monotonic() - started < 1.0
        held.close()


def test_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([*FAKEPAY, "serve", "--port", str(port)], capture_output=True, text=True, timeout=20)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"fakepay: cannot listen on 127.0.0.1:{port}: the port is in use; choose another, or --port 0 for a free one\n"


@pytest.mark.parametrize(
    ("args", "variables", "message"),
    [
        (["--host", "999.1.1.1"], {}, "cannot listen on 999.1.1.1:{port}: 999.1.1.1 is neither an address nor a known host name (--host)"),
        ([], {"FAKEPAY_HOST": "203.0.113.7"},
         "cannot listen on 203.0.113.7:{port}: 203.0.113.7 is not an address of this machine (FAKEPAY_HOST; 0.0.0.0 is every one)"),
    ],
)
def test_an_address_that_cannot_be_bound_is_one_line_without_the_open_network_warning(
    args: list[str], variables: dict[str, str], message: str
) -> None:
    port = free_port()
    result = subprocess.run([*FAKEPAY, "serve", "--port", str(port), *args], env=environment(**variables),
                            capture_output=True, text=True, timeout=20)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"fakepay: {message.format(port=port)}\n")


def test_an_empty_host_on_the_command_line_is_refused() -> None:
    result = subprocess.run([*FAKEPAY, "serve", "--host", ""], env=environment(), capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert result.stderr.endswith("error: argument --host: must be an address or a host name, such as 127.0.0.1 or 0.0.0.0\n")


def test_bound_to_every_address_the_banner_gives_urls_a_person_can_open() -> None:
    with serving("--host", "0.0.0.0", "--port", "0", FAKEPAY_CONTROL_TOKEN="t") as (process, banner):
        url, port = banner.group(1, 2)
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # up to the dashboard's, the last
            lines.append(line.rstrip("\n"))
            if line.startswith("dashboard: "):
                break
        assert url == f"http://127.0.0.1:{port}"
        assert len(lines) == 3, lines
        every, container, dashboard = lines
        assert re.fullmatch(rf"listening on every address \(0\.0\.0\.0\)(: also http://[\d.]+:{port})?", every), every
        assert container == f"from outside a container, use the host port mapped to port {port} (docker run -p HOST_PORT:{port})"
        assert dashboard == f"dashboard: http://127.0.0.1:{port}/__fakepay/"
        for shown in [url, *re.findall(r"http://\S+", every)]:
            assert fetch(f"{shown}/__fakepay/health") == (200, b'{"status":"ok"}'), shown


def test_failure_rate_option_is_used() -> None:
    with serving("--failure-rate", "1") as (_, banner):
        url = banner.group(1)
        status, answer = fetch(f"{url}/payments/p1/instant", "POST", BODY_JSON, {**bearer("alice"), "Content-Type": "application/json"})
        assert status == 500 and json.loads(answer)["type"] == "PAYMENT_FAILED"


def test_secret_prints_what_auth_returns() -> None:
    result = subprocess.run([*FAKEPAY, "secret", "alice"], capture_output=True, text=True, timeout=20)
    assert (result.returncode, result.stdout) == (0, issue_secret("alice") + "\n")


def test_secret_of_a_bad_id_is_exit_2() -> None:
    result = subprocess.run([*FAKEPAY, "secret", "not valid"], capture_output=True, text=True, timeout=20)
    assert result.returncode == 2 and "githubId" in result.stderr


@pytest.mark.parametrize("command", [[], ["serve"], ["validate"], ["secret"]])
def test_help_is_in_sentences(command: list[str]) -> None:
    result = subprocess.run([*FAKEPAY, *command, "--help"], env=environment(COLUMNS="1000"), capture_output=True, text=True, timeout=20)
    assert result.returncode == 0 and result.stdout.startswith("usage: fakepay")
    paragraphs = result.stdout.split("\n\n")[1:]  # after the usage: a description, lists of options, an epilog
    texts = [paragraph for paragraph in paragraphs if not paragraph.endswith(":") and ":\n" not in paragraph]
    entries = re.findall(r"^ {2,}\S+(?: \S+)*(?: {2,}|\n {6,})(.+)$", result.stdout, re.MULTILINE)
    assert texts and entries
    for text in [*texts, *entries]:
        text = re.sub(r" \[env FAKEPAY_\w+\]$", "", " ".join(text.split()))
        assert text.endswith("."), text
        assert all(sentence[0].isupper() for sentence in re.split(r"(?<=\.) ", text)), text


@pytest.mark.parametrize("args", [["--port", "70000"], ["--failure-rate", "2"], ["--seed", "-1"], ["--bogus"],
                                  ["--sandboxes", "x"], ["--sandbox-idle", "0"]])
def test_bad_options_are_exit_2(args: list[str]) -> None:
    result = subprocess.run([*FAKEPAY, "serve", *args], capture_output=True, text=True, timeout=20)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_what_does_not_serve_loads_no_server_code() -> None:
    """``secret``, ``validate`` and ``serve`` refused before it listens answer without loading aiohttp,
    which takes longer to load than they take to run."""
    code = ("import sys; from fakepay.cli import main; "
            "print(main(['secret', 'alice']) + main(['validate', 'happy-path']) + main(['serve', '--scenario', 'nope'])); "
            "print(sorted(m for m in ('aiohttp', 'fakepay.server') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20, env=environment())
    assert result.stdout.splitlines()[-2:] == ["2", "[]"], result.stderr


def test_installed_console_script_is_the_same_program() -> None:
    script = Path(sys.executable).with_name("fakepay")
    result = subprocess.run([str(script), "secret", "alice"], capture_output=True, text=True, timeout=20)
    assert result.stdout.strip() == issue_secret("alice")


def test_control_token_and_no_control_options() -> None:
    with serving("--control-token", "t0ken") as (_, banner):
        url = banner.group(1)
        assert fetch(f"{url}/__fakepay/state")[0] == 401
        assert fetch(f"{url}/__fakepay/state", headers={"Authorization": "Bearer t0ken"})[0] == 200
        assert fetch(f"{url}/__fakepay/health")[0] == 200
    with serving("--no-control") as (process, banner):
        url = banner.group(1)
        assert fetch(f"{url}/__fakepay/reset", "POST")[0] == 404
        assert fetch(f"{url}/__fakepay/")[0] == 404
        assert fetch(f"{url}/__fakepay/health")[0] == 200
        process.terminate()
        assert process.stdout.read() == ""  # type: ignore[union-attr]  # no dashboard to point to


def test_an_open_control_api_on_the_network_is_warned_about() -> None:
    with serving("--host", "0.0.0.0") as (process, banner):
        port = banner.group(2)
        assert fetch(f"http://127.0.0.1:{port}/__fakepay/health")[0] == 200
        process.terminate()
        process.wait(timeout=5)
        warning = process.stderr.read()  # type: ignore[union-attr]
    assert warning.startswith("fakepay: warning: the control API is open to the network on 0.0.0.0: ")
    assert "FAKEPAY_CONTROL_TOKEN=T" in warning and "FAKEPAY_NO_CONTROL=1" in warning
    for quiet in [{"FAKEPAY_CONTROL_TOKEN": "t"}, {"FAKEPAY_NO_CONTROL": "1"}]:
        with serving(FAKEPAY_HOST="0.0.0.0", **quiet) as (process, _):
            process.terminate()
            process.wait(timeout=5)
            assert "warning" not in process.stderr.read()  # type: ignore[union-attr]


def test_every_option_of_serve_from_the_environment(tmp_path: Path) -> None:
    scenario = tmp_path / "mine.yaml"
    scenario.write_text("version: 1\nname: from-env\n")
    journal = tmp_path / "journal.jsonl"
    port = free_port()
    variables = {
        "FAKEPAY_HOST": "127.0.0.1",
        "FAKEPAY_PORT": str(port),
        "FAKEPAY_SCENARIO": str(scenario),
        "FAKEPAY_SEED": "7",
        "FAKEPAY_FAILURE_RATE": "1",
        "FAKEPAY_JOURNAL_FILE": str(journal),
        "FAKEPAY_CONTROL_TOKEN": "t0ken",
    }
    with serving(**variables) as (_, banner):
        assert banner.groups() == (f"http://127.0.0.1:{port}", str(port), "from-env", "1", "7")
        url = banner.group(1)
        assert fetch(f"{url}/__fakepay/state")[0] == 401
        assert fetch(f"{url}/__fakepay/state", headers={"Authorization": "Bearer t0ken"})[0] == 200
        assert fetch(f"{url}/auth/alice")[0] == 200
    assert [json.loads(line)["path"] for line in journal.read_text().splitlines()] == ["/auth/alice"]


def test_allow_host_from_the_command_line_and_the_environment() -> None:
    def status_for(url: str, host: str) -> int:
        return fetch(f"{url}/__fakepay/state", headers={"Host": host})[0]

    with serving() as (_, banner):
        assert (status_for(banner.group(1), "evil.example"), status_for(banner.group(1), "localhost")) == (403, 200)
    with serving("--allow-host", "ci.example,.corp.example", "--allow-host", "fakepay") as (_, banner):
        statuses = [status_for(banner.group(1), host) for host in ("ci.example", "x.corp.example", "fakepay:8080", "evil.example")]
        assert statuses == [200, 200, 200, 403]
    with serving(FAKEPAY_ALLOW_HOST="evil.example, fakepay") as (_, banner):
        assert (status_for(banner.group(1), "evil.example"), status_for(banner.group(1), "fakepay")) == (200, 200)
    with serving("--allow-host", "fakepay", FAKEPAY_ALLOW_HOST="evil.example") as (_, banner):  # the command line wins
        assert (status_for(banner.group(1), "evil.example"), status_for(banner.group(1), "fakepay")) == (403, 200)


@pytest.mark.parametrize(("value", "control"), [("1", False), ("TRUE", False), ("yes", False), ("0", True), ("off", True), ("", True)])
def test_no_control_from_the_environment(value: str, control: bool) -> None:
    with serving(FAKEPAY_NO_CONTROL=value) as (_, banner):
        assert fetch(f"{banner.group(1)}/__fakepay/reset", "POST")[0] == (200 if control else 404)


def test_the_command_line_wins_over_the_environment() -> None:
    with serving("--seed", "8", "--failure-rate", "0", FAKEPAY_SEED="7", FAKEPAY_FAILURE_RATE="bad") as (_, banner):
        assert banner.group(4, 5) == ("0", "8")


def test_an_empty_variable_counts_as_unset() -> None:
    with serving(FAKEPAY_SEED="", FAKEPAY_FAILURE_RATE="", FAKEPAY_HOST="") as (_, banner):
        assert banner.group(1).startswith("http://127.0.0.1:") and banner.group(4) == "0.1"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FAKEPAY_PORT", "99999", "must be a port number from 0 to 65535, got '99999'"),
        ("FAKEPAY_SEED", "-1", f"must be a whole number from 0 to {2**63 - 1}, got '-1'"),
        ("FAKEPAY_FAILURE_RATE", "lots", "must be a number from 0 to 1, got 'lots'"),
        ("FAKEPAY_NO_CONTROL", "maybe", "must be one of 1, true, yes, on, 0, false, no, off, got 'maybe'"),
        ("FAKEPAY_ALLOW_HOST", "fakepay,evil.example:80",
         "an allowed host is a host name without a port ('fakepay'), one with a leading dot for it and every name "
         "under it ('.example.test'), or '*' for any name; got 'evil.example:80'"),
        ("FAKEPAY_SANDBOXES", "-1", "must be a whole number from 0 to 100000, got '-1'"),
        ("FAKEPAY_SANDBOXES", "100001", "must be a whole number from 0 to 100000, got '100001'"),
        ("FAKEPAY_SANDBOX_IDLE", "0.5", "must be a number of seconds from 1 to 604800, got '0.5'"),
        ("FAKEPAY_SANDBOX_IDLE", "1e3", "must be a number of seconds from 1 to 604800, got '1e3'"),
    ],
)
def test_a_bad_variable_is_one_line_naming_it_and_exit_2(variable: str, value: str, message: str) -> None:
    result = subprocess.run([*FAKEPAY, "serve"], env=environment(**{variable: value}), capture_output=True, text=True, timeout=20)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"fakepay: {variable}: {message}\n")


def test_serve_variables_do_not_concern_other_commands() -> None:
    result = subprocess.run([*FAKEPAY, "secret", "alice"], env=environment(FAKEPAY_PORT="x"), capture_output=True, text=True, timeout=20)
    assert (result.returncode, result.stdout) == (0, issue_secret("alice") + "\n")


def test_serve_help_names_the_variable_of_every_option() -> None:
    result = subprocess.run([*FAKEPAY, "serve", "--help"], env=environment(COLUMNS="200"), capture_output=True, text=True, timeout=20)
    options = re.findall(r"^  (--[\w-]+)", result.stdout, re.MULTILINE)
    variables = re.findall(r"\[env (FAKEPAY_\w+)\]", result.stdout)
    assert variables == ["FAKEPAY_" + option[2:].upper().replace("-", "_") for option in options] and len(variables) == 17


def test_version_is_the_installed_packages() -> None:
    from importlib.metadata import version

    result = subprocess.run([*FAKEPAY, "--version"], capture_output=True, text=True, timeout=20)
    assert (result.returncode, result.stdout) == (0, f"fakepay {version('fakepay')}\n")


def test_serve_help_gives_the_scenarios_failure_rate_as_the_default_and_names_the_shipped_ones() -> None:
    result = subprocess.run([*FAKEPAY, "serve", "--help"], capture_output=True, text=True, timeout=20)
    text = " ".join(result.stdout.split())
    assert "(default: the scenario's, 0.1 without one)" in text
    assert "happy-path" in text and "relative to the current directory" in text


@pytest.mark.parametrize("rate", ["１", " 0.5 ", "0.1_0", "1e-400", "-0", "nan", "1.5"])
def test_a_failure_rate_is_a_plain_decimal_from_0_to_1(rate: str, capsys: pytest.CaptureFixture[str]) -> None:
    from fakepay.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--failure-rate", rate])
    assert exit_.value.code == 2
    assert "must be a number from 0 to 1" in capsys.readouterr().err


@pytest.mark.parametrize("token", ["", " ", "trail ", "토큰", "a\tb", "x" * 257])
def test_a_control_token_must_be_sendable_in_a_header(token: str, capsys: pytest.CaptureFixture[str]) -> None:
    from fakepay.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--control-token", token])
    assert exit_.value.code == 2
    assert "printable ASCII" in capsys.readouterr().err


def test_the_command_line_wins_over_the_environment_for_control() -> None:
    with serving("--no-control", FAKEPAY_CONTROL_TOKEN="T") as (_, banner):
        assert fetch(f"{banner.group(1)}/__fakepay/state")[0] == 404  # no control API, and no token needed


def test_a_missing_scenario_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    result = subprocess.run([*FAKEPAY, "serve"], env=environment(FAKEPAY_SCENARIO="happypath"), cwd=tmp_path,
                            capture_output=True, text=True, timeout=20)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"fakepay: FAKEPAY_SCENARIO: no scenario 'happypath': not a file (relative to {tmp_path}) nor a shipped scenario "
        f"({', '.join(shipped_scenarios())}); did you mean 'happy-path'?\n"
    )


def test_a_misspelled_variable_is_warned_about_once_with_the_closest_name() -> None:
    with serving(FAKEPAY_FAILURE_RATIO="0", FAKEPAY_SEED="7") as (process, banner):
        assert banner.group(4, 5) == ("0.1", "7")  # the misspelled one changed nothing
        process.terminate()
        process.wait(timeout=5)
        assert process.stderr is not None
        assert process.stderr.read() == (
            "fakepay: warning: FAKEPAY_FAILURE_RATIO is ignored: fakepay reads no such variable; did you mean "
            "'FAKEPAY_FAILURE_RATE'?\n"
        )


def test_every_variable_of_serve_is_known_so_never_warned_about() -> None:
    from fakepay import environment_warnings

    result = subprocess.run([*FAKEPAY, "serve", "--help"], env=environment(COLUMNS="200"), capture_output=True, text=True, timeout=20)
    variables = re.findall(r"\[env (FAKEPAY_\w+)\]", result.stdout)
    assert variables and environment_warnings(dict.fromkeys(variables, "1")) == []
    assert environment_warnings({"FAKEPAY_FOO": "1", "fakepay_url": "x", "FAKEPAY_SEEDS": ""}) == [
        "warning: FAKEPAY_FOO is ignored: fakepay reads no such variable",
        "warning: fakepay_url is ignored: fakepay reads no such variable; did you mean 'FAKEPAY_URL'?",
    ]


@pytest.mark.parametrize("no_control", ["--no-control", "--no-contr", "--no-c"])
def test_an_abbreviated_no_control_wins_over_the_environment_as_the_full_option(no_control: str) -> None:
    with serving(no_control, FAKEPAY_CONTROL_TOKEN="T") as (process, banner):
        assert fetch(f"{banner.group(1)}/__fakepay/state", headers={"Authorization": "Bearer T"})[0] == 404
        process.terminate()
        process.wait(timeout=5)
        assert process.stderr.read() == ""  # type: ignore[union-attr]


@pytest.mark.parametrize("control_token", [["--control-token", "T"], ["--control-tok", "T"], ["--control-token=T"]])
def test_an_abbreviated_control_token_wins_over_the_environment_as_the_full_option(control_token: list[str]) -> None:
    with serving(*control_token, FAKEPAY_NO_CONTROL="1") as (_, banner):
        assert fetch(f"{banner.group(1)}/__fakepay/state")[0] == 401
        assert fetch(f"{banner.group(1)}/__fakepay/state", headers={"Authorization": "Bearer T"})[0] == 200


@pytest.mark.parametrize(
    ("args", "variables", "message"),
    [
        (["--no-contr", "--control-tok", "T"], {}, "--no-control and --control-token contradict each other: choose one"),
        ([], {"FAKEPAY_NO_CONTROL": "1", "FAKEPAY_CONTROL_TOKEN": "T"},
         "FAKEPAY_NO_CONTROL and FAKEPAY_CONTROL_TOKEN contradict each other: choose one"),
    ],
)
def test_no_control_and_a_token_from_one_place_contradict(args: list[str], variables: dict[str, str], message: str) -> None:
    result = subprocess.run([*FAKEPAY, "serve", *args], env=environment(**variables), capture_output=True, text=True, timeout=20)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"fakepay: {message}\n")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_journal_fifo_that_no_process_reads_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "journal"
    os.mkfifo(fifo)
    result = subprocess.run([*FAKEPAY, "serve", "--port", "0"], env=environment(FAKEPAY_JOURNAL_FILE=str(fifo)),
                            capture_output=True, text=True, timeout=10)  # it used to wait for a reader for ever
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"fakepay: FAKEPAY_JOURNAL_FILE: cannot open journal file: it is a FIFO that no process reads: {fifo}\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_journal_fifo_with_a_reader_gets_the_journal(tmp_path: Path) -> None:
    fifo = tmp_path / "journal"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with serving("--journal-file", str(fifo)) as (_, banner):
            assert fetch(f"{banner.group(1)}/auth/alice")[0] == 200
            os.set_blocking(reader, True)
            with os.fdopen(reader) as lines:
                reader = -1
                assert json.loads(lines.readline())["path"] == "/auth/alice"
    finally:
        if reader != -1:
            os.close(reader)


@pytest.mark.parametrize(("args", "variables"), [(["--api", "portone"], {}), ([], {"FAKEPAY_API": "portone"})])
def test_serve_api_portone_serves_portone_at_the_root(args: list[str], variables: dict[str, str]) -> None:
    with serving(*args, **variables) as (_, banner):
        url = banner.group(1)
        status, body = fetch(f"{url}/payments/p-1", "GET", None, {"Authorization": "PortOne shop-secret"})
        assert (status, json.loads(body)) == (404, {"type": "PAYMENT_NOT_FOUND", "message": "payment 'p-1' not found"})
        assert json.loads(fetch(f"{url}/__fakepay/api")[1])["name"] == "portone"


def test_an_api_other_than_the_scenarios_is_exit_2() -> None:
    result = subprocess.run([*FAKEPAY, "serve", "--api", "portone", "--scenario", "happy-path"],
                            env=environment(), capture_output=True, text=True, timeout=20)
    assert (result.returncode, result.stdout, result.stderr) == (
        2, "", "fakepay: --scenario is a scenario of the ceos API, not of --api portone\n")


def test_an_unknown_api_is_exit_2_naming_those_there_are() -> None:
    result = subprocess.run([*FAKEPAY, "serve", "--api", "stripe"], env=environment(), capture_output=True, text=True, timeout=20)
    assert result.returncode == 2 and "argument --api: invalid choice: 'stripe'" in result.stderr
    assert "ceos" in result.stderr.splitlines()[-1] and "portone" in result.stderr.splitlines()[-1]

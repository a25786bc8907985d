"""The pytest plugin, run as a user runs it: through pytester, in and out of process."""

from __future__ import annotations

import fnmatch
import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakepay import shipped_scenarios

from .support import fetch, free_port, live_sandboxes, scenario_of, serving

ROOT = Path(__file__).resolve().parent.parent

PAY = """
import requests

BODY = {"storeId": "s", "orderName": "o", "totalPayAmount": 1000, "currency": "KRW"}

def pay(fakepay, payment_id, owner="alice"):
    headers = {"Authorization": "Bearer " + fakepay.secret(owner)}
    return requests.post(f"{fakepay.url}/payments/{payment_id}/instant", json=BODY, headers=headers)
"""


#: The pytest.ini of a project that uses fakepay. The pytest plugins of fakepay's own test tools,
#: installed here but not in such a project, are left out: they take seconds to load in each run.
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\naddopts = -p no:schemathesis -p no:hypothesispytest\n"


@pytest.fixture
def consumer(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(helpers=PAY)
    pytester.makeini(INI)
    return pytester


def test_each_test_starts_from_a_clean_server(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(
        test_isolation="""
        from helpers import pay

        def test_first(fakepay):
            assert pay(fakepay, "p1").status_code == 200
            fakepay.set_failure_rate(1.0)
            fakepay.add_rule("fail", {"operation": "get"})

        def test_second_sees_nothing_of_the_first(fakepay):
            assert fakepay.payments("alice") == []
            assert fakepay.requests() == []
            assert pay(fakepay, "p1").status_code == 200
            assert fakepay.state()["rules"] == []
        """
    )
    consumer.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_failure_rate_is_zero_by_default(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(
        test_rate="""
        from helpers import pay

        def test_no_random_failures(fakepay):
            assert {pay(fakepay, f"p{i}").status_code for i in range(100)} == {200}
        """
    )
    consumer.runpytest().assert_outcomes(passed=1)


def test_the_handle_api(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(
        test_handle="""
        import requests
        from datetime import timedelta
        from helpers import pay

        def test_handle(fakepay):
            assert requests.get(f"{fakepay.url}/auth/alice").text == fakepay.secret("alice")
            fakepay.seed_payment("alice", "old", order_name="주문", total_pay_amount=5, status="CANCELLED")
            assert fakepay.payment("alice", "old")["status"] == "CANCELLED"
            fakepay.fail_next(2, owner="alice")
            assert [pay(fakepay, f"p{i}").status_code for i in range(3)] == [500, 500, 200]
            assert pay(fakepay, "b1", owner="bob").status_code == 200
            fakepay.fail_next(outcome="lost_response")
            try:
                pay(fakepay, "lost")
                raise AssertionError("the response should have been lost")
            except requests.ConnectionError:
                pass
            assert fakepay.payment("alice", "lost")["status"] == "PAID"
            assert fakepay.freeze_time("2025-10-22T20:21:35.529482") == "2025-10-22T20:21:35.529482"
            assert fakepay.advance_time(timedelta(seconds=1)) == "2025-10-22T20:21:36.529482"
            assert pay(fakepay, "timed").json()["paidAt"] == "2025-10-22T20:21:36.529482"
            assert fakepay.resume_time() > "2026"
            assert [e["status"] for e in fakepay.requests(operation="instant", owner="alice", limit=2)] == [None, 200]
            assert len(fakepay.requests(payment_id="p0")) == 1
            fakepay.load_scenario({"version": 1, "failure": {"rate": 1.0}})
            assert pay(fakepay, "x").status_code == 500
            fakepay.reset(owner="alice")
            assert fakepay.payments("alice") == [] and len(fakepay.payments("bob")) == 0

        def test_after_a_scenario_was_loaded(fakepay):
            assert pay(fakepay, "x").status_code == 200
        """
    )
    consumer.runpytest().assert_outcomes(passed=2)


def test_marker(consumer: pytest.Pytester) -> None:
    consumer.makefile(".yaml", flaky="version: 1\nname: flaky\nfailure: {rate: 0.5}\n")
    consumer.makepyfile(
        test_marker="""
        import pytest
        from helpers import pay

        @pytest.mark.fakepay(failure_rate=1.0)
        def test_always_fails(fakepay):
            assert pay(fakepay, "p1").status_code == 500

        @pytest.mark.fakepay(scenario="flaky.yaml", seed=7)
        def test_flaky(fakepay):
            state = fakepay.state()
            assert (state["scenario"], state["seed"]) == ("flaky", 7)
            assert {pay(fakepay, f"p{i}").status_code for i in range(40)} == {200, 500}

        def test_back_to_normal(fakepay):
            assert fakepay.state()["scenario"] == "default"
            assert {pay(fakepay, f"p{i}").status_code for i in range(40)} == {200}
        """
    )
    consumer.runpytest("--strict-markers").assert_outcomes(passed=3)


def test_marker_with_a_bad_argument_is_a_usage_error(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.fakepay(rate=1.0)
        def test_it(fakepay):
            pass
        """
    )
    result = consumer.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fakepay takes only scenario=, failure_rate=, seed=*"])


def test_a_failing_assertion_is_reported_normally(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(
        test_fails="""
        from helpers import pay

        def test_wrong_expectation(fakepay):
            assert pay(fakepay, "p1").status_code == 201
        """
    )
    result = consumer.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 200 == 201*"])


@pytest.mark.parametrize("how", ["option", "ini"])
def test_scenario_option_and_ini(consumer: pytest.Pytester, how: str) -> None:
    consumer.makefile(".yaml", fail="version: 1\nname: fail\nfailure: {rate: 1.0}\n")
    consumer.makepyfile(
        test_option="""
        from helpers import pay

        def test_fails(fakepay):
            assert fakepay.state()["scenario"] == "fail"
            assert pay(fakepay, "p1").status_code == 500
        """
    )
    if how == "ini":
        consumer.makeini(INI + "fakepay_scenario = fail.yaml\n")
        result = consumer.runpytest()
    else:
        result = consumer.runpytest("--fakepay-scenario", "fail.yaml")
    result.assert_outcomes(passed=1)


def test_shipped_scenarios_by_name_and_a_missing_one_in_a_marker(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(
        test_named="""
        import pytest
        from helpers import pay

        @pytest.mark.fakepay(scenario="always-fail")
        def test_named(fakepay):
            assert fakepay.state()["scenario"] == "always-fail"
            assert pay(fakepay, "p1").status_code == 500

        @pytest.mark.fakepay(scenario="scenarios/default.yaml")
        def test_missing(fakepay):
            pass
        """
    )
    result = consumer.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*no scenario 'scenarios/default.yaml': not a file (relative to *) nor a shipped scenario (*"])
    assert "FileNotFoundError" not in result.stdout.str()


#: Many tests on the fixture: a mistake in a setting of the session is still one line.
SEVENTEEN = "import pytest\n\n@pytest.mark.parametrize('n', range(17))\ndef test_it(fakepay, n):\n    pass\n"


def usage_error(result: pytest.RunResult) -> str:
    """The one line of a usage error (exit status 4, no test run, no traceback), without ``ERROR: ``."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and "\nE   " not in output and " passed" not in output and " error" not in output
    [line] = [line for line in result.stderr.lines if line.strip() and "PytestAssertRewriteWarning" not in line]
    assert line.startswith("ERROR: ")
    return line.removeprefix("ERROR: ")


def test_a_missing_scenario_option_is_a_usage_error(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(test_it=SEVENTEEN)
    assert usage_error(consumer.runpytest("--fakepay-scenario", "happy-paht")) == (
        f"--fakepay-scenario: no scenario 'happy-paht': not a file (relative to {consumer.path}) nor a shipped scenario "
        f"({', '.join(shipped_scenarios())}); did you mean 'happy-path'?"
    )


@pytest.mark.parametrize("how", ["option", "ini"])
def test_a_scenario_file_with_a_mistake_is_a_usage_error_naming_the_setting(consumer: pytest.Pytester, how: str) -> None:
    consumer.makefile(".yaml", bad="version: 1\nfailure: {rate: 2}\n")
    consumer.makepyfile(test_it=SEVENTEEN)
    if how == "ini":
        consumer.makeini(INI + "fakepay_scenario = bad.yaml\n")
        given, result = "ini option fakepay_scenario", consumer.runpytest()
    else:
        given, result = "--fakepay-scenario", consumer.runpytest("--fakepay-scenario", "bad.yaml")
    assert usage_error(result) == f"{given}: bad.yaml:2:17: failure.rate: must be a number from 0 to 1, got 2"


URL_TEST = """
from helpers import pay

def test_uses_the_running_server(fakepay):
    assert fakepay.url == "{url}"
    assert pay(fakepay, "p1").status_code == 200

def test_reset_between_tests(fakepay):
    assert fakepay.payments("alice") == []
    assert pay(fakepay, "p1").status_code == 200
"""


@pytest.mark.parametrize("how", ["option", "env"])
def test_attaching_to_a_running_fakepay(consumer: pytest.Pytester, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with serving("--failure-rate", "0") as (_, banner):
        url = banner.group(1)
        consumer.makepyfile(test_url=URL_TEST.replace("{url}", url))
        if how == "env":
            monkeypatch.setenv("FAKEPAY_URL", url)
            result = consumer.runpytest()
        else:
            result = consumer.runpytest("--fakepay-url", url)
        result.assert_outcomes(passed=2)


@pytest.mark.parametrize("sandbox", ["session", "none"])
def test_attached_tests_start_as_started_ones_and_the_server_is_left_as_found(consumer: pytest.Pytester, sandbox: str) -> None:
    consumer.makepyfile(
        test_attached="""
        import pytest
        from helpers import pay

        def test_no_random_failures(fakepay):
            assert {pay(fakepay, f"p{i}").status_code for i in range(60)} == {200}

        @pytest.mark.fakepay(failure_rate=1.0)
        def test_marker_rate(fakepay):
            assert pay(fakepay, "p1").status_code == 500

        @pytest.mark.fakepay(scenario="lost-responses")
        def test_marker_scenario(fakepay):
            assert fakepay.state()["scenario"] == "lost-responses"

        def test_back_to_the_servers_scenario_without_failures(fakepay):
            assert fakepay.state()["scenario"] == "default"
            assert {pay(fakepay, f"p{i}").status_code for i in range(60)} == {200}
            fakepay.set_failure_rate(0.5)
        """
    )
    with serving("--seed", "1") as (_, banner):
        url = banner.group(1)
        consumer.runpytest("--fakepay-url", url, f"--fakepay-sandbox={sandbox}").assert_outcomes(passed=4)
        assert scenario_of(url) == ("default", 0.1)
        consumer.runpytest("--fakepay-url", url, f"--fakepay-sandbox={sandbox}", "--fakepay-scenario", "always-fail",
                           "-k", "marker").assert_outcomes(passed=2)
        assert scenario_of(url) == ("default", 0.1)
        assert live_sandboxes(url) == []


SANDBOXED = """
import os, pytest, requests
from helpers import pay

def note(test, fakepay):
    with open(os.path.join({folder!r}, os.environ["PYTEST_XDIST_WORKER"]), "a") as f:
        f.write(f"{test} {fakepay.sandbox_id}\\n")

@pytest.mark.parametrize("n", range(3))
def test_in_a_sandbox(fakepay, n):
    note(n, fakepay)
    assert fakepay.payment("alice", "on-the-server") is None
    assert pay(fakepay, "p1").status_code == 200
    assert [(e["path"], e["status"]) for e in fakepay.requests()] == [("/payments/p1/instant", 200)]

@pytest.mark.fakepay(sandbox="test", failure_rate=1.0)
def test_in_a_sandbox_of_its_own(fakepay):
    note("own", fakepay)
    assert pay(fakepay, "p1").status_code == 500
"""


@pytest.mark.parametrize("sandbox", ["session", "test"])
def test_attached_each_process_or_test_works_in_a_sandbox_of_its_own(consumer: pytest.Pytester, tmp_path: Path,
                                                                    sandbox: str) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    consumer.makepyfile(test_sandboxed=SANDBOXED.replace("{folder!r}", repr(str(notes))))
    with serving("--failure-rate", "0") as (_, banner):
        url = banner.group(1)
        seeded = json.dumps([{"owner": "alice", "paymentId": "on-the-server", "storeId": "s", "orderName": "o",
                              "totalPayAmount": 1, "currency": "KRW"}]).encode()
        assert fetch(f"{url}/__fakepay/payments", "POST", seeded, {"Content-Type": "application/json"})[0] == 200
        consumer.makeini(INI + f"fakepay_sandbox = {sandbox}\n")
        consumer.runpytest_subprocess("-n", "2", "-p", "xdist", "--fakepay-url", url).assert_outcomes(passed=4)
        assert live_sandboxes(url) == []
        body = fetch(f"{url}/__fakepay/state?owner=alice")[1]
        assert [payment["paymentId"] for payment in json.loads(body)["payments"]] == ["on-the-server"]
    workers = [dict(line.split() for line in note.read_text().splitlines()) for note in notes.iterdir()]
    ids = {test: sandbox_id for tests in workers for test, sandbox_id in tests.items()}
    assert sorted(ids) == ["0", "1", "2", "own"] and "None" not in ids.values()
    # one sandbox for each test, or one for each worker's tests and one for the marked test
    sessions = [{sandbox_id for test, sandbox_id in tests.items() if test != "own"} for tests in workers]
    assert len(set(ids.values())) == (4 if sandbox == "test" else sum(map(len, sessions)) + 1)
    assert sandbox == "test" or all(len(found) <= 1 for found in sessions)


def test_in_process_each_test_may_have_a_sandbox_of_its_own(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(
        test_own="""
        import pytest
        from helpers import pay

        @pytest.mark.fakepay(sandbox="session")
        def test_session(fakepay):
            assert fakepay.sandbox_id is None
            fakepay.load_scenario("always-fail")

        def test_own(fakepay):
            assert fakepay.sandbox_id is not None
            assert fakepay.state()["scenario"] == "default"
            assert {pay(fakepay, f"p{i}").status_code for i in range(20)} == {200}

        @pytest.mark.fakepay(scenario="always-fail")
        def test_own_scenario(fakepay):
            assert pay(fakepay, "p1").status_code == 500

        @pytest.mark.fakepay(sandbox="session")
        def test_back_on_the_server(fakepay):
            assert fakepay.sandbox_id is None and pay(fakepay, "p1").status_code == 200
        """
    )
    consumer.runpytest("-p", "no:randomly", "--fakepay-sandbox", "test").assert_outcomes(passed=4)


def test_a_fakepay_that_makes_no_sandbox_is_a_usage_error(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(test_it=SEVENTEEN)
    with serving("--sandboxes", "0", "--failure-rate", "0") as (_, banner):
        url = banner.group(1)
        assert usage_error(consumer.runpytest("--fakepay-url", url)) == (
            f"the fakepay at {url} made no sandbox (429 TOO_MANY_SANDBOXES: the most sandboxes this server "
            "holds at once (0) are live already; delete those you are done with (DELETE /__fakepay/sandboxes/{id}), or start fakepay with a "
            "higher --sandboxes); to work on its own state, shared by every test, give --fakepay-sandbox=none"
        )
        consumer.runpytest("--fakepay-url", url, "--fakepay-sandbox=none").assert_outcomes(passed=17)


def test_a_sandbox_setting_that_is_none_of_the_three_is_a_usage_error(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(test_it=SEVENTEEN)
    consumer.makeini(INI + "fakepay_sandbox = worker\n")
    assert usage_error(consumer.runpytest()) == "ini option fakepay_sandbox: takes session, test, none; got 'worker'"


@pytest.mark.parametrize("how", ["option", "ini", "env"])
def test_a_control_token(consumer: pytest.Pytester, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    consumer.makepyfile(test_token="def test_it(fakepay):\n    fakepay.set_failure_rate(1.0)\n")
    with serving("--control-token", "s3cret") as (_, banner):
        url = banner.group(1)
        if how == "option":
            result = consumer.runpytest("--fakepay-url", url, "--fakepay-control-token", "s3cret")
        elif how == "ini":
            consumer.makeini(INI + "fakepay_control_token = s3cret\n")
            result = consumer.runpytest("--fakepay-url", url)
        else:
            monkeypatch.setenv("FAKEPAY_CONTROL_TOKEN", "s3cret")
            result = consumer.runpytest("--fakepay-url", url)
        result.assert_outcomes(passed=1)


def test_a_missing_control_token_is_a_usage_error_naming_the_settings(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(test_it=SEVENTEEN)
    with serving("--control-token", "s3cret") as (_, banner):
        url = banner.group(1)
        assert usage_error(consumer.runpytest("--fakepay-url", url)) == (
            f"the fakepay at {url} needs a control token: give the one it was started with as --fakepay-control-token T, "
            "the ini option fakepay_control_token or FAKEPAY_CONTROL_TOKEN"
        )


def test_a_wrong_control_token_is_a_usage_error_naming_where_it_was_given(consumer: pytest.Pytester,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    consumer.makepyfile(test_it=SEVENTEEN)
    monkeypatch.setenv("FAKEPAY_CONTROL_TOKEN", "wrong")
    with serving("--control-token", "s3cret") as (_, banner):
        url = banner.group(1)
        assert usage_error(consumer.runpytest("--fakepay-url", url)) == (
            f"FAKEPAY_CONTROL_TOKEN: the fakepay at {url} refused this control token"
        )


def test_attaching_to_nothing_is_a_usage_error(consumer: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    consumer.makepyfile(test_nothing=SEVENTEEN)
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("FAKEPAY_URL", url)
    assert fnmatch.fnmatch(usage_error(consumer.runpytest()), f"FAKEPAY_URL: no fakepay answers at {url}: *")


def test_a_url_that_is_not_a_fakepay_url_is_a_usage_error(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(test_it=SEVENTEEN)
    assert usage_error(consumer.runpytest("--fakepay-url", "https://fakepay.example/api")) == (
        "--fakepay-url: a fakepay URL is http://HOST:PORT, got 'https://fakepay.example/api'"
    )


@pytest.fixture
def web_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """Another web server (not a fakepay), answering every GET with ``request.param``'s status and an HTML page."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(request.param)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<!DOCTYPE html><html><body><h1>Not here</h1></body></html>")

        def log_message(self, *_: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page) as server:
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})  # shutdown() waits for a poll
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
        thread.join()


@pytest.mark.parametrize(
    ("web_server", "why"), [(404, "is not a fakepay with a control API (it answered 404)"), (200, "is not a fakepay (it answered without JSON)")],
    indirect=["web_server"],
)
def test_a_server_that_is_not_a_fakepay_is_a_usage_error(consumer: pytest.Pytester, web_server: str, why: str) -> None:
    consumer.makepyfile(test_it=SEVENTEEN)
    consumer.makeini(INI + f"fakepay_url = {web_server}\n")
    assert usage_error(consumer.runpytest()) == f"ini option fakepay_url: {web_server} {why}"


def test_with_xdist_a_fakepay_that_is_not_there_is_one_usage_error(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(test_it=SEVENTEEN)
    url = f"http://127.0.0.1:{free_port()}"
    assert fnmatch.fnmatch(usage_error(consumer.runpytest_subprocess("-n", "2", "-p", "xdist", "--fakepay-url", url)),
                           f"--fakepay-url: no fakepay answers at {url}: *")


def test_a_project_that_does_not_use_the_fixture_is_not_stopped_by_a_url_of_nothing(
    consumer: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer.makepyfile(test_plain="def test_plain():\n    pass\n")
    monkeypatch.setenv("FAKEPAY_URL", f"http://127.0.0.1:{free_port()}")
    consumer.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("failure_rate=2", "@pytest.mark.fakepay: failure_rate=2: must be a number from 0 to 1, got 2"),
        ("seed=-1", "@pytest.mark.fakepay: seed=-1: must be an integer from 0 to 9223372036854775807, got -1"),
        ("scenario='happypath'", "@pytest.mark.fakepay: scenario: no scenario 'happypath': not a file (relative to *) nor a "
                                 "shipped scenario (*); did you mean 'happy-path'?"),
        ("scenario='bad.yaml'", "@pytest.mark.fakepay: scenario: bad.yaml:1:1: nme: unknown key; did you mean 'name'?"),
        ("scenario=7", "@pytest.mark.fakepay: scenario= takes a shipped scenario's name, or a file relative to the current "
                       "directory; got 7"),
        ("sandbox='none'", "@pytest.mark.fakepay: sandbox= takes 'session' or 'test'; got 'none'"),
    ],
)
def test_a_bad_marker_is_one_error_of_its_test_without_a_traceback(consumer: pytest.Pytester, marker: str, message: str) -> None:
    consumer.makefile(".yaml", bad="nme: x\n")
    consumer.makepyfile(
        test_marked=f"""
        import pytest

        @pytest.mark.fakepay({marker})
        def test_marked(fakepay):
            pass

        def test_plain(fakepay):
            pass
        """
    )
    result = consumer.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)
    output = result.stdout.str()
    assert "Traceback" not in output and "During handling" not in output and "\nE   " not in output
    result.stdout.fnmatch_lines(["*_ ERROR at setup of test_marked _*", message, "*short test summary info*"])


def test_a_misspelled_variable_is_warned_about_once(consumer: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    consumer.makepyfile(test_it=SEVENTEEN)
    monkeypatch.setenv("FAKEPAY_URLL", "http://127.0.0.1:8080")
    result = consumer.runpytest()
    result.assert_outcomes(passed=17)
    assert [line for line in result.stderr.lines if "FAKEPAY" in line] == [
        "fakepay: warning: FAKEPAY_URLL is ignored: fakepay reads no such variable; did you mean 'FAKEPAY_URL'?"
    ]


def test_each_xdist_worker_has_its_own_server(consumer: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    consumer.makepyfile(
        test_workers=f"""
        import os, pytest
        from helpers import pay

        @pytest.mark.parametrize("n", range(8))
        def test_pay(fakepay, n):
            assert pay(fakepay, "same-id").status_code == 200
            with open(os.path.join({str(tmp_path)!r}, os.environ["PYTEST_XDIST_WORKER"]), "a") as f:
                f.write(fakepay.url + "\\n")
        """
    )
    monkeypatch.setenv("FAKEPAY_SEEDS", "7")
    result = consumer.runpytest_subprocess("-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=8)
    assert result.stderr.str().count("FAKEPAY_SEEDS is ignored") == 1  # by the controller only
    urls = {path.name: set(path.read_text().split()) for path in tmp_path.iterdir()}
    assert set(urls) == {"gw0", "gw1"}
    assert all(len(u) == 1 for u in urls.values()) and urls["gw0"] != urls["gw1"]


def test_fakepay_app_starts_from_the_scenario_option_and_the_marker(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(
        test_app="""
        import pytest
        from fakepay import issue_secret

        BODY = {"storeId": "s", "orderName": "o", "totalPayAmount": 1, "currency": "KRW"}

        async def pay(aiohttp_client, app):
            client = await aiohttp_client(app)
            headers = {"Authorization": "Bearer " + issue_secret("alice")}
            return (await client.post("/payments/p1/instant", json=BODY, headers=headers)).status

        async def test_option(aiohttp_client, fakepay_app):
            assert await pay(aiohttp_client, fakepay_app) == 500

        @pytest.mark.fakepay(failure_rate=0)
        async def test_marker_rate(aiohttp_client, fakepay_app):
            assert await pay(aiohttp_client, fakepay_app) == 200

        @pytest.mark.fakepay(scenario="happy-path")
        async def test_marker_scenario(aiohttp_client, fakepay_app):
            assert await pay(aiohttp_client, fakepay_app) == 200
        """
    )
    result = consumer.runpytest("-p", "aiohttp", "-o", "asyncio_mode=auto", "--fakepay-scenario", "always-fail")
    result.assert_outcomes(passed=3)


def test_no_pending_task_noise_after_requests_held_by_faults(consumer: pytest.Pytester) -> None:
    test = """
        import pytest, requests
        from helpers import BODY

        @pytest.mark.parametrize("n", range(3))
        def test_timeout(fakepay, n):
            fakepay.fail_next(outcome={"timeout_s": 30})
            with pytest.raises(requests.Timeout):
                requests.post(f"{fakepay.url}/payments/p/instant", json=BODY, timeout=0.2,
                              headers={"Authorization": "Bearer " + fakepay.secret("a")})
        """
    consumer.makepyfile(test_held=test, test_later="import gc\n\ndef test_later(fakepay):\n    gc.collect()\n")
    result = consumer.runpytest_subprocess()
    result.assert_outcomes(passed=4)
    assert "Task was destroyed but it is pending" not in result.stderr.str() + result.stdout.str()


def test_fakepay_app_for_aiohttp_client(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(
        test_app="""
        from fakepay import issue_secret

        async def test_pay(aiohttp_client, fakepay_app):
            client = await aiohttp_client(fakepay_app)
            body = {"storeId": "s", "orderName": "o", "totalPayAmount": 1, "currency": "KRW"}
            headers = {"Authorization": "Bearer " + issue_secret("alice")}
            response = await client.post("/payments/p1/instant", json=body, headers=headers)
            assert response.status == 200
        """
    )
    consumer.runpytest("-p", "aiohttp", "-o", "asyncio_mode=auto").assert_outcomes(passed=1)


def test_importing_the_plugin_loads_no_server_code() -> None:
    code = "import sys, fakepay.testing.plugin; print(sorted(m for m in ('aiohttp', 'yaml', 'fakepay.core.instance') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "[]"


def test_a_project_that_does_not_use_fakepay_is_untouched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    pytester.makeini(INI)
    result = pytester.runpytest_subprocess("--strict-markers")
    result.assert_outcomes(passed=1)
    assert "fakepay serving" not in result.stdout.str()

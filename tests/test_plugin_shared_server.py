"""pytest-xdist workers on one shared ``fakepay serve`` (docs/pytest.md, "pytest-xdist"): each works
in a sandbox of its own, so that rules, failure rates, resets and the journal of one never reach
another; without sandboxes, the same tests fail."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support import ROOT, environment, fetch, live_sandboxes, serving

#: Twelve pytest runs in subprocesses, about a minute: outside the inner loop.
pytestmark = pytest.mark.toolchain

#: 48 tests of four kinds, each of which fails when another test's calls reach its fakepay.
SUITE = '''
import time
import urllib.error
import urllib.request

import pytest

BODY = b'{"storeId": "s", "orderName": "o", "totalPayAmount": 1000, "currency": "KRW"}'


def pay(fakepay, payment_id):
    request = urllib.request.Request(
        f"{fakepay.url}/payments/{payment_id}/instant", BODY, method="POST",
        headers={"Authorization": "Bearer " + fakepay.secret("alice"), "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("n", range(12))
def test_fail_next(fakepay, n):
    fakepay.fail_next(1)
    assert [pay(fakepay, f"a{n}"), pay(fakepay, f"b{n}")] == [500, 200]


@pytest.mark.parametrize("n", range(12))
def test_a_failure_rate_of_one(fakepay, n):
    fakepay.set_failure_rate(1.0)
    assert [pay(fakepay, f"r{n}-{i}") for i in range(3)] == [500] * 3


@pytest.mark.parametrize("n", range(12))
def test_no_failure_over_five_payments(fakepay, n):
    assert [pay(fakepay, f"ok{n}-{i}") for i in range(5)] == [200] * 5


@pytest.mark.parametrize("n", range(12))
def test_a_payment_and_its_one_entry_after_a_pause(fakepay, n):
    assert pay(fakepay, f"kept{n}") == 200
    time.sleep(0.05)
    assert fakepay.payment("alice", f"kept{n}") is not None
    assert len(fakepay.requests()) == 1
'''

#: pytest with only the plugins these tests use: each worker loads them again, and on two busy
#: cores every plugin more costs a second a run.
PYTEST = [sys.executable, "-m", "pytest", "-q", "-n", "4", "-p", "xdist", "-p", "fakepay.testing.plugin", "-p", "no:cacheprovider"]


def run_pytest(project: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``pytest -n 4`` in ``project``, attached to the fakepay at ``url`` by ``FAKEPAY_URL``."""
    variables = environment(FAKEPAY_URL=url, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    variables.pop("PYTEST_ADDOPTS", None)  # such as CI's --cov
    return subprocess.run([*PYTEST, *args], cwd=project, env=variables, capture_output=True, text=True, timeout=120)


def outcomes(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """How many tests passed, failed, ... by pytest's summary line."""
    return {kind: int(count) for count, kind in re.findall(r"(\d+) (passed|failed|errors?)\b", result.stdout.splitlines()[-1])}


def assert_left_as_found(url: str) -> None:
    """No sandbox left live, and nothing paid into the server's own state."""
    assert live_sandboxes(url) == []
    assert json.loads(fetch(f"{url}/__fakepay/state")[1])["payments"] == []


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "test_suite.py").write_text(SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return tmp_path


def test_four_workers_on_one_shared_server_pass_ten_runs_in_a_row(suite: Path) -> None:
    with serving() as (_, banner):  # its scenario fails 10 % of payments: each sandbox starts with none
        url = banner.group(1)
        for _ in range(10):
            result = run_pytest(suite, url)
            assert outcomes(result) == {"passed": 48}, result.stdout + result.stderr
        assert_left_as_found(url)


def test_without_sandboxes_the_same_tests_fail(suite: Path) -> None:
    with serving() as (_, banner):
        result = run_pytest(suite, banner.group(1), "--fakepay-sandbox=none")
        assert result.returncode == 1 and outcomes(result)["failed"] > 0, result.stdout + result.stderr


def test_the_shops_tests_pass_with_four_workers_on_one_shared_server(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples" / "shop", tmp_path, dirs_exist_ok=True)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    with serving() as (_, banner):
        url = banner.group(1)
        result = run_pytest(tmp_path, url)
        assert outcomes(result) == {"passed": 9}, result.stdout + result.stderr
        assert_left_as_found(url)

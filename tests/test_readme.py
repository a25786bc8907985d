"""The README's examples work: its scenarios load, its shell walk-throughs run, its tests pass."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from fakepay import issue_secret, parse_scenario_text, shipped_scenarios

from .support import SCHEMA, fetch, serving

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, re.DOTALL)


def blocks(language: str, containing: str) -> list[str]:
    found = [text for lang, text in BLOCKS if lang == language and containing in text]
    assert found, f"no {language} block with {containing!r} in the README"
    return found


def test_the_scenario_format_example_is_valid() -> None:
    (text,) = blocks("yaml", "name: checkout-happy-path")
    scenario = parse_scenario_text(text, "README")
    assert scenario.seed == 42 and scenario.payments[0].payment_id == "20251022_0001"
    assert scenario.failure.rate == 0.0  # a happy path
    jsonschema.validate(yaml.safe_load(text), SCHEMA, cls=jsonschema.Draft202012Validator)


def test_the_rules_example_is_valid() -> None:
    (text,) = blocks("yaml", "rules:\n  - when:")
    assert parse_scenario_text("version: 1\n" + text, "README").rules[0].times == 1


def run_shell(script: str, url: str) -> str:
    script = 'curl() { command curl "$@"; echo; }\n' + script.replace("http://127.0.0.1:8080", url)
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_the_curl_walk_through() -> None:
    (script,) = blocks("sh", "SECRET=$(curl")
    server = re.search(r"#\s+fakepay serve(.*)", script)
    assert server, "the walk-through says how to start the server"
    with serving(*server.group(1).split()) as (_, banner):
        lines = [json.loads(line) for line in run_shell(script, banner.group(1)).splitlines()]
    assert [line.get("paymentStatus") for line in lines] == [None, "PAID", "CANCELLED"]
    assert lines[0]["paymentId"] == "20251022_0001" and lines[2]["orderName"] == "노트북외 1건"


@pytest.mark.skipif(shutil.which("curl") is None, reason="the examples use curl")
def test_the_control_api_examples() -> None:
    (script,) = blocks("sh", "__fakepay/config")
    with serving() as (_, banner):
        answers = [json.loads(line) for line in run_shell(script, banner.group(1)).splitlines() if line]
    assert answers[0]["failure"]["rate"] == 0.0
    assert answers[1]["then"] == "lost_response"
    assert answers[2] == {"requests": []}
    assert answers[3] == {"reset": "owner", "owner": "alice"}


@pytest.mark.skipif(shutil.which("curl") is None, reason="the example uses curl")
def test_the_event_stream_example() -> None:
    (script,) = blocks("sh", "__fakepay/events")
    with serving("--failure-rate", "0") as (_, banner):
        url = banner.group(1)
        command = "exec " + script.splitlines()[0].replace("http://127.0.0.1:8080", url)
        curl = subprocess.Popen(["bash", "-c", command], stdout=subprocess.PIPE, text=True)
        try:
            assert curl.stdout is not None and curl.stdout.readline() == 'data: {"type":"ready"}\n'
            body = json.dumps({"storeId": "s", "orderName": "노트북", "totalPayAmount": 1, "currency": "KRW"}).encode()
            headers = {"Authorization": f"Bearer {issue_secret('alice')}", "Content-Type": "application/json"}
            assert fetch(f"{url}/payments/20251022_0001/instant", "POST", body, headers)[0] == 200
            events = [json.loads(line[6:]) for line in (curl.stdout.readline() for _ in range(4)) if line != "\n"]
        finally:
            curl.terminate()
            curl.wait()
            curl.stdout.close()  # type: ignore[union-attr]
    assert [event["type"] for event in events] == ["payment", "request"]
    assert events[0]["payment"]["orderName"] == "노트북" and events[1]["request"]["status"] == 200


@pytest.mark.skipif(shutil.which("curl") is None, reason="the CI example uses curl")
def test_the_ci_example_starts_and_waits(tmp_path: Path) -> None:
    (text,) = blocks("yaml", "__fakepay/health")
    steps = [step["run"] for step in yaml.safe_load(text) if "run" in step]
    serve, wait = steps[1], steps[2]
    assert serve.startswith("fakepay serve") and serve.endswith("&")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    secret, _ = steps[3].split(" ./gradlew test")
    script = "\n".join([
        f"cd {tmp_path}",
        serve.replace("8080", port) + " SERVER=$! ; trap 'kill $SERVER' EXIT",
        wait.replace("8080", port),
        "echo",
        secret + """ sh -c 'echo "$CEOS_PAYMENT_SECRET"'""",
    ])
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == ['{"status":"ok"}', issue_secret("alice")]
    assert next(step["uses"] for step in yaml.safe_load(text) if "uses" in step).startswith("actions/setup-python@")


def test_the_gradle_job_installs_fakepay_before_the_tests() -> None:
    (text,) = blocks("yaml", "\n- run: ./gradlew test\n")
    steps = yaml.safe_load(text)
    assert [step.get("uses", step.get("run", "")).split("@")[0] for step in steps] == [
        "actions/setup-java", "actions/setup-python", "pip install ./fakepay", "./gradlew test"
    ]


def test_the_pytest_examples(pytester: pytest.Pytester) -> None:
    (checkout,) = blocks("python", "# test_checkout.py")
    (marked,) = blocks("python", "@pytest.mark.fakepay(")
    (in_process,) = blocks("python", "fakepay_app")
    (ini,) = blocks("ini", "asyncio_mode")
    pytester.makepyfile(test_checkout=checkout, test_marked=marked, test_in_process=in_process)
    pytester.makeini(ini)
    pytester.runpytest("--strict-markers").assert_outcomes(passed=3)


def test_the_two_commands_are_the_ones_ci_runs() -> None:
    first, second = blocks("sh", "pip install")[:2]
    assert first.strip() == "pip install . && fakepay serve"
    assert second.strip() in (ROOT / ".ci" / "run").read_text()


def test_the_handle_example_without_pytest() -> None:
    (example,) = blocks("python", "with FakePay() as fake:")
    result = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    url, status = result.stdout.split()
    assert url.startswith("http://127.0.0.1:") and status == "PAID"


def test_the_examples_run_in_a_project_that_installed_only_fakepay_and_what_they_name(tmp_path: Path) -> None:
    """A fresh virtual environment with fakepay installed from a copy of this checkout (not
    editable, so its scenarios must be in the package) and the packages the README names."""
    source = tmp_path / "fakepay"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=120)
    bin_ = tmp_path / "venv" / "bin"
    install = subprocess.run([str(bin_ / "pip"), "install", "-q", str(source), "pytest", "requests", "pytest-aiohttp"],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text(blocks("ini", "asyncio_mode")[0])
    for name, marker in (("test_checkout", "# test_checkout.py"), ("test_marked", "@pytest.mark.fakepay("),
                         ("test_in_process", "fakepay_app")):
        (project / f"{name}.py").write_text(blocks("python", marker)[0])
    environment = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}  # such as CI's --cov
    tests = subprocess.run([str(bin_ / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
                           cwd=project, capture_output=True, text=True, timeout=300, env=environment)
    assert tests.returncode == 0 and "3 passed" in tests.stdout, tests.stdout + tests.stderr
    handle = subprocess.run([str(bin_ / "python"), "-c", blocks("python", "with FakePay() as fake:")[0]],
                            cwd=project, capture_output=True, text=True, timeout=60)
    assert handle.returncode == 0 and handle.stdout.split()[1] == "PAID", handle.stderr
    names = subprocess.run([str(bin_ / "fakepay"), "validate", *shipped_scenarios()], cwd=project, capture_output=True,
                           text=True, timeout=60)
    assert names.stdout.count(": ok") == len(shipped_scenarios()), names.stderr
    page = "from importlib.resources import files; print(*sorted(f.name for f in (files('fakepay') / 'dashboard').iterdir()))"
    dashboard = subprocess.run([str(bin_ / "python"), "-c", page], cwd=project, capture_output=True, text=True, timeout=60)
    assert dashboard.stdout.split() == ["dashboard.css", "dashboard.js", "index.html"], dashboard.stderr

"""The examples of the README and of docs/ work: their scenarios load, their shell walk-throughs run,
their tests pass. A block is found by what it contains, in the page that shows it."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest
import yaml
from portone_server_sdk.webhook import verify

from fakepay import FakePay, issue_secret, parse_scenario_text, shipped_scenarios

from .support import SCHEMA, fetch, serving

ROOT = Path(__file__).resolve().parent.parent
PYTEST_EXAMPLES = ROOT / "examples" / "pytest"


@cache
def fenced(page: str) -> list[tuple[str, str]]:
    """The fenced blocks of a page of the repository (``README.md``, ``docs/pytest.md``): language, text."""
    return re.findall(r"```(\w*)\n(.*?)```", (ROOT / page).read_text(), re.DOTALL)


def blocks(language: str, containing: str, page: str = "README.md") -> list[str]:
    """The ``language`` blocks of ``page`` that contain ``containing``: at least one."""
    found = [text for lang, text in fenced(page) if lang == language and containing in text]
    assert found, f"no {language} block with {containing!r} in {page}"
    return found


def test_the_scenario_format_example_is_valid() -> None:
    (text,) = blocks("yaml", "name: checkout-happy-path", "docs/scenarios.md")
    scenario = parse_scenario_text(text, "docs/scenarios.md")
    assert scenario.seed == 42 and scenario.section.payments[0].payment_id == "20251022_0001"
    assert scenario.failure.rate == 0.0  # a happy path
    jsonschema.validate(yaml.safe_load(text), SCHEMA, cls=jsonschema.Draft202012Validator)


def test_the_rules_example_is_valid() -> None:
    (text,) = blocks("yaml", "rules:\n  - when:", "docs/rules-and-faults.md")
    assert parse_scenario_text("version: 1\n" + text, "docs/rules-and-faults.md").rules[0].times == 1


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
    (script,) = blocks("sh", "__fakepay/config", "docs/control-api.md")
    with serving() as (_, banner):
        answers = [json.loads(line) for line in run_shell(script, banner.group(1)).splitlines() if line]
    assert answers[0]["failure"]["rate"] == 0.0
    assert answers[1]["then"] == "lost_response"
    assert answers[2] == {"requests": []}
    assert answers[3] == {"reset": "owner", "owner": "alice"}


@pytest.mark.skipif(shutil.which("curl") is None, reason="the example uses curl")
def test_the_event_stream_example() -> None:
    (script,) = blocks("sh", "__fakepay/events", "docs/control-api.md")
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
    (text,) = blocks("yaml", "__fakepay/health", "docs/container-and-ci.md")
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
    (text,) = blocks("yaml", "\n- run: ./gradlew test\n", "docs/junit.md")
    steps = yaml.safe_load(text)
    assert [step.get("uses", step.get("run", "")).split("@")[0] for step in steps] == [
        "actions/setup-java", "actions/setup-python", "pip install ./fakepay", "./gradlew test"
    ]

@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_the_portone_walk_through() -> None:
    (script,) = blocks("sh", "/login/api-secret", "docs/portone.md")
    server = re.search(r"#.*?\bfakepay serve(.*)", script)
    assert server, "the walk-through says how to start the server"
    with serving(*server.group(1).split()) as (_, banner):
        lines = [json.loads(line) for line in run_shell(script, banner.group(1)).splitlines()]
    assert lines[0]["transactionType"] == "PAYMENT" and "code" not in lines[0]
    assert [line.get("status") for line in lines[1:]] == ["PAID", None, "PARTIAL_CANCELLED", None]
    assert lines[2]["cancellation"]["vatAmount"] == 45454 and lines[3]["amount"]["cancelled"] == 500000
    assert lines[4] == {"type": "PAYMENT_NOT_FOUND", "message": "payment 'order-2' not found"}


@pytest.mark.skipif(shutil.which("curl") is None, reason="the example uses curl")
def test_the_portone_customers_steps() -> None:
    (script,) = blocks("sh", "/__fakepay/portone/deposit", "docs/portone.md")
    with serving("--api", "portone", "--failure-rate", "0") as (_, banner):
        lines = [json.loads(line) for line in run_shell(script, banner.group(1)).splitlines()]
    assert lines[0]["transactionType"] == "PAYMENT" and "code" not in lines[0]
    assert lines[1]["status"] == "PAID" and lines[1]["method"]["type"] == "PaymentMethodVirtualAccount"
    assert lines[2] == {"transactionType": "ISSUE_BILLING_KEY", "billingKey": "billing-key-1"}


def test_the_portone_scenario_example_serves(tmp_path: Path) -> None:
    (text,) = blocks("yaml", "# shop.yaml", "docs/portone.md")
    jsonschema.validate(yaml.safe_load(text), SCHEMA, cls=jsonschema.Draft202012Validator)
    (tmp_path / "shop.yaml").write_text(text)
    with serving("--scenario", "shop.yaml", cwd=tmp_path) as (_, banner):
        url, headers = banner.group(1), {"Authorization": "PortOne shop-secret"}
        statuses = [json.loads(fetch(f"{url}/payments/order-{n}", headers=headers)[1])["status"] for n in (1, 2, 3)]
        assert statuses == ["PAID", "PARTIAL_CANCELLED", "VIRTUAL_ACCOUNT_ISSUED"]
        assert fetch(f"{url}/billing-keys/billing-key-1", headers=headers)[0] == 200
        assert fetch(f"{url}/payments/order-1", headers={"Authorization": "PortOne another"})[0] == 401


def test_the_readmes_portone_test_is_green(pytester: pytest.Pytester) -> None:
    """As a newcomer copies it into a project of their own."""
    (test,) = blocks("python", "fakepay_portone")
    example = (ROOT / "examples" / "pytest" / "test_portone_checkout.py").read_text()
    assert test[test.index("\ndef "):] in example, "the README shows the example's first test"
    pytester.makepyfile(test_portone=test)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_webhook_scenario_and_rules_are_valid() -> None:
    (setup,) = blocks("yaml", "# shop-webhooks.yaml", "docs/webhooks.md")
    jsonschema.validate(yaml.safe_load(setup), SCHEMA, cls=jsonschema.Draft202012Validator)
    section = parse_scenario_text(setup, "docs/webhooks.md").section
    assert section.webhook.url == "http://127.0.0.1:9000/portone-webhook"
    assert section.webhook.stores["store-b"].secret == section.webhook.secret
    (rules,) = blocks("yaml", "rules:\n  - when: {operation: webhook", "docs/webhooks.md")
    parsed = parse_scenario_text("version: 1\napi: portone\n" + rules, "docs/webhooks.md").rules
    assert [rule.then.kind.value for rule in parsed] == ["duplicate", "delay", "stale_timestamp", "bad_signature"]
    assert [condition.low for condition in parsed[-1].when.conditions] == [None] and parsed[-1].when.conditions[0].value == 2


def test_the_webhook_faults_from_the_handle() -> None:
    (calls,) = blocks("python", "fail_next(1, \"bad_signature\"", "docs/webhooks.md")
    with FakePay(scenario={"version": 1, "api": "portone"}) as fakepay_portone:
        exec(calls, {"fakepay_portone": fakepay_portone})
        rules = fakepay_portone.state()["rules"]
    assert [(rule["when"], rule["then"]) for rule in rules] == [
        ({"operation": "webhook", "type": "Transaction.Paid"}, "drop"),
        ({"operation": "webhook", "type": "Transaction.Ready"}, "out_of_order"),
        ({"operation": "webhook"}, "bad_signature"),
    ]


class _Endpoint(ThreadingHTTPServer):
    """A webhook endpoint that keeps the type and webhook-id of each delivery its secret verifies."""

    def __init__(self, secret: str) -> None:
        super().__init__(("127.0.0.1", 0), _Verifying)
        self.secret, self.verified, self.arrived = secret, list[tuple[str, str]](), threading.Condition()

    def wait_for(self, count: int) -> list[tuple[str, str]]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.verified) >= count, timeout=30), self.verified
        return self.verified


class _Verifying(BaseHTTPRequestHandler):
    server: _Endpoint

    def do_POST(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        webhook = verify(self.server.secret, self.rfile.read(int(headers["content-length"])).decode(), headers)
        with self.server.arrived:
            self.server.verified.append((type(webhook).__name__, headers["webhook-id"]))
            self.server.arrived.notify_all()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def webhook_endpoint(secret: str) -> Iterator[_Endpoint]:
    endpoint = _Endpoint(secret)
    thread = threading.Thread(target=endpoint.serve_forever)
    thread.start()
    try:
        yield endpoint
    finally:
        endpoint.shutdown()
        thread.join()
        endpoint.server_close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_the_webhook_walk_through() -> None:
    """Its deliveries reach an endpoint at the URL it names, and verify with the secret it sets."""
    (script,) = blocks("sh", "resend-webhook", "docs/webhooks.md")
    server = re.search(r"#\s+0\..*?\bfakepay serve(.*)", script)
    secret = re.search(r"whsec_\w+", script)
    assert server and secret, "the walk-through says how to start the server and sets a secret"
    with webhook_endpoint(secret.group(0)) as endpoint:
        url = f"http://127.0.0.1:{endpoint.server_port}"
        script = script.replace("http://127.0.0.1:9000", url)
        with serving(*server.group(1).replace("http://127.0.0.1:9000", url).split()) as (_, banner):
            lines = [json.loads(line) for line in run_shell(script, banner.group(1)).splitlines() if line]
            delivered = endpoint.wait_for(3)
    assert lines[0]["webhook"] == {"url": f"{url}/portone-webhook", "secret": secret.group(0), "stores": []}
    assert lines[1]["paymentId"] == "order-1" and "requests" in lines[2]
    assert lines[3]["webhook"]["trigger"] == "MANUAL" and lines[3]["webhook"]["paymentStatus"] == "PAID"
    assert lines[4]["then"] == "duplicate"
    assert [name for name, _ in delivered] == ["WebhookTransactionReady", "WebhookTransactionPaid", "WebhookTransactionPaid"]
    assert delivered[2][1] == lines[3]["webhook"]["id"] != delivered[1][1]


def write_pytest_project(project: Path) -> int:
    """The pytest examples as a user's project: examples/pytest's tests, and docs/pytest.md's marked
    test and pytest.ini; how many tests the project has."""
    examples = sorted(PYTEST_EXAMPLES.glob("test_*.py"))
    for example in examples:
        shutil.copy(example, project / example.name)
    (project / "test_marked.py").write_text(blocks("python", "@pytest.mark.fakepay(", "docs/pytest.md")[0])
    (project / "pytest.ini").write_text(blocks("ini", "asyncio_mode", "docs/pytest.md")[0])
    return sum(len(re.findall(r"^(?:async )?def test_", example.read_text(), re.MULTILINE)) for example in examples) + 1


def test_the_pytest_examples(pytester: pytest.Pytester) -> None:
    """In a process of their own: the suite also collects examples/pytest, under the same module names."""
    tests = write_pytest_project(pytester.path)
    pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider").assert_outcomes(passed=tests)


def test_the_two_commands_are_the_ones_ci_runs() -> None:
    first, second = blocks("sh", "pip install")[:2]
    assert first.strip() == "pip install . && fakepay serve"
    assert second.strip() in (ROOT / ".ci" / "run").read_text()


def test_the_readmes_scenario_validates_and_serves(tmp_path: Path) -> None:
    """As the README runs it: its payment is there from the start, and a ``lost-`` payment is stored
    but never answered."""
    (text,) = blocks("yaml", "# checkout.yaml")
    (command,) = blocks("sh", "fakepay validate")
    validate, serve = (part.split() for part in command.strip().split(" && "))
    (tmp_path / "checkout.yaml").write_text(text)
    result = subprocess.run([sys.executable, "-m", *validate], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, "checkout.yaml: ok\n"), result.stderr
    assert serve[:2] == ["fakepay", "serve"]
    with serving(*serve[2:], cwd=tmp_path) as (_, banner):
        url, headers = banner.group(1), {"Authorization": f"Bearer {issue_secret('alice')}"}
        assert (banner.group(3), banner.group(4)) == ("checkout", "0")
        status, body = fetch(f"{url}/payments/order-1", headers=headers)
        assert status == 200 and json.loads(body)["paymentStatus"] == "PAID"
        payment = json.dumps({"storeId": "s", "orderName": "o", "totalPayAmount": 1, "currency": "KRW"}).encode()
        with pytest.raises(ConnectionError):
            fetch(f"{url}/payments/lost-1/instant", "POST", payment, {**headers, "Content-Type": "application/json"})
        status, body = fetch(f"{url}/payments/lost-1", headers=headers)
        assert status == 200 and json.loads(body)["paymentStatus"] == "PAID"


def test_the_readmes_container_line_is_the_one_the_container_tests_run() -> None:
    """The README's one line is docs/container-and-ci.md's first two, which tests/test_container.py runs."""
    (line,) = blocks("sh", "docker build")
    (lines,) = blocks("sh", "docker build", "docs/container-and-ci.md")
    assert line.strip() == " && ".join(lines.strip().splitlines())


def test_the_handle_example_without_pytest() -> None:
    (example,) = blocks("python", "with FakePay() as fake:", "docs/pytest.md")
    result = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    url, status = result.stdout.split()
    assert url.startswith("http://127.0.0.1:") and status == "PAID"


def test_the_sandbox_example_without_pytest() -> None:
    (example,) = blocks("python", ".sandbox(", "docs/pytest.md")
    result = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, "PAID None\n"), result.stderr


@pytest.mark.toolchain
def test_the_examples_run_in_a_project_that_installed_only_fakepay_and_what_they_name(tmp_path: Path) -> None:
    """A fresh virtual environment with fakepay installed from a copy of this checkout (not
    editable, so its scenarios must be in the package) and the packages the docs name."""
    source = tmp_path / "fakepay"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=120)
    bin_ = tmp_path / "venv" / "bin"
    install = subprocess.run([str(bin_ / "pip"), "install", "-q", str(source), "pytest", "requests", "pytest-aiohttp",
                              "portone-server-sdk"],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    project = tmp_path / "project"
    project.mkdir()
    tests = write_pytest_project(project)
    environment = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}  # such as CI's --cov
    # Every warning is an error, but the sockets PortOne's SDK leaves open: its 0.21 clients have no
    # close(), and the garbage collector closes their connections with a ResourceWarning.
    run = subprocess.run([str(bin_ / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error",
                          "-W", "ignore:unclosed <socket:ResourceWarning"],
                         cwd=project, capture_output=True, text=True, timeout=300, env=environment)
    assert run.returncode == 0 and f"{tests} passed" in run.stdout, run.stdout + run.stderr
    (example,) = blocks("python", "with FakePay() as fake:", "docs/pytest.md")
    handle = subprocess.run([str(bin_ / "python"), "-c", example], cwd=project, capture_output=True, text=True, timeout=60)
    assert handle.returncode == 0 and handle.stdout.split()[1] == "PAID", handle.stderr
    names = subprocess.run([str(bin_ / "fakepay"), "validate", *shipped_scenarios()], cwd=project, capture_output=True,
                           text=True, timeout=60)
    assert names.stdout.count(": ok") == len(shipped_scenarios()), names.stderr
    page = "from importlib.resources import files; print(*sorted(f.name for f in (files('fakepay.control') / 'dashboard').iterdir()))"
    dashboard = subprocess.run([str(bin_ / "python"), "-c", page], cwd=project, capture_output=True, text=True, timeout=60)
    assert dashboard.stdout.split() == ["dashboard.css", "dashboard.js", "index.html"], dashboard.stderr

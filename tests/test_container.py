"""The container image, built by tools/container from this checkout and run with podman, as
docs/container-and-ci.md uses it: through the mapped port, the environment and volumes."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
import yaml

from fakepay import issue_secret

from .support import BODY, fetch, need
from .test_readme import blocks

pytestmark = [pytest.mark.container, pytest.mark.toolchain]

ROOT = Path(__file__).resolve().parent.parent
TOOL = str(ROOT / "tools" / "container")
IMAGE = "localhost/fakepay:test"


def podman(*args: str) -> str:
    """podman with tools/container's settings; its output, or a failure that shows its errors."""
    result = subprocess.run([TOOL, "podman", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"podman {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


class Container:
    """A container of the image, started in the background with its port 8080 on a free port of 127.0.0.1."""

    def __init__(self, container_id: str) -> None:
        self.id = container_id

    @property
    def url(self) -> str:
        return "http://" + podman("port", self.id, "8080")

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if podman("inspect", "--format", "{{.State.Running}}", self.id) != "true":
                pytest.fail(f"the container stopped: {self.logs()}")
            try:
                if fetch(f"{self.url}/__fakepay/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"no answer on /__fakepay/health within 30 s: {self.logs()}")

    def logs(self) -> str:
        result = subprocess.run([TOOL, "podman", "logs", self.id], capture_output=True, text=True, timeout=60)
        return result.stdout + result.stderr

    def exit_code(self) -> int:
        return int(podman("inspect", "--format", "{{.State.ExitCode}}", self.id))


#: Where podman as root notes the layers it copies, whatever the store (no option moves it).
BLOB_INFO_CACHE = Path("/var/lib/containers/cache")


@pytest.fixture(scope="module")
def store() -> Iterator[Path]:
    """tools/container's podman store and base cache (FAKEPAY_CONTAINER_DIR) in a temporary folder,
    removed at the end: the tests leave no image in the machine's store and nothing in ~/.cache.
    A short path of its own: podman refuses a run root longer than 50 characters (pytest's
    temporary folders under xdist are longer)."""
    need("podman", "runc", "debootstrap", install="apt-get install podman runc debootstrap")
    folder = Path(tempfile.mkdtemp(prefix="fakepay-"))
    noted_before = BLOB_INFO_CACHE.exists()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAKEPAY_CONTAINER_DIR", str(folder))
        yield folder
        podman("rm", "--all", "--force", "--time=0")  # and with them their mounts in the folder
    shutil.rmtree(folder)
    if not noted_before:
        shutil.rmtree(BLOB_INFO_CACHE, ignore_errors=True)


@pytest.fixture(scope="module")
def image(store: Path) -> str:
    result = subprocess.run([TOOL, "build", IMAGE], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    return IMAGE


@pytest.fixture
def run(image: str) -> Iterator[Callable[..., Container]]:
    """Start a container of the image (``FAKEPAY_*=...`` as keywords, podman options as arguments,
    ``command`` after the image), healthy unless ``wait=False``; every one is removed after the test."""
    started: list[str] = []

    def run(*options: str, command: Sequence[str] = (), wait: bool = True, **variables: str) -> Container:
        environment = [f"--env={name}={value}" for name, value in variables.items()]
        container = Container(
            podman("run", "--detach", "--publish=127.0.0.1::8080", *environment, *options, image, *command)
        )
        started.append(container.id)
        if wait:
            container.wait_until_healthy()
        return container

    yield run
    for container_id in started:
        subprocess.run([TOOL, "podman", "rm", "--force", "--time=0", container_id], capture_output=True, timeout=60)


def pay(url: str, payment_id: str) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {issue_secret('alice')}", "Content-Type": "application/json"}
    status, body = fetch(f"{url}/payments/{payment_id}/instant", "POST", json.dumps(BODY).encode(), headers)
    return status, json.loads(body)


def test_what_the_tests_build_stays_in_their_folder(image: str, store: Path) -> None:
    assert podman("info", "--format", "{{.Store.GraphRoot}} {{.Store.RunRoot}}") == f"{store}/storage {store}/run"
    assert set(podman("images", "--format", "{{.Repository}}:{{.Tag}}").split()) == {IMAGE, "localhost/python-base:bookworm"}
    assert (store / "cache" / "python-base-bookworm.tar.gz").is_file()


def test_healthy_on_the_mapped_port_and_by_its_own_healthcheck(run: Callable[..., Container]) -> None:
    container = run()
    assert fetch(f"{container.url}/__fakepay/health") == (200, b'{"status":"ok"}')
    podman("healthcheck", "run", container.id)  # the image's HEALTHCHECK, which exits non-zero when unhealthy
    logs = container.logs()
    assert "fakepay serving http://127.0.0.1:8080 (scenario: default, failure rate: 0.1" in logs
    assert "from outside a container, use the host port mapped to port 8080 (docker run -p HOST_PORT:8080)" in logs


def test_a_payment_over_the_mapped_port(run: Callable[..., Container]) -> None:
    url = run(FAKEPAY_FAILURE_RATE="0").url
    assert fetch(f"{url}/auth/alice") == (200, issue_secret("alice").encode())
    status, body = pay(url, "order-1")
    assert status == 200 and body["paymentId"] == "order-1"
    lookup = fetch(f"{url}/payments/order-1", headers={"Authorization": f"Bearer {issue_secret('alice')}"})
    assert lookup[0] == 200 and json.loads(lookup[1])["paymentStatus"] == "PAID"


def test_portone_from_the_environment(run: Callable[..., Container]) -> None:
    url = run(FAKEPAY_API="portone", FAKEPAY_FAILURE_RATE="0").url
    checkout = {"owner": "shop-secret", "paymentId": "order-1", "orderName": "Tea", "totalAmount": 1000, "currency": "KRW"}
    status, _ = fetch(f"{url}/__fakepay/portone/checkout", "POST", json.dumps(checkout).encode())
    lookup = fetch(f"{url}/payments/order-1", headers={"Authorization": "PortOne shop-secret"})
    assert (status, lookup[0]) == (200, 200) and json.loads(lookup[1])["status"] == "PAID"


def test_the_failure_rate_and_seed_from_the_environment(run: Callable[..., Container]) -> None:
    container = run(FAKEPAY_FAILURE_RATE="1", FAKEPAY_SEED="7")
    status, body = pay(container.url, "order-1")
    assert status == 500 and body["type"] == "PAYMENT_FAILED"
    assert "(scenario: default, failure rate: 1, seed: 7)" in container.logs()


def test_a_shipped_scenario_by_name(run: Callable[..., Container]) -> None:
    container = run(FAKEPAY_SCENARIO="always-fail")
    assert json.loads(fetch(f"{container.url}/__fakepay/state")[1])["scenario"] == "always-fail"
    assert pay(container.url, "order-1")[0] == 500


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder as the examples of docs/container-and-ci.md expect: ./scenarios/mine.yaml (one seeded payment),
    and ./journal, writable by the container's user."""
    tmp_path.chmod(0o755)  # as a checkout's folder is; pytest makes it readable to its owner only
    (tmp_path / "scenarios").mkdir(mode=0o755)
    (tmp_path / "scenarios" / "mine.yaml").write_text(
        "version: 1\nname: mine\npayments:\n"
        "  - {owner: alice, paymentId: seeded-1, storeId: s, orderName: o, totalPayAmount: 100, currency: KRW}\n"
    )
    (tmp_path / "journal").mkdir()
    (tmp_path / "journal").chmod(0o777)  # the container's user does not own the host's folder
    return tmp_path


def mount(volume: str, project: Path) -> str:
    """An example's ``-v ./folder:/path`` with the folder in ``project``."""
    return "--volume=" + re.sub(r"^\./", f"{project}/", volume)


def test_a_mounted_scenario_file(run: Callable[..., Container], project: Path) -> None:
    container = run(mount("./scenarios:/scenarios:ro", project), FAKEPAY_SCENARIO="/scenarios/mine.yaml")
    status, body = fetch(f"{container.url}/payments/seeded-1", headers={"Authorization": f"Bearer {issue_secret('alice')}"})
    assert status == 200 and json.loads(body)["paymentStatus"] == "PAID"
    assert "(scenario: mine," in container.logs()


def test_the_journal_file_on_a_mounted_volume(run: Callable[..., Container], project: Path) -> None:
    container = run(mount("./journal:/journal", project), FAKEPAY_JOURNAL_FILE="/journal/requests.jsonl")
    fetch(f"{container.url}/auth/alice")
    entries = [json.loads(line) for line in (project / "journal" / "requests.jsonl").read_text().splitlines()]
    assert [(entry["path"], entry["status"]) for entry in entries] == [("/auth/alice", 200)]


def test_a_control_token_from_the_environment(run: Callable[..., Container]) -> None:
    container = run(FAKEPAY_CONTROL_TOKEN="s3cret")
    assert fetch(f"{container.url}/__fakepay/state")[0] == 401
    assert fetch(f"{container.url}/__fakepay/state", headers={"Authorization": "Bearer s3cret"})[0] == 200
    assert "warning" not in container.logs()


def test_the_control_api_answers_the_containers_own_name_and_addresses(run: Callable[..., Container]) -> None:
    container = run()
    calls = ("import socket, urllib.request\n"
             "name = socket.gethostname()\n"
             "for host in (name, socket.gethostbyname(name), '127.0.0.1', 'localhost'):\n"
             "    urllib.request.urlopen(f'http://{host}:8080/__fakepay/state', timeout=5)\n")
    podman("exec", container.id, "python", "-c", calls)  # fails on any answer but 200
    # a compose service's name has one label: answered; a name with dots must be allowed
    assert fetch(f"{container.url}/__fakepay/state", headers={"Host": "fakepay:8080"})[0] == 200
    status, body = fetch(f"{container.url}/__fakepay/state", headers={"Host": "fakepay.ci.example:8080"})
    assert status == 403 and "--allow-host" in json.loads(body)["message"]
    allowed = run(FAKEPAY_ALLOW_HOST=".ci.example")
    assert fetch(f"{allowed.url}/__fakepay/state", headers={"Host": "fakepay.ci.example:8080"})[0] == 200


def test_fakepay_is_the_main_process_and_not_root(run: Callable[..., Container]) -> None:
    container = run()
    assert podman("exec", container.id, "id", "-u") == "10001"
    python, script, command, _ = podman("exec", container.id, "cat", "/proc/1/cmdline").split("\0")
    assert "python" in python and script.endswith("/fakepay") and command == "serve"


def test_stop_ends_it_on_sigterm_within_the_stop_timeout(run: Callable[..., Container]) -> None:
    container = run()
    podman("stop", "--time=2", container.id)  # SIGTERM; SIGKILL (exit code 137) only after 2 s
    assert container.exit_code() == 0
    assert "Traceback" not in container.logs()


def test_a_bad_variable_stops_the_container_with_exit_code_2(run: Callable[..., Container]) -> None:
    container = run(wait=False, FAKEPAY_FAILURE_RATE="lots")
    assert podman("wait", container.id) == "2"
    assert "fakepay: FAKEPAY_FAILURE_RATE: must be a number from 0 to 1, got 'lots'" in container.logs()


def test_the_readmes_docker_run_commands(run: Callable[..., Container], project: Path) -> None:
    lines = "".join(blocks("sh", "docker run", "docs/container-and-ci.md")).splitlines()
    commands = [shlex.split(line, comments=True) for line in lines if line.startswith("docker run")]
    banners = []
    for command in commands:
        assert command[:5] == ["docker", "run", "--rm", "-p", "127.0.0.1:8080:8080"] and "fakepay" in command
        options, arguments = command[5 : command.index("fakepay")], command[command.index("fakepay") + 1 :]
        podman_options = [mount(value, project) if flag == "-v" else f"--env={value}" for flag, value in zip(options[::2], options[1::2], strict=True)]
        container = run(*podman_options, command=arguments)
        fetch(f"{container.url}/auth/alice")
        banners.append(re.search(r"\(scenario: .*\)", container.logs()).group())  # type: ignore[union-attr]
    scenarios = [banner.split(",")[0] for banner in banners]
    assert scenarios == ["(scenario: default", "(scenario: happy-path", "(scenario: default", "(scenario: default",
                         "(scenario: mine", "(scenario: default"]
    assert "failure rate: 0, seed: 7" in banners[2]
    assert (project / "journal" / "requests.jsonl").read_text().count("\n") == 1


def test_the_readmes_github_actions_service_and_compose_file(run: Callable[..., Container], project: Path) -> None:
    (workflow,) = blocks("yaml", "services:\n      fakepay:", "docs/container-and-ci.md")
    service = yaml.safe_load(workflow)["jobs"]["test"]["services"]["fakepay"]
    assert service["ports"] == ["8080:8080"]
    assert "happy-path" in run(**service["env"]).logs()
    (compose,) = blocks("yaml", "# compose.yaml", "docs/container-and-ci.md")
    fakepay = yaml.safe_load(compose)["services"]["fakepay"]
    container = run(*[mount(volume, project) for volume in fakepay["volumes"]], **fakepay["environment"])
    token = fakepay["environment"]["FAKEPAY_CONTROL_TOKEN"]
    assert fetch(f"{container.url}/__fakepay/state", headers={"Authorization": f"Bearer {token}"})[0] == 200
    assert "(scenario: mine," in container.logs() and "warning" not in container.logs()


@pytest.fixture(scope="module")
def docker_socket(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """podman's Docker-compatible API on a unix socket, as Testcontainers finds Docker."""
    socket = tmp_path_factory.mktemp("podman") / "podman.sock"
    service = subprocess.Popen([TOOL, "service", str(socket)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not socket.exists() and service.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert socket.exists(), service.stderr.read() if service.poll() is not None else "no socket after 30 s"  # type: ignore[union-attr]
        yield f"unix://{socket}"
    finally:
        service.terminate()
        service.wait(timeout=30)
        service.stderr.close()  # type: ignore[union-attr]


def test_testcontainers_as_the_readme_uses_it(docker_socket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The JUnit 5 usage of docs/container-and-ci.md, with Python's Testcontainers: the image, its
    environment, port 8080 exposed, a wait on /__fakepay/health, the mapped URL handed to the client."""
    (java,) = blocks("java", "new GenericContainer<>", "docs/container-and-ci.md")
    assert ".withExposedPorts(8080)" in java and 'Wait.forHttp("/__fakepay/health").forStatusCode(200)' in java
    variables = re.findall(r'\.withEnv\("(\w+)", "([^"]*)"\)', java)
    monkeypatch.setenv("DOCKER_HOST", docker_socket)
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")  # the reaper is an image from a registry
    # Testcontainers takes a machine with /.dockerenv for Docker-in-Docker and then looks for a
    # gateway podman's API does not report; here the daemon is on this very machine.
    monkeypatch.setenv("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    fakepay = (
        DockerContainer(IMAGE)
        .with_envs(**dict(variables))
        .with_exposed_ports(8080)
        .waiting_for(HttpWaitStrategy(8080, "/__fakepay/health").for_status_code(200).with_startup_timeout(30))
    )
    with fakepay:
        url = f"http://{fakepay.get_container_host_ip()}:{fakepay.get_exposed_port(8080)}"
        status, body = pay(url, "order-1")
        assert status == 200 and body["paymentId"] == "order-1"
    assert podman("ps", "--all", "--quiet", f"--filter=id={fakepay.get_container_id()}") == ""

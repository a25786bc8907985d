"""The JUnit 5 example (examples/junit): FakePayExtension, a Spring-style payment client and its
tests, built with javac and run with JUnit's console launcher, the server started by the
extension or attached to by FAKEPAY_URL, one test at a time or all at once. A failing Java test
fails here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from .support import fetch, need, scenario_of, serving
from .test_readme import blocks

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "junit"
pytestmark = pytest.mark.toolchain

LAUNCHER = "/usr/share/java/junit-platform-console-standalone.jar"
JACKSON = [f"/usr/share/java/jackson-{name}.jar" for name in ("databind", "core", "annotations")]
#: JUnit's concurrent mode: the classes, and the tests of each class, all at once (docs/junit.md).
CONCURRENTLY = ("--config=junit.jupiter.execution.parallel.enabled=true",
                "--config=junit.jupiter.execution.parallel.mode.default=concurrent")


def javac(out: Path, sources: Iterable[Path], *classpath: str, options: Sequence[str] = ()) -> Path:
    """Compile ``sources`` into ``out``; returns ``out``."""
    build = subprocess.run(
        ["javac", *options, "-encoding", "UTF-8", "-d", str(out), "-cp", os.pathsep.join([LAUNCHER, *classpath]),
         *map(str, sources)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    return out


@pytest.fixture(scope="module")
def classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("javac", LAUNCHER, *JACKSON, install="apt-get install default-jdk-headless junit5 libjackson2-databind-java")
    return javac(tmp_path_factory.mktemp("classes"), sorted(EXAMPLE.glob("*.java")), *JACKSON, options=["-Xlint:all", "-Werror"])


def junit(classes: Path, *more: str, select: str | None = None, cwd: Path | None = None, options: Sequence[str] = (),
          **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FAKEPAY_")}
    command = ["java", "-jar", LAUNCHER, "-cp", os.pathsep.join([str(classes), *more, *JACKSON]),
               f"--select-class={select}" if select else "--scan-classpath",
               "--disable-banner", "--disable-ansi-colors", "--details=tree", *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd, env={**environment, **env})


def test_the_readme_commands_build_and_run_it_and_fakepay_is_stopped_at_the_end(classes: Path, tmp_path: Path) -> None:
    (commands,) = blocks("sh", "junit-platform-console-standalone.jar", "docs/junit.md")
    shutil.copytree(EXAMPLE, tmp_path / "examples" / "junit")
    pid_file = tmp_path / "pid"
    wrapper = tmp_path / "fakepay.sh"
    wrapper.write_text(f'#!/bin/sh\necho $$ > {pid_file}\nexec {sys.executable} -m fakepay "$@"\n')
    wrapper.chmod(0o755)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FAKEPAY_")}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", commands], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env={**environment, "FAKEPAY_COMMAND": str(wrapper)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[        25 tests successful      ]" in result.stdout
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


SPRING_STUBS = {
    "org/springframework/boot/test/context/SpringBootTest.java":
        "package org.springframework.boot.test.context;\npublic @interface SpringBootTest {}\n",
    "org/springframework/test/context/DynamicPropertySource.java":
        "package org.springframework.test.context;\npublic @interface DynamicPropertySource {}\n",
    "org/springframework/test/context/DynamicPropertyRegistry.java":
        "package org.springframework.test.context;\npublic interface DynamicPropertyRegistry {\n"
        "    void add(String name, java.util.function.Supplier<Object> valueSupplier);\n}\n",
}


def test_the_readme_spring_boot_test_compiles_and_runs(classes: Path, tmp_path: Path) -> None:
    """Against stand-ins for the three Spring types it names, with Spring's signatures."""
    (example,) = blocks("java", "new FakePayExtension()", "docs/junit.md")
    for name, text in {**SPRING_STUBS, "CheckoutTest.java": example}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    out = javac(tmp_path / "out", tmp_path.rglob("*.java"), str(classes))
    result = junit(out, str(classes), FAKEPAY_COMMAND=f"{sys.executable} -m fakepay", select="CheckoutTest")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[         1 tests successful      ]" in result.stdout


def live_sandboxes(url: str) -> int:
    status, body = fetch(f"{url}/__fakepay/sandboxes")
    assert status == 200
    live: int = json.loads(body)["live"]
    return live


def test_the_extension_attaches_to_fakepay_url_and_leaves_it_as_found(classes: Path) -> None:
    """Every class on the one fakepay, each in a sandbox (LostResponsesTest's on its scenario), deleted
    at the end."""
    with serving("--seed", "3") as (_, banner):
        url = banner.group(1)
        result = junit(classes, FAKEPAY_URL=url)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "[        24 tests successful      ]" in result.stdout
        assert "repetition 2 of 2 ✔" in result.stdout
        assert "aClassOnAnotherScenarioHasAFakepayOfItsOwn() ↷ Environment variable [FAKEPAY_URL]" in result.stdout
        assert live_sandboxes(url) == 0
        assert scenario_of(url) == ("default", 0.1)


def test_every_class_and_test_at_once_on_one_fakepay_each_in_a_sandbox(classes: Path) -> None:
    """JUnit's concurrent mode attached to one fakepay: each test concurrent with others of its class
    has a sandbox of its own, deleted when it ends; the server's own state is never touched."""
    with serving("--seed", "3") as (_, banner):
        url = banner.group(1)
        result = junit(classes, FAKEPAY_URL=url, options=CONCURRENTLY)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "[        24 tests successful      ]" in result.stdout
        assert "repetition 2 of 2 ✔" in result.stdout
        assert live_sandboxes(url) == 0
        assert scenario_of(url) == ("default", 0.1)


ONE_SECRET_TEST = """
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class OneSecretTest {
    @RegisterExtension
    static final FakePayExtension fakepay = new FakePayExtension();

    static PaymentClient client;

    @BeforeAll
    static void oneClientForTheClass() {  // as a Spring context takes its secret once
        client = new PaymentClient(fakepay.url(), fakepay.secret("alice"), Duration.ofSeconds(2), 1);
    }

    @Test
    void aSeededPayment() {
        fakepay.seedPayment("alice", "seeded-1");
        assertEquals("PAID", client.find("seeded-1").paymentStatus());
    }

    @Test
    void anotherSeededPayment() {
        fakepay.seedPayment("alice", "seeded-2");
        assertEquals("PAID", client.find("seeded-2").paymentStatus());
    }
}
"""


def test_a_secret_taken_once_for_a_class_whose_tests_run_at_once_is_refused_plainly(classes: Path, tmp_path: Path) -> None:
    """The class's secret names the class's sandbox, which its concurrent tests, each in its own, do
    not see: every test fails saying so. One at a time, the class's sandbox serves them all, and is
    deleted at the end."""
    (tmp_path / "OneSecretTest.java").write_text(ONE_SECRET_TEST)
    out = javac(tmp_path / "out", [tmp_path / "OneSecretTest.java"], str(classes))
    with serving("--seed", "3") as (_, banner):
        url = banner.group(1)
        at_once = junit(out, str(classes), select="OneSecretTest", FAKEPAY_URL=url, options=CONCURRENTLY)
        assert "[         2 tests failed          ]" in at_once.stdout, at_once.stdout + at_once.stderr
        for test in ("aSeededPayment()", "anotherSeededPayment()"):
            assert f"{test} ✘ FakePayExtension: OneSecretTest's tests run concurrently, each in a sandbox of its own, so what" \
                   f" was asked outside a test (a secret taken for a Spring context or in @BeforeAll) reaches none of them" in at_once.stdout
        one_at_a_time = junit(out, str(classes), select="OneSecretTest", FAKEPAY_URL=url)
        assert "[         2 tests successful      ]" in one_at_a_time.stdout, one_at_a_time.stdout + one_at_a_time.stderr
        assert live_sandboxes(url) == 0


MINE_TEST = """
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class MineTest {
    @RegisterExtension
    static final FakePayExtension fakepay = new FakePayExtension("scenarios/mine.yaml");

    @Test
    void theScenariosPaymentIsThere() {
        PaymentClient client = new PaymentClient(fakepay.url(), fakepay.secret("alice"), Duration.ofSeconds(2), 1);
        assertEquals("PAID", client.find("seeded-1").paymentStatus());
    }
}
"""


def test_a_class_on_a_scenario_file_gets_it_started_or_at_fakepay_url(classes: Path, tmp_path: Path) -> None:
    """The file is relative to the working directory; the fakepay at FAKEPAY_URL loads it in the class's
    sandbox and keeps its own scenario."""
    (tmp_path / "MineTest.java").write_text(MINE_TEST)
    out = javac(tmp_path / "out", [tmp_path / "MineTest.java"], str(classes))
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "mine.yaml").write_text(
        "version: 1\nname: mine\npayments:\n"
        "  - {owner: alice, paymentId: seeded-1, storeId: s, orderName: o, totalPayAmount: 100, currency: KRW}\n"
    )
    started = junit(out, str(classes), select="MineTest", cwd=tmp_path, FAKEPAY_COMMAND=f"{sys.executable} -m fakepay")
    assert "[         1 tests successful      ]" in started.stdout, started.stdout + started.stderr
    with serving("--seed", "3") as (_, banner):
        url = banner.group(1)
        attached = junit(out, str(classes), select="MineTest", cwd=tmp_path, FAKEPAY_URL=url)
        assert "[         1 tests successful      ]" in attached.stdout, attached.stdout + attached.stderr
        assert scenario_of(url) == ("default", 0.1)


def test_a_missing_fakepay_command_is_said_plainly(classes: Path) -> None:
    result = junit(classes, FAKEPAY_COMMAND="no-such-fakepay --flag")
    assert result.returncode != 0
    assert "cannot run 'no-such-fakepay --flag serve --port 0': put fakepay on the PATH or set FAKEPAY_COMMAND" in result.stdout

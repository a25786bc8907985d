"""``FakePay`` without pytest's fixture: started, attached, and its kept-alive control connection."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from fakepay import FakePay, FakePayControlError, ScenarioError

from .support import BODY_JSON, fetch, free_port, live_sandboxes, serving


def assert_nothing_serves(port: int) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_started_and_attached_handles_see_the_same_server() -> None:
    with FakePay(seed=3) as started:
        started.seed_payment("alice", "p1")
        with FakePay(url=started.url) as attached:
            seeded = attached.payment("alice", "p1")
            assert seeded is not None and seeded["status"] == "PAID"
            assert attached.state()["seed"] == 3
        assert started.payments("alice")  # the attached handle's exit stops nothing


def test_a_closed_control_connection_is_opened_again() -> None:
    with FakePay() as fake:
        fake.reset()
        assert fake._connection is not None and fake._connection.sock is not None
        fake._connection.sock.shutdown(socket.SHUT_RDWR)
        fake.reset()
        assert fake.state()["payments"] == []


def test_refused_control_calls_raise_with_the_servers_error() -> None:
    with FakePay() as fake, pytest.raises(FakePayControlError) as caught:
        fake.add_rule("explode")
    assert (caught.value.status, caught.value.type) == (400, "INVALID_REQUEST")
    assert "then: must be one of" in caught.value.message


def test_attaching_with_a_scenario_loads_it() -> None:
    with serving() as (_, banner), FakePay(url=banner.group(1), scenario={"version": 1, "name": "mine"}, failure_rate=0.5) as fake:
        state = fake.state()
        assert state["scenario"] == "mine" and state["config"]["failure"]["rate"] == 0.5
        fake.reset()
        assert fake.state()["config"]["failure"]["rate"] == 0.1  # a reset returns to the scenario itself
        fake.restore()
        assert fake.state()["config"]["failure"]["rate"] == 0.5  # restore applies the handle's overrides


def test_an_attached_handle_puts_back_the_scenario_it_found() -> None:
    with serving("--seed", "5") as (_, banner):
        url = banner.group(1)
        with FakePay(url, scenario="always-fail") as fake:
            fake.set_failure_rate(0.5)
            fake.seed_payment("alice", "p1")
        with FakePay(url) as fake:
            state = fake.state()
            assert (state["scenario"], state["seed"], state["config"]["failure"]["rate"]) == ("default", 5, 0.1)
            assert state["payments"] == []


def test_load_scenario_takes_a_shipped_scenarios_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with FakePay() as fake:
        fake.load_scenario("lost-responses")
        assert fake.state()["scenario"] == "lost-responses"
        with pytest.raises(ScenarioError, match="no scenario 'lost-response': not a file"):
            fake.load_scenario("lost-response")


@pytest.mark.parametrize("url", ["https://127.0.0.1:1", "http://127.0.0.1:1/payments", "not a url", "http://127.0.0.1:1/?x=1"])
def test_an_attach_url_that_is_not_a_base_url_is_refused_at_once(url: str) -> None:
    with pytest.raises(ValueError, match="a fakepay URL"):
        FakePay(url)


def test_an_attach_url_may_end_with_a_slash() -> None:
    with FakePay() as started, FakePay(started.url + "/") as attached:
        assert attached.url == started.url


@pytest.mark.parametrize("token", ["café", "토큰", "two words", "x" * 257])
def test_a_control_token_that_cannot_be_sent_in_a_header_is_refused_before_anything_starts(token: str) -> None:
    port, threads = free_port(), threading.active_count()
    with pytest.raises(ValueError) as refused:
        FakePay(control_token=token, port=port).start()
    assert str(refused.value) == ("control_token must be 1 to 256 printable ASCII characters without spaces "
                                  "(what a browser and any HTTP client can send in a header)")
    assert threading.active_count() == threads
    assert_nothing_serves(port)


def test_a_start_that_fails_once_serving_leaves_no_thread_and_no_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: object, **kwargs: object) -> None:
        raise FakePayControlError(401, "UNAUTHORIZED", "the control API needs a token")

    monkeypatch.setattr(FakePay, "_call", refused)
    port, threads = free_port(), threading.active_count()
    fake = FakePay(port=port)
    with pytest.raises(FakePayControlError):
        fake.start()
    assert threading.active_count() == threads
    assert_nothing_serves(port)
    with pytest.raises(RuntimeError, match="not started"):
        fake.url  # noqa: B018


def test_a_port_in_use_leaves_no_thread() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        threads = threading.active_count()
        with pytest.raises(OSError):
            FakePay(port=taken.getsockname()[1]).start()
        assert threading.active_count() == threads


def test_an_attached_start_that_fails_changes_nothing_and_fails_again_if_tried_again() -> None:
    with serving() as (_, banner):
        url = banner.group(1)
        seeded = {"owner": "alice", "paymentId": "p1", "storeId": "s", "orderName": "o", "totalPayAmount": 1, "currency": "KRW"}
        assert fetch(f"{url}/__fakepay/payments", "POST", json.dumps(seeded).encode())[0] == 200
        fake = FakePay(url, scenario={"version": 1, "failure": {"rate": 2}})
        for _ in range(2):
            with pytest.raises(FakePayControlError, match=r"failure\.rate"):
                fake.start()
        status, body = fetch(f"{url}/__fakepay/payments/alice/p1")
        assert status == 200 and json.loads(body)["paymentId"] == "p1"


def test_a_sandbox_handle_acts_on_its_sandbox_alone_and_deletes_it_when_it_stops() -> None:
    with FakePay() as fake:
        fake.seed_payment("alice", "on-the-server")
        with fake.sandbox(scenario="always-fail", seed=9) as box:
            assert box.url == fake.url and fake.sandbox_id is None and live_sandboxes(fake.url) == [box.sandbox_id]
            assert box.payment("alice", "on-the-server") is None
            headers = {"Authorization": f"Bearer {box.secret('alice')}", "Content-Type": "application/json"}
            assert fetch(f"{box.url}/payments/p1/instant", "POST", BODY_JSON, headers)[0] == 500
            assert [entry["path"] for entry in box.requests()] == ["/payments/p1/instant"] and fake.requests() == []
            box.load_scenario("happy-path")
            box.restore()
            state = box.state()
            assert (state["scenario"], state["seed"], state["payments"]) == ("always-fail", 9, [])
            sibling = box.sandbox(failure_rate=0)
            assert sibling.sandbox_id not in (None, box.sandbox_id) and sibling.state()["config"]["failure"]["rate"] == 0
            sibling.stop()
            assert live_sandboxes(fake.url) == [box.sandbox_id]
        assert live_sandboxes(fake.url) == [] and box.sandbox_id is None
        assert fake.payment("alice", "on-the-server") is not None


def test_a_sandbox_gone_before_its_handle_stops_and_one_that_fails_to_start() -> None:
    with FakePay() as fake:
        box = fake.sandbox()
        assert fetch(f"{fake.url}/__fakepay/sandboxes/{box.sandbox_id}", "DELETE")[0] == 200
        box.stop()
        with pytest.raises(FakePayControlError, match=r"failure\.rate"):
            fake.sandbox(scenario={"version": 1, "failure": {"rate": 2}})
        assert live_sandboxes(fake.url) == []

"""``FakePay`` without pytest's fixture: started, attached, and its kept-alive control connection."""

from __future__ import annotations

import socket

import pytest

from fakepay import FakePay, FakePayControlError, ScenarioError

from .support import serving


def test_started_and_attached_handles_see_the_same_server() -> None:
    with FakePay(seed=3) as started:
        started.seed_payment("alice", "p1")
        with FakePay(url=started.url) as attached:
            assert attached.payment("alice", "p1")["status"] == "PAID"
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


def test_load_scenario_takes_a_shipped_scenarios_name(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
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

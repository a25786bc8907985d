"""Reliability: schemathesis against the served OpenAPI document (the event stream too), and a
stateful model test."""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import hypothesis.strategies as st
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from fakepay import FakePay, issue_secret
from fakepay.control import stream
from fakepay.control.openapi import openapi_document
from fakepay.dialects.ceos import CEOS

from .support import BODY, bearer

#: Examples per operation; CI's 40 are derandomized (the same every run), set FUZZ_EXAMPLES to explore.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
# Calls that change behaviour on purpose (a rule or a rate can make 500s) are tested elsewhere.
SCHEMA = schemathesis.openapi.from_dict(openapi_document(CEOS)).exclude(path_regex=r"^/__fakepay/(config|rules|scenario|scenarios/\{name\})$", method=["PATCH", "POST", "PUT"])
# The event stream never ends by itself: the fuzzing reads its first event (every kind is checked below).
SCHEMA.config.max_stream_events = 1


@pytest.fixture(scope="module")
def server() -> Iterator[FakePay]:
    with FakePay(failure_rate=0.0, seed=1) as fake:
        yield fake


def test_the_served_document_is_the_module_one(server: FakePay) -> None:
    with urllib.request.urlopen(f"{server.url}/__fakepay/openapi.json") as response:
        assert json.loads(response.read()) == json.loads(json.dumps(openapi_document(CEOS)))


@SCHEMA.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, derandomize=FUZZ_EXAMPLES == 40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_no_schema_violation(case: schemathesis.Case[Any], server: FakePay) -> None:
    headers = {"Authorization": f"Bearer {issue_secret('fuzz')}"} if case.operation.path.startswith("/payments") else {}
    case.call_and_validate(base_url=server.url, headers=headers, excluded_checks=[schemathesis.checks.positive_data_acceptance])


def test_every_kind_of_event_matches_the_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every type of event the stream sends, each checked by schemathesis against the document;
    the stream ends when the server stops."""
    monkeypatch.setattr(stream, "QUEUE_LIMIT", 10)  # more than a burst's batch: some dropped
    events = schemathesis.openapi.from_dict(openapi_document(CEOS))
    events.config.max_stream_events = 2000
    case = events["/__fakepay/events"]["GET"].Case()
    subscribed = threading.Event()
    session = requests.Session()
    session.hooks["response"].append(lambda response, **_: subscribed.set())  # the headers came: subscribed
    with FakePay(failure_rate=0.0, seed=1) as fake, ThreadPoolExecutor(1) as pool:
        streamed = pool.submit(case.call, base_url=fake.url, session=session, timeout=60)
        assert subscribed.wait(10)
        assert requests.post(f"{fake.url}/payments/p1/instant", json=BODY, headers=bearer("alice")).status_code == 200
        fake.fail_next(1)
        fake.configure({"failure": {"rate": 0.5}})
        fake.freeze_time()
        fake.reset("alice")
        fake.load_scenario("happy-path")
        flood = [{"owner": "bob", "paymentId": f"p{i}", **BODY} for i in range(1001)]  # more than a batch sends
        assert requests.post(f"{fake.url}/__fakepay/payments", json=flood).status_code == 200
        fake.stop()
        response = streamed.result()
    case.validate_response(response)
    seen = [json.loads(line[len("data: "):])["type"] for line in response.text.splitlines() if line.startswith("data: ")]
    assert set(seen) == {"ready", "request", "payment", "rule", "config", "clock", "reset", "requests_cleared", "scenario",
                         "skipped", "dropped"}
    assert seen[-1] == "dropped"


# -- a stateful comparison with a model -----------------------------------------------------

OWNERS = st.sampled_from(["alice", "bob"])
IDS = st.sampled_from(["p1", "p2", "주문 3", "a+b"])
BODIES = st.fixed_dictionaries(
    {
        "storeId": st.sampled_from(["s1", "s2"]),
        "orderName": st.sampled_from(["o", "노트북"]),
        "totalPayAmount": st.integers(1, 2_147_483_647),
        "currency": st.sampled_from(["KRW", "USD"]),
    },
    optional={"customData": st.none() | st.text(max_size=20)},
)


class FakePayMachine(RuleBasedStateMachine):
    """Random auth/pay/cancel/get/reset against fakepay and a dict that says what should happen."""

    fake: FakePay

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[tuple[str, str], dict[str, Any]] = {}
        self.session = requests.Session()

    @initialize()
    def start(self) -> None:
        self.fake.restore(failure_rate=0.0)
        self.fake.freeze_time("2025-10-22T20:21:35.5")

    def _url(self, payment_id: str, action: str = "") -> str:
        return f"{self.fake.url}/payments/{quote(payment_id, safe='')}{action}"

    def _auth(self, owner: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_secret(owner)}"}

    @rule(owner=OWNERS)
    def auth(self, owner: str) -> None:
        assert self.session.get(f"{self.fake.url}/auth/{owner}").text == issue_secret(owner)

    @rule(owner=OWNERS, payment_id=IDS, body=BODIES)
    def pay(self, owner: str, payment_id: str, body: dict[str, Any]) -> None:
        response = self.session.post(self._url(payment_id, "/instant"), json=body, headers=self._auth(owner))
        if (owner, payment_id) in self.model:
            assert (response.status_code, response.json()["type"]) == (409, "ALREADY_PAID")
        else:
            assert response.status_code == 200
            assert response.json() == {"paymentId": payment_id, "paidAt": "2025-10-22T20:21:35.5"}
            self.model[(owner, payment_id)] = {
                "paymentId": payment_id, "paymentStatus": "PAID", "orderName": body["orderName"], "pgProvider": "CEOS_PAY",
                "currency": body["currency"], "customData": body.get("customData"), "paidAt": "2025-10-22T20:21:35.5",
            }

    @rule(owner=OWNERS, payment_id=IDS)
    def cancel(self, owner: str, payment_id: str) -> None:
        response = self.session.post(self._url(payment_id, "/cancel"), headers=self._auth(owner))
        expected = self.model.get((owner, payment_id))
        if expected is None:
            assert response.status_code == 404
        elif expected["paymentStatus"] == "CANCELLED":
            assert (response.status_code, response.json()["type"]) == (409, "PAYMENT_ALREADY_CANCELLED")
        else:
            expected["paymentStatus"] = "CANCELLED"
            assert (response.status_code, response.json()) == (200, expected)

    @rule(owner=OWNERS, payment_id=IDS)
    def get(self, owner: str, payment_id: str) -> None:
        response = self.session.get(self._url(payment_id), headers=self._auth(owner))
        expected = self.model.get((owner, payment_id))
        assert response.status_code == (404 if expected is None else 200)
        if expected is not None:
            assert list(response.json().items()) == list(expected.items())

    @rule(owner=st.none() | OWNERS)
    def reset(self, owner: str | None) -> None:
        self.fake.reset(owner)
        self.model = {key: value for key, value in self.model.items() if owner is not None and key[0] != owner}
        if owner is None:
            self.fake.freeze_time("2025-10-22T20:21:35.5")

    @invariant()
    def state_agrees(self) -> None:
        stored = {(p["owner"], p["paymentId"]): p["status"] for p in self.fake.state()["payments"]}
        assert stored == {key: value["paymentStatus"] for key, value in self.model.items()}


def test_fakepay_behaves_like_its_model(server: FakePay) -> None:
    FakePayMachine.fake = server
    test = FakePayMachine.TestCase
    test.settings = settings(max_examples=30, stateful_step_count=25, deadline=None, derandomize=True)
    test("runTest").runTest()

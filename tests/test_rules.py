"""Rules and faults (docs/rules-and-faults.md) through real sockets: what the client sees and the state left behind."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Awaitable
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from fakepay import PaymentService, Server, create_app

from .support import BODY, Api, bearer, eventually, scenario

Closed = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError)


async def make_api(aiohttp_client: AiohttpClient, rules: list[dict[str, Any]], **data: Any) -> Api:
    return Api(await aiohttp_client(create_app(PaymentService(scenario(rules=rules, **data)))))


async def state_of(api: Api, payment_id: str, owner: str = "alice") -> str | None:
    state = await api.control("GET", "/state", params={"owner": owner})
    found = [p["status"] for p in state["payments"] if p["paymentId"] == payment_id]
    return found[0] if found else None


async def test_fail_on_instant_stores_failed(aiohttp_client: AiohttpClient) -> None:
    api = await make_api(aiohttp_client, [{"when": {"operation": "instant"}, "then": "fail"}])
    response = await api.pay("p1")
    assert response.status == 500 and (await response.json())["type"] == "PAYMENT_FAILED"
    assert await state_of(api, "p1") == "FAILED"


async def test_succeed_beats_the_random_draw(aiohttp_client: AiohttpClient) -> None:
    api = await make_api(aiohttp_client, [{"when": {"paymentId": "vip-*"}, "then": "succeed"}], failure={"rate": 1.0})
    assert (await api.pay("vip-1")).status == 200
    assert (await api.pay("other")).status == 500


async def test_delay_holds_the_answer_then_behaves_normally(aiohttp_client: AiohttpClient) -> None:
    api = await make_api(aiohttp_client, [{"when": {"operation": "get"}, "then": {"delay_ms": 300}}])
    await api.pay("p1")
    started = time.perf_counter()
    response = await api.get("p1")
    assert time.perf_counter() - started >= 0.3
    assert response.status == 200 and (await response.json())["paymentId"] == "p1"


async def test_delay_holds_a_failed_payment_too(aiohttp_client: AiohttpClient) -> None:
    api = await make_api(aiohttp_client, [{"when": {"operation": "instant"}, "then": {"delay_ms": 300}}], failure={"rate": 1.0})
    started = time.perf_counter()
    response = await api.pay("p1")
    assert time.perf_counter() - started >= 0.3
    assert response.status == 500 and (await response.json())["type"] == "PAYMENT_FAILED"
    entry = (await api.control("GET", "/requests"))["requests"][0]
    assert (entry["outcome"], entry["status"], entry["rule"]) == ("delay", 500, 1)


async def test_timeout_holds_then_closes_and_stores_nothing(aiohttp_client: AiohttpClient) -> None:
    api = await make_api(aiohttp_client, [{"when": {"operation": "instant"}, "then": {"timeout_s": 0.4}}])
    started = time.perf_counter()
    with pytest.raises(Closed):
        await api.pay("p1")
    assert time.perf_counter() - started >= 0.4
    assert await state_of(api, "p1") is None


async def test_timeout_is_seen_by_a_client_with_a_shorter_timeout(aiohttp_client: AiohttpClient) -> None:
    api = await make_api(aiohttp_client, [{"then": "timeout"}])
    with pytest.raises(asyncio.TimeoutError):
        await api.client.get("/auth/alice", timeout=aiohttp.ClientTimeout(total=0.3))


async def test_reset_closes_and_stores_nothing(aiohttp_client: AiohttpClient) -> None:
    api = await make_api(aiohttp_client, [{"when": {"operation": "instant"}, "then": "reset", "times": 1}])
    with pytest.raises(Closed):
        await api.pay("p1")
    assert await state_of(api, "p1") is None
    assert (await api.pay("p1")).status == 200


async def test_lost_response_stores_paid_and_closes(aiohttp_client: AiohttpClient) -> None:
    api = await make_api(aiohttp_client, [{"when": {"operation": "instant"}, "then": "lost_response", "times": 1}])
    with pytest.raises(Closed):
        await api.pay("p1")
    assert (await (await api.get("p1")).json())["paymentStatus"] == "PAID"
    retry = await api.pay("p1")
    assert retry.status == 409 and (await retry.json())["type"] == "ALREADY_PAID"


async def test_custom_status_and_body_store_nothing(aiohttp_client: AiohttpClient) -> None:
    rule = {"when": {"operation": "instant"}, "then": {"status": 503, "body": {"error": "maintenance", "값": 1}}}
    api = await make_api(aiohttp_client, [rule])
    response = await api.pay("p1")
    assert response.status == 503
    assert response.headers["Content-Type"] == "application/json"
    assert await response.read() == '{"error":"maintenance","값":1}'.encode()
    assert await state_of(api, "p1") is None


async def test_cancel_outcomes(aiohttp_client: AiohttpClient) -> None:
    rules: list[dict[str, Any]] = [
        {"when": {"operation": "cancel", "paymentId": "fail"}, "then": "fail"},
        {"when": {"operation": "cancel", "paymentId": "lost"}, "then": "lost_response"},
        {"when": {"operation": "cancel", "paymentId": "reset"}, "then": "reset"},
        {"when": {"operation": "cancel", "paymentId": "teapot"}, "then": {"status": 418}},
        {"when": {"operation": "cancel", "paymentId": "slow"}, "then": {"delay_ms": 50}},
    ]
    api = await make_api(aiohttp_client, rules)
    for payment_id in ("fail", "lost", "reset", "teapot", "slow"):
        assert (await api.pay(payment_id)).status == 200
    failed = await api.cancel("fail")
    assert failed.status == 500 and (await failed.json())["type"] == "PAYMENT_FAILED"
    assert await state_of(api, "fail") == "PAID"
    with pytest.raises(Closed):
        await api.cancel("lost")
    assert await state_of(api, "lost") == "CANCELLED"
    with pytest.raises(Closed):
        await api.cancel("reset")
    assert await state_of(api, "reset") == "PAID"
    teapot = await api.cancel("teapot")
    assert teapot.status == 418 and await teapot.json() == {}
    assert await state_of(api, "teapot") == "PAID"
    assert (await api.cancel("slow")).status == 200
    assert await state_of(api, "slow") == "CANCELLED"


async def test_get_and_auth_outcomes(aiohttp_client: AiohttpClient) -> None:
    rules: list[dict[str, Any]] = [
        {"when": {"operation": "get", "paymentId": "fail"}, "then": "fail"},
        {"when": {"operation": "get", "paymentId": "lost"}, "then": "lost_response"},
        {"when": {"operation": "auth", "owner": "broken"}, "then": "fail"},
        {"when": {"operation": "auth", "owner": "gone"}, "then": "lost_response"},
        {"when": {"operation": "auth", "owner": "odd"}, "then": {"status": 429, "body": {"retry": True}}},
    ]
    api = await make_api(aiohttp_client, rules)
    await api.pay("fail")
    await api.pay("lost")
    assert (await api.get("fail")).status == 500
    with pytest.raises(Closed):
        await api.get("lost")
    assert (await api.client.get("/auth/broken")).status == 500
    with pytest.raises(Closed):
        await api.client.get("/auth/gone")
    odd = await api.client.get("/auth/odd")
    assert odd.status == 429 and await odd.json() == {"retry": True}
    assert (await api.client.get("/auth/fine")).status == 200


@pytest.mark.parametrize(
    ("when", "matching", "other"),
    [
        ({"owner": "bob"}, {"owner": "bob"}, {"owner": "alice"}),
        ({"paymentId": "big-*"}, {"payment_id": "big-7"}, {"payment_id": "small-big-7"}),
        ({"paymentId": "order-??"}, {"payment_id": "order-12"}, {"payment_id": "order-123"}),
        ({"storeId": "store-b"}, {"body": {**BODY, "storeId": "store-b"}}, {"body": {**BODY, "storeId": "store-bb"}}),
        ({"orderName": "노트북*"}, {"body": {**BODY, "orderName": "노트북 2대"}}, {"body": {**BODY, "orderName": "새 노트북"}}),
        ({"currency": "USD"}, {"body": {**BODY, "currency": "USD"}}, {}),
        ({"totalPayAmount": {"gte": 1000000}}, {"body": {**BODY, "totalPayAmount": 1000000}}, {"body": {**BODY, "totalPayAmount": 999999}}),
        ({"totalPayAmount": {"lte": 100}}, {"body": {**BODY, "totalPayAmount": 100}}, {"body": {**BODY, "totalPayAmount": 101}}),
        ({"totalPayAmount": 7}, {"body": {**BODY, "totalPayAmount": 7}}, {"body": {**BODY, "totalPayAmount": 8}}),
        ({"operation": "instant", "owner": "bob", "currency": "USD"}, {"owner": "bob", "body": {**BODY, "currency": "USD"}}, {"owner": "bob"}),
    ],
)
async def test_when_conditions(aiohttp_client: AiohttpClient, when: dict[str, Any], matching: dict[str, Any], other: dict[str, Any]) -> None:
    api = await make_api(aiohttp_client, [{"when": when, "then": "fail"}])
    assert (await api.pay(**{"payment_id": "p1", **matching})).status == 500
    assert (await api.pay(**{"payment_id": "p2", **other})).status == 200


async def test_first_match_wins_and_times_retires_a_rule(aiohttp_client: AiohttpClient) -> None:
    rules = [
        {"when": {"operation": "instant"}, "then": "fail", "times": 2},
        {"when": {"operation": "instant"}, "then": {"status": 503}},
    ]
    api = await make_api(aiohttp_client, rules)
    assert [(await api.pay(f"p{i}")).status for i in range(4)] == [500, 500, 503, 503]


async def test_rejected_requests_do_not_use_up_a_rule(aiohttp_client: AiohttpClient) -> None:
    api = await make_api(aiohttp_client, [{"when": {"operation": "instant"}, "then": "fail", "times": 1}])
    assert (await api.pay("p1", body={**BODY, "currency": "EUR"})).status == 400
    assert (await api.pay("p1")).status == 500


async def test_rules_never_shift_later_random_outcomes(aiohttp_client: AiohttpClient) -> None:
    async def run(rules: list[dict[str, Any]]) -> list[int]:
        api = await make_api(aiohttp_client, rules, failure={"rate": 0.5}, seed=21)
        statuses = []
        for i in range(30):
            try:
                statuses.append((await api.pay(f"p{i}")).status)
            except Closed:
                statuses.append(0)
        return statuses

    plain = await run([])
    ruled = await run([{"when": {"paymentId": "p3"}, "then": {"status": 418}}, {"when": {"paymentId": "p4"}, "then": "reset"}])
    assert (ruled[3], ruled[4]) == (418, 0)
    assert ruled[:3] + ruled[5:] == plain[:3] + plain[5:]
    assert {200, 500} <= set(plain)


async def test_latency_delays_every_request_reproducibly(aiohttp_client: AiohttpClient) -> None:
    api = await make_api(aiohttp_client, [], latency={"fixed_ms": 100, "jitter_ms": 50})
    started = time.perf_counter()
    assert (await api.client.get("/auth/alice")).status == 200
    assert time.perf_counter() - started >= 0.1
    one = PaymentService(scenario(latency={"fixed_ms": 0, "jitter_ms": 50}, seed=3))
    two = PaymentService(scenario(latency={"fixed_ms": 0, "jitter_ms": 50}, seed=3))
    delays = [one.latency() for _ in range(5)]
    assert delays == [two.latency() for _ in range(5)] and all(0 <= d <= 0.05 for d in delays)


# -- requests in flight across a reset, through real sockets -----------------------------------


@pytest.fixture
async def slow() -> Any:
    """A server on which every request waits 1 s, and the first payment of alice (and of erin)
    succeeds (seed 1, at a failure rate of 0.5: alice's second fails); a session to it; its
    journal file."""
    journal_file = io.StringIO()
    service = PaymentService(scenario(latency={"fixed_ms": 1000}, failure={"rate": 0.5}, seed=1), journal_sink=journal_file)
    server = Server(service, "127.0.0.1", 0)
    await server.start()
    async with aiohttp.ClientSession(server.url) as session:
        yield server, session, journal_file
    await server.stop()


async def in_flight(server: Server, request: Awaitable[aiohttp.ClientResponse]) -> asyncio.Future[aiohttp.ClientResponse]:
    """``request`` sent, once the server is answering it."""
    sent = asyncio.ensure_future(request)
    await eventually(lambda: None in server.front.activity.last.values())
    return sent


def pay(session: aiohttp.ClientSession, payment_id: str, owner: str = "alice") -> Awaitable[aiohttp.ClientResponse]:
    return session.post(f"/payments/{payment_id}/instant", json=BODY, headers=bearer(owner))


async def test_a_payment_in_flight_during_a_reset_is_kept_out_of_the_new_state(slow: Any) -> None:
    server, session, journal_file = slow
    paying = await in_flight(server, pay(session, "old"))
    assert (await session.post("/__fakepay/reset")).status == 200
    answer = await paying
    assert answer.status == 503
    assert await answer.json() == {
        "type": "STATE_RESET",
        "message": "fakepay was reset while this request was in flight, so payment 'old' was not carried out: "
                   "nothing of it was stored, drawn or journaled",
    }
    assert (await (await session.get("/__fakepay/state")).json())["payments"] == []
    assert await (await session.get("/__fakepay/requests")).json() == {"requests": []}
    assert (await pay(session, "new")).status == 200  # the first draw of the new state, not the second
    kept = [json.loads(line) for line in journal_file.getvalue().splitlines()]  # the file has every exchange
    assert [(e["params"]["paymentId"], e["status"], e["outcome"]) for e in kept] == [("old", 503, "rejected"), ("new", 200, "ok")]


async def test_an_owner_reset_keeps_only_that_owners_requests_in_flight_out(slow: Any) -> None:
    server, session, _ = slow
    alice = await in_flight(server, pay(session, "a1"))
    erin = await in_flight(server, pay(session, "e1", owner="erin"))
    assert (await session.post("/__fakepay/reset", params={"owner": "alice"})).status == 200
    assert ((await alice).status, (await erin).status) == (503, 200)
    state = await (await session.get("/__fakepay/state")).json()
    assert [(p["owner"], p["paymentId"]) for p in state["payments"]] == [("erin", "e1")]
    journal = await (await session.get("/__fakepay/requests")).json()
    assert [(e["owner"], e["status"]) for e in journal["requests"]] == [("erin", 200)]


async def test_a_scenario_loaded_keeps_requests_in_flight_out(slow: Any) -> None:
    server, session, _ = slow
    looking_up = await in_flight(server, session.get("/auth/alice"))
    assert (await session.put("/__fakepay/scenario", json={"name": "next", "seed": 1})).status == 200
    answer = await looking_up
    assert answer.status == 503
    assert (await answer.json())["message"].endswith("so issuing the secret of 'alice' was not carried out: "
                                                     "nothing of it was stored, drawn or journaled")
    assert await (await session.get("/__fakepay/requests")).json() == {"requests": []}


async def test_a_request_held_by_a_timeout_is_let_go_by_a_reset_or_when_its_client_leaves() -> None:
    service = PaymentService(scenario(rules=[{"when": {"operation": "instant"}, "then": {"timeout_s": 60}}]))
    server = Server(service, "127.0.0.1", 0)
    await server.start()
    answering = server.front.activity.last.values

    try:
        async with aiohttp.ClientSession(server.url) as session:
            waiting = [await in_flight(server, pay(session, f"p{i}")) for i in range(3)]
            await eventually(lambda: len(service.journal) == 3)  # all three held now
            for request in waiting[1:]:
                request.cancel()  # those clients leave
            await eventually(lambda: list(answering()).count(None) == 1)  # let go: only the first is still held
            await session.post("/__fakepay/reset")
            with pytest.raises(Closed):
                await asyncio.wait_for(waiting[0], 5)  # closed unanswered at once, not after 60 s
            assert None not in answering()
    finally:
        await server.stop()


async def test_every_fault_is_journaled_with_its_rule(aiohttp_client: AiohttpClient) -> None:
    api = await make_api(aiohttp_client, [{"when": {"operation": "instant"}, "then": "lost_response"}])
    with pytest.raises(Closed):
        await api.pay("p1")
    entry = (await api.control("GET", "/requests", params={"operation": "instant"}))["requests"][0]
    assert (entry["outcome"], entry["rule"], entry["status"], entry["response"]) == ("lost_response", 1, None, None)

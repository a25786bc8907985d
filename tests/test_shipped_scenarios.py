"""Each scenario fakepay ships does what its comments say, loaded by name, through real HTTP."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from fakepay import PaymentService, create_app, issue_secret, load_scenario

from .support import BODY, Api

Closed = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)


#: Serves a shipped scenario, by name, to an ``Api`` client.
Serve = Callable[[str], Awaitable[Api]]


@pytest.fixture
def serve(aiohttp_client: AiohttpClient) -> Serve:
    async def serve(name: str) -> Api:
        return Api(await aiohttp_client(create_app(PaymentService(load_scenario(name)))))

    return serve


async def test_default_fails_about_one_in_ten(serve: Serve) -> None:
    api = await serve("default")
    statuses = [(await api.pay(f"p{i}")).status for i in range(500)]
    assert set(statuses) == {200, 500}
    assert 25 <= statuses.count(500) <= 80


async def test_happy_path_never_fails(serve: Serve) -> None:
    api = await serve("happy-path")
    assert {(await api.pay(f"p{i}")).status for i in range(300)} == {200}


async def test_always_fail_fails_every_attempt_and_allows_retries(serve: Serve) -> None:
    api = await serve("always-fail")
    for _ in range(3):
        response = await api.pay("p1")
        assert response.status == 500 and (await response.json())["type"] == "PAYMENT_FAILED"
    assert (await (await api.get("p1")).json())["paymentStatus"] == "FAILED"


async def test_seeded_payments(serve: Serve) -> None:
    api = await serve("seeded-payments")
    paid = await api.client.get("/payments/20251022_0001", headers={"Authorization": "Bearer ci-secret-alice"})
    assert await paid.read() == (
        '{"paymentId":"20251022_0001","paymentStatus":"PAID","orderName":"노트북외 1건","pgProvider":"CEOS_PAY",'
        '"currency":"KRW","customData":"{\\"item\\":\\"노트북\\",\\"quantity\\":1}","paidAt":"2025-10-22T20:21:35.529482"}'
    ).encode()
    cancelled = await (await api.get("20251022_0002")).json()
    assert (cancelled["paymentStatus"], cancelled["paidAt"]) == ("CANCELLED", "2025-10-22T20:12:39.295038")
    failed = await (await api.get("20251022_0003")).json()
    assert (failed["paymentStatus"], failed["paidAt"], failed["currency"]) == ("FAILED", None, "USD")
    assert (await api.cancel("20251022_0003")).status == 409
    assert (await api.get("20251022_0001", owner="bob")).status == 404
    assert (await (await api.pay("20251022_0004")).json())["paidAt"] == "2025-10-22T20:21:35.529482"


async def test_slow_network(serve: Serve) -> None:
    api = await serve("slow-network")
    started = time.perf_counter()
    assert (await api.pay("fast-1")).status == 200
    assert 0.2 <= time.perf_counter() - started < 2.0
    started = time.perf_counter()
    assert (await api.get("slow-1")).status == 404
    await api.pay("slow-1")
    started = time.perf_counter()
    assert (await api.get("slow-1")).status == 200
    assert time.perf_counter() - started >= 2.2


async def test_lost_responses(serve: Serve) -> None:
    api = await serve("lost-responses")
    with pytest.raises(Closed):
        await api.pay("first")
    assert (await (await api.get("first")).json())["paymentStatus"] == "PAID"
    assert (await api.pay("first")).status == 409
    with pytest.raises(Closed):
        await api.pay("second")
    assert (await api.get("second")).status == 404
    assert (await api.pay("second")).status == 200
    with pytest.raises(Closed):
        await api.cancel("first")
    assert (await (await api.get("first")).json())["paymentStatus"] == "CANCELLED"
    assert (await api.cancel("second")).status == 200


async def test_any_jwt_accepts_a_real_servers_secret(serve: Serve) -> None:
    api = await serve("any-jwt")
    foreign = issue_secret("dave", "the real server's own key")
    response = await api.client.get("/payments/p1", headers={"Authorization": f"Bearer {foreign}"})
    assert response.status == 404
    await api.control("PATCH", "/config", json={"failure": {"rate": 0}})
    paid = await api.client.post("/payments/p1/instant", json=BODY, headers={"Authorization": f"Bearer {foreign}"})
    assert paid.status == 200
    assert [p["owner"] for p in (await api.control("GET", "/state"))["payments"]] == ["dave"]
    claims = base64.urlsafe_b64encode(json.dumps({"sub": "erin@example.com"}).encode()).decode().rstrip("=")
    token = f"eyJhbGciOiJSUzI1NiJ9.{claims}.c2ln"
    assert (await api.client.get("/payments/p1", headers={"Authorization": f"Bearer {token}"})).status == 404
    assert (await api.client.get("/payments/p1", headers={"Authorization": "Bearer not-a-jwt"})).status == 401
    state = await api.control("GET", "/state")
    assert state["config"]["auth"]["mode"] == "any-jwt"



async def test_portone_shop(serve: Serve) -> None:
    api = await serve("portone-shop")
    client, shop = api.client, {"Authorization": "PortOne test-shop-secret"}
    statuses = {}
    for payment_id in ("order-paid", "order-refunded-in-part", "order-declined", "order-awaiting-deposit"):
        payment = await (await client.get(f"/payments/{payment_id}", headers=shop)).json()
        statuses[payment_id] = (payment["status"], payment["amount"]["paid"], payment["amount"]["cancelled"])
    assert statuses == {"order-paid": ("PAID", 1500000, 0), "order-refunded-in-part": ("PARTIAL_CANCELLED", 60000, 20000),
                        "order-declined": ("FAILED", 0, 0), "order-awaiting-deposit": ("VIRTUAL_ACCOUNT_ISSUED", 0, 0)}
    body = {"billingKey": "billing-key-test-shop", "orderName": "구독", "amount": {"total": 9900}, "currency": "KRW"}
    assert {(await client.post(f"/payments/sub-{i}/billing-key", json=body, headers=shop)).status for i in range(50)} == {200}
    assert (await client.get("/payments/order-paid", headers={"Authorization": "PortOne another"})).status == 401

"""The shop's tests. The ``fakepay_portone`` fixture stands for PortOne: its API, which the shop calls
through PortOne's own SDK, and its payment window, whose part the tests play with ``checkout``; aiohttp's
test client plays the browser talking to the shop."""

from __future__ import annotations

from typing import Any, TypeAlias

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from portone_server_sdk import PaymentClient
from portone_shop import Shop, create_app
from pytest_aiohttp import AiohttpClient

from fakepay import FakePay

Browser: TypeAlias = TestClient[web.Request, web.Application]
#: The shop, as fakepay names the owner of its payments.
SHOP = "shop"


@pytest.fixture
def secret(fakepay_portone: FakePay) -> str:
    """The shop's PortOne API secret (which the payment window is also given, to pay the shop)."""
    return fakepay_portone.secret(SHOP)


@pytest.fixture
async def browser(fakepay_portone: FakePay, secret: str, aiohttp_client: AiohttpClient) -> Browser:
    """A browser on the shop, which is given fakepay's URL for PortOne's."""
    shop = Shop(PaymentClient(secret=secret, base_url=fakepay_portone.url), timeout=1.0)
    return await aiohttp_client(create_app(shop))


async def call(browser: Browser, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await browser.post(path, json=body)
    return response.status, await response.json()


async def new_order(browser: Browser, **items: int) -> dict[str, Any]:
    status, order = await call(browser, "/orders", {"items": items})
    assert status == 200
    return order


def pay(portone: FakePay, secret: str, order: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The customer pays ``order`` in the payment window (``PortOne.requestPayment``), with what the shop
    gave the browser, or with ``changes``; returns what the window answers the browser."""
    asked = {"order_name": order["name"], "total_amount": order["amount"], "currency": order["currency"],
             "custom_data": {"items": order["items"]}}
    return portone.checkout(secret, order["id"], **{**asked, **changes})


async def complete(browser: Browser, order: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The browser tells the shop that the payment window is done with the order's payment."""
    return await call(browser, "/payment/complete", {"paymentId": order["id"]})


async def test_an_order_is_paid(fakepay_portone: FakePay, secret: str, browser: Browser) -> None:
    order = await new_order(browser, notebook=1, mouse=2)
    assert order == {"id": "order-1", "name": "노트북 외 1건", "amount": 1_560_000, "items": {"notebook": 1, "mouse": 2},
                     "currency": "KRW", "status": "PENDING", "refunded": 0}

    window = pay(fakepay_portone, secret, order)
    assert "code" not in window

    assert await complete(browser, order) == (200, {**order, "status": "PAID"})
    assert (await (await browser.get("/orders/order-1")).json())["status"] == "PAID"
    assert [e["operation"] for e in fakepay_portone.requests(owner=SHOP)] == ["checkout", "getPayment"]


async def test_a_payment_the_pg_declines_fails_the_order_until_paid_again(fakepay_portone: FakePay, secret: str,
                                                                        browser: Browser) -> None:
    order = await new_order(browser, mouse=1)

    window = pay(fakepay_portone, secret, order, outcome="FAILED")
    assert window["code"] == "FAILURE_TYPE_PG"
    assert (await complete(browser, order))[1]["status"] == "FAILED"

    pay(fakepay_portone, secret, order)  # the customer tries again with the same order
    assert (await complete(browser, order))[1]["status"] == "PAID"


async def test_a_partial_refund(fakepay_portone: FakePay, secret: str, browser: Browser) -> None:
    order = await new_order(browser, notebook=1, mouse=1)
    pay(fakepay_portone, secret, order)
    await complete(browser, order)

    status, refunded = await call(browser, "/orders/order-1/refund", {"amount": 30_000, "reason": "마우스 반품"})

    assert (status, refunded["status"], refunded["refunded"]) == (200, "PAID", 30_000)
    payment = fakepay_portone.payment(SHOP, "order-1")
    assert payment is not None
    assert (payment["status"], payment["cancelledAmount"]) == ("PARTIAL_CANCELLED", 30_000)
    assert [c["reason"] for c in payment["payment"]["cancellations"]] == ["마우스 반품"]


async def test_a_refund_of_more_than_is_left_is_refused_and_the_rest_refunds_the_order(
        fakepay_portone: FakePay, secret: str, browser: Browser) -> None:
    order = await new_order(browser, mouse=1)
    pay(fakepay_portone, secret, order)
    await complete(browser, order)

    assert await call(browser, "/orders/order-1/refund", {"amount": 30_001}) == (
        409, {"error": "order 'order-1' is PAID with 30000 left to refund: cannot refund 30001"})
    status, refunded = await call(browser, "/orders/order-1/refund", {"amount": 30_000})
    assert (status, refunded["status"], refunded["refunded"]) == (200, "REFUNDED", 30_000)
    assert [e["status"] for e in fakepay_portone.requests(operation="cancelPayment")] == [200]


@pytest.mark.parametrize(("tampered", "difference"), [
    ({"total_amount": 1_000}, "its amount is 1000, the order's 9000"),
    ({"order_name": "노트북"}, "its order name is '노트북', the order's '마우스패드'"),
    ({"custom_data": {"items": {"notebook": 1}}}, "its custom data is {'items': {'notebook': 1}}, the order's {'items': {'pad': 1}}"),
])
async def test_a_payment_that_does_not_match_its_order_is_refused_and_cancelled(
        fakepay_portone: FakePay, secret: str, browser: Browser, tampered: dict[str, Any], difference: str) -> None:
    order = await new_order(browser, pad=1)
    pay(fakepay_portone, secret, order, **tampered)  # a browser that changed what the shop gave it

    assert await complete(browser, order) == (
        409, {"error": f"payment 'order-1' does not match its order ({difference}): it is cancelled"})
    assert (await (await browser.get("/orders/order-1")).json())["status"] == "REFUSED"
    payment = fakepay_portone.payment(SHOP, "order-1")
    assert payment is not None and payment["status"] == "CANCELLED"


async def test_a_virtual_account_is_paid_when_the_deposit_comes(fakepay_portone: FakePay, secret: str,
                                                                browser: Browser) -> None:
    order = await new_order(browser, notebook=1)
    pay(fakepay_portone, secret, order, outcome="VIRTUAL_ACCOUNT_ISSUED")
    assert (await complete(browser, order))[1]["status"] == "WAITING_FOR_DEPOSIT"

    fakepay_portone.deposit(secret, order["id"])

    assert (await complete(browser, order))[1]["status"] == "PAID"


@pytest.mark.parametrize(("fault", "answer"), [
    ("fail", (502, {"error": "PortOne failed (UnknownError); the order is unchanged: try again"})),
    ({"timeout_s": 3}, (504, {"error": "PortOne did not answer within 1.0 s; the order is unchanged: try again"})),
])
async def test_when_portone_fails_the_shop_says_so_and_a_retry_completes_the_order(
        fakepay_portone: FakePay, secret: str, browser: Browser, fault: str | dict[str, Any],
        answer: tuple[int, dict[str, Any]]) -> None:
    order = await new_order(browser, mouse=1)
    pay(fakepay_portone, secret, order)
    fakepay_portone.add_rule(fault, {"operation": "getPayment"}, times=1)

    assert await complete(browser, order) == answer
    assert (await (await browser.get("/orders/order-1")).json())["status"] == "PENDING"
    assert (await complete(browser, order))[1]["status"] == "PAID"


async def test_a_payment_portone_does_not_know_is_not_found(fakepay_portone: FakePay, browser: Browser) -> None:
    order = await new_order(browser, mouse=1)
    assert await complete(browser, order) == (404, {"error": "PortOne has no payment 'order-1'"})

"""The shop's tests. The ``fakepay_portone`` fixture stands for PortOne: its API, which the shop calls
through PortOne's own SDK, its payment window, whose part the tests play with ``checkout``, and its
webhooks, which it sends to the shop's server; aiohttp's test client plays the browser talking to the shop."""

from __future__ import annotations

import asyncio
import time
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
    shop = Shop(PaymentClient(secret=secret, base_url=fakepay_portone.url), webhook_secret=fakepay_portone.webhook_secret,
                timeout=1.0)
    return await aiohttp_client(create_app(shop))


@pytest.fixture
def webhooks(fakepay_portone: FakePay, browser: Browser) -> None:
    """PortOne sends its webhooks to the shop's server (the tests without it have none, so that the
    browser alone completes their orders)."""
    fakepay_portone.set_webhook(str(browser.make_url("/payment/webhook")))


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


async def status(browser: Browser, order: dict[str, Any]) -> str:
    """The order's status, as the shop shows it."""
    return str((await (await browser.get(f"/orders/{order['id']}")).json())["status"])


async def taken(portone: FakePay, order: dict[str, Any], *types: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The journal's webhooks of the order's payment that the shop took (answered 2xx), once they are of
    ``types``, in order. fakepay is asked on another thread: this one runs the shop, which takes them."""
    deadline = time.monotonic() + timeout
    while True:
        entries = await asyncio.to_thread(portone.requests, operation="webhook", payment_id=order["id"])
        delivered = [entry for entry in entries if entry["outcome"] == "delivered"]
        if [entry["response"]["type"] for entry in delivered] == list(types) or time.monotonic() > deadline:
            assert [entry["response"]["type"] for entry in delivered] == list(types)
            return delivered
        await asyncio.sleep(0.02)


def shop_calls(portone: FakePay) -> list[str]:
    """What the shop asked of PortOne's API, in order."""
    return [entry["operation"] for entry in portone.requests(owner=SHOP) if entry["operation"] not in ("checkout", "webhook")]


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


async def test_a_webhook_pays_the_order_before_the_browser_comes_back(fakepay_portone: FakePay, secret: str,
                                                                     browser: Browser, webhooks: None) -> None:
    order = await new_order(browser, notebook=1)
    pay(fakepay_portone, secret, order)

    # PortOne tells of the payment window opened, then of the payment: the shop syncs on each.
    ready, paid = await taken(fakepay_portone, order, "Transaction.Ready", "Transaction.Paid")
    assert (ready["status"], paid["status"]) == (204, 204)
    assert (paid["body"]["type"], paid["body"]["data"]["paymentId"]) == ("Transaction.Paid", "order-1")
    assert await status(browser, order) == "PAID"
    assert shop_calls(fakepay_portone) == ["getPayment", "getPayment"]  # the webhooks'

    assert await complete(browser, order) == (200, {**order, "status": "PAID"})  # the browser, late: nothing changes
    assert shop_calls(fakepay_portone) == ["getPayment", "getPayment", "getPayment"]


@pytest.mark.parametrize(("fault", "error"), [
    ("bad_signature", "NO_MATCHING_SIGNATURE"),
    ("stale_timestamp", "TIMESTAMP_TOO_OLD"),
])
async def test_a_webhook_not_signed_by_portone_is_refused(fakepay_portone: FakePay, secret: str, browser: Browser,
                                                         webhooks: None, fault: str, error: str,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    order = await new_order(browser, mouse=1)
    fakepay_portone.add_rule(fault, {"operation": "webhook"})  # every attempt of every webhook
    pay(fakepay_portone, secret, order)

    # fakepay is asked on another thread: this one runs the shop, which answers the webhook.
    refused = await asyncio.to_thread(fakepay_portone.wait_for_webhook, "Transaction.Paid", order["id"], outcome="retrying")

    assert refused["status"] == 400
    assert caplog.messages[0] == f"refused a webhook that is not PortOne's: {error}"
    assert await status(browser, order) == "PENDING"
    assert shop_calls(fakepay_portone) == []
    assert await call(browser, "/payment/webhook", {"type": "Transaction.Paid"}) == (  # no signature at all
        400, {"error": "not a webhook of PortOne's: MISSING_REQUIRED_HEADERS"})


@pytest.mark.parametrize(("tampered", "outcome", "calls"), [
    ({}, "PAID", ["getPayment"] * 3),
    ({"total_amount": 1_000}, "REFUSED", ["getPayment", "cancelPayment"] + ["getPayment"] * 3),
])
async def test_a_webhook_sent_twice_changes_nothing_twice(fakepay_portone: FakePay, secret: str, browser: Browser,
                                                          webhooks: None, tampered: dict[str, Any], outcome: str,
                                                          calls: list[str]) -> None:
    order = await new_order(browser, mouse=1)
    fakepay_portone.add_rule("duplicate", {"operation": "webhook", "type": "Transaction.Paid"})
    pay(fakepay_portone, secret, order, **tampered)

    # A payment refused is cancelled by the shop, once, and PortOne tells of that too.
    events = ["Transaction.Ready", "Transaction.Paid", "Transaction.Paid"] + (["Transaction.Cancelled"] if tampered else [])
    _, first, second, *_ = await taken(fakepay_portone, order, *events)

    assert first["response"]["webhookId"] == second["response"]["webhookId"]
    assert await status(browser, order) == outcome
    assert shop_calls(fakepay_portone) == calls


async def test_a_virtual_account_is_paid_by_webhooks_alone(fakepay_portone: FakePay, secret: str, browser: Browser,
                                                          webhooks: None) -> None:
    order = await new_order(browser, notebook=1)
    pay(fakepay_portone, secret, order, outcome="VIRTUAL_ACCOUNT_ISSUED")
    await taken(fakepay_portone, order, "Transaction.Ready", "Transaction.VirtualAccountIssued")
    assert await status(browser, order) == "WAITING_FOR_DEPOSIT"

    fakepay_portone.deposit(secret, order["id"])  # days later, say: the browser is long gone

    await taken(fakepay_portone, order, "Transaction.Ready", "Transaction.VirtualAccountIssued", "Transaction.Paid")
    assert await status(browser, order) == "PAID"


async def test_the_webhook_and_the_browser_at_once_cancel_a_wrong_payment_once(
        fakepay_portone: FakePay, secret: str, browser: Browser, webhooks: None) -> None:
    order = await new_order(browser, mouse=1)
    pay(fakepay_portone, secret, order, total_amount=1_000)

    status_, _ = await complete(browser, order)  # while the shop takes the webhooks

    assert status_ == 409
    await taken(fakepay_portone, order, "Transaction.Ready", "Transaction.Paid", "Transaction.Cancelled")
    assert await status(browser, order) == "REFUSED"
    assert shop_calls(fakepay_portone).count("cancelPayment") == 1

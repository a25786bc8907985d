"""The shop's tests, using the fakepay fixture: each test gets a clean, deterministic server (a
sandbox of its own on a shared one, with --fakepay-url), and gives the client a secret of it."""

from __future__ import annotations

import pytest
from shop import PaymentClient, PaymentError

from fakepay import FakePay


@pytest.fixture
def client(fakepay: FakePay) -> PaymentClient:
    return PaymentClient(fakepay.url, fakepay.secret("alice"), timeout=1.0)


def test_pay_and_look_up(fakepay: FakePay, client: PaymentClient) -> None:
    fakepay.freeze_time("2025-10-22T20:21:35.529482")
    assert client.pay("20251022_0001", "노트북외 1건", 1500000) == {
        "paymentId": "20251022_0001",
        "paidAt": "2025-10-22T20:21:35.529482",
    }
    looked_up = client.lookup("20251022_0001")
    assert looked_up is not None and looked_up["paymentStatus"] == "PAID"


def test_a_5xx_is_retried_with_the_same_id(fakepay: FakePay, client: PaymentClient) -> None:
    fakepay.fail_next(1)
    client.pay("order-1", "주문", 1000)
    payment = fakepay.payment("alice", "order-1")
    assert payment is not None and (payment["status"], payment["attempts"]) == ("PAID", 2)
    assert [e["status"] for e in fakepay.requests(operation="instant")] == [500, 200]


def test_a_lost_response_is_resolved_with_a_lookup(fakepay: FakePay, client: PaymentClient) -> None:
    fakepay.fail_next(outcome="lost_response")
    assert client.pay("order-2", "주문", 1000)["paymentId"] == "order-2"
    assert [e["operation"] for e in fakepay.requests(owner="alice")] == ["instant", "get"]


def test_a_reset_connection_is_retried(fakepay: FakePay, client: PaymentClient) -> None:
    fakepay.fail_next(outcome="reset")
    client.pay("order-3", "주문", 1000)
    assert [e["outcome"] for e in fakepay.requests(operation="instant")] == ["reset", "ok"]


def test_a_timeout_is_looked_up_then_retried(fakepay: FakePay, client: PaymentClient) -> None:
    fakepay.fail_next(outcome={"timeout_s": 3})
    client.pay("order-4", "주문", 1000)
    assert [e["operation"] for e in fakepay.requests(owner="alice")] == ["instant", "get", "instant"]


def test_it_gives_up_after_three_failures(fakepay: FakePay, client: PaymentClient) -> None:
    fakepay.fail_next(3)
    with pytest.raises(PaymentError, match="after 3 attempts"):
        client.pay("order-5", "주문", 1000)
    payment = fakepay.payment("alice", "order-5")
    assert payment is not None and payment["status"] == "FAILED"


def test_a_bad_request_is_not_retried(fakepay: FakePay, client: PaymentClient) -> None:
    with pytest.raises(PaymentError, match="400"):
        client.pay("order-6", "주문", 0)
    assert len(fakepay.requests(operation="instant")) == 1


def test_cancel(fakepay: FakePay, client: PaymentClient) -> None:
    fakepay.seed_payment("alice", "old-order", order_name="주문2", total_pay_amount=30000)
    assert client.cancel("old-order")["paymentStatus"] == "CANCELLED"
    with pytest.raises(PaymentError, match="PAYMENT_ALREADY_CANCELLED"):
        client.cancel("old-order")


@pytest.mark.fakepay(failure_rate=0.1, seed=2025)
def test_a_hundred_orders_against_the_real_servers_failure_rate(client: PaymentClient) -> None:
    for i in range(100):
        client.pay(f"bulk-{i}", "주문", 1000)

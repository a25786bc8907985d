"""PortOne's webhooks as a shop's endpoint gets them, through real HTTP: a receiver on a thread of
its own verifies every delivery with the PortOne server SDK's ``verify``. Every event of a
payment's life and of a billing key's, where they go, the faults rules make of them, retries and
resends, and fakepay unharmed by receivers that hang, refuse or cannot be reached."""

from __future__ import annotations

import asyncio
import functools
import http.client
import json
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from portone_server_sdk import PaymentClient
from portone_server_sdk.common import CardCredential, PaymentAmountInput
from portone_server_sdk.errors import PgProviderError, WebhookNotFoundError
from portone_server_sdk.payment import (
    InstantPaymentMethodInput,
    InstantPaymentMethodInputCard,
    PaidPayment,
    SucceededPaymentCancellation,
)
from portone_server_sdk.payment.billing_key import (
    InstantBillingKeyPaymentMethodInput,
    InstantBillingKeyPaymentMethodInputCard,
)
from portone_server_sdk.webhook import (
    WebhookBillingKeyDeleted,
    WebhookBillingKeyIssued,
    WebhookTransactionCancelledCancelled,
    WebhookTransactionCancelledPartialCancelled,
    WebhookTransactionFailed,
    WebhookTransactionPaid,
    WebhookTransactionReady,
    WebhookTransactionVirtualAccountIssued,
    WebhookVerificationError,
    verify,
)

from fakepay import FakePay, RetryPolicy
from fakepay.core.webhooks import new_secret

from .support import fetch, free_port, serving

SECRET = new_secret()
STORE_SECRET = new_secret()
#: Retries within a test's patience: the first after 50 ms.
QUICK = RetryPolicy(timeout_s=2, retries=2, first_delay_s=0.05)
WAIT_S = 10.0
CREDENTIAL = CardCredential(number="4242424242424242", expiry_year="30", expiry_month="12")
CARD = InstantPaymentMethodInput(card=InstantPaymentMethodInputCard(credential=CREDENTIAL))
KEY_CARD = InstantBillingKeyPaymentMethodInput(card=InstantBillingKeyPaymentMethodInputCard(credential=CREDENTIAL))
#: The body of ``POST /payments/{id}/instant`` over plain HTTP.
PAY: dict[str, Any] = {"method": {"card": {"credential": {"number": "4242424242424242", "expiryYear": "30", "expiryMonth": "12"}}},
                       "orderName": "o", "amount": {"total": 1000}, "currency": "KRW"}


# -- a shop's webhook endpoint ----------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One request the receiver got, with its headers by lower-case name (as the SDK looks them up)."""

    path: str
    headers: dict[str, str]
    text: str

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> Any:
        return json.loads(self.text)

    def verify(self, secret: str = SECRET) -> Any:
        """The SDK's reading of this delivery: its typed event, or ``WebhookVerificationError``."""
        return verify(secret, self.text, self.headers)


class Receiver:
    """A shop's webhook endpoint on a thread of its own: every request it gets, each answered with
    the next status set for its path (200 when none is left); requests to paths under ``/hang``
    are never answered while it runs."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: dict[str, list[int]] = {}
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="receiver", daemon=True)
        self._thread.start()
        self._released = asyncio.Event()
        app = web.Application()
        app.router.add_post("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        self._port = free_port()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result()
        self.url = f"http://127.0.0.1:{self._port}/"

    async def _start(self) -> None:
        self._released = asyncio.Event()
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._port).start()

    async def _handle(self, request: web.Request) -> web.Response:
        received = Received(request.path, {name.lower(): value for name, value in request.headers.items()},
                            (await request.read()).decode())
        with self._changed:
            self.received.append(received)
            self._changed.notify_all()
            statuses = self.statuses.get(request.path)
            status = statuses.pop(0) if statuses else 200
        if request.path.startswith("/hang"):
            await self._released.wait()
        return web.Response(status=status)

    def at(self, path: str) -> list[Received]:
        with self._changed:
            return [received for received in self.received if received.path == path]

    def wait(self, count: int, path: str = "/hooks") -> list[Received]:
        """The requests to ``path`` once there are ``count`` of them (fails after ``WAIT_S``)."""
        with self._changed:
            arrived = self._changed.wait_for(lambda: len([r for r in self.received if r.path == path]) >= count, WAIT_S)
        assert arrived, f"{count} requests to {path} expected, got {self.at(path)}"
        return self.at(path)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._released.set)
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def refused_url(path: str = "hooks") -> str:
    """The URL of a local port nobody listens on."""
    return f"http://127.0.0.1:{free_port()}/{path}"


# -- fixtures ---------------------------------------------------------------------------------------


def portone_scenario(**webhook: Any) -> dict[str, Any]:
    return {"api": "portone", "failure": {"rate": 0.0}, "webhook": {"secret": SECRET, **webhook}}


@pytest.fixture(scope="module")
def server() -> Iterator[FakePay]:
    with FakePay(scenario=portone_scenario(), webhooks=QUICK) as fake:
        yield fake


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def fake(server: FakePay, receiver: Receiver) -> FakePay:
    """The module's fakepay at its start, its webhooks going to the receiver's ``/hooks``."""
    server.restore()
    server.set_webhook(receiver.url + "hooks")
    return server


@functools.cache
def client(url: str, store_id: str | None = None) -> PaymentClient:
    """The SDK's client of alice's secret (one for the module: each costs much to make)."""
    return PaymentClient(secret="alice", base_url=url, store_id=store_id)


@pytest.fixture
def shop(fake: FakePay) -> PaymentClient:
    return client(fake.url)


def pay(shop: PaymentClient, payment_id: str, **fields: Any) -> None:
    shop.pay_instantly(payment_id=payment_id, method=CARD, order_name="o", amount=PaymentAmountInput(total=1000),
                       currency="KRW", **fields)


def events(received: list[Received], secret: str = SECRET) -> list[Any]:
    return [each.verify(secret) for each in received]


def journal(fake: FakePay, payment_id: str) -> list[tuple[str, int, int | None, str]]:
    """The webhook attempts of a payment in the journal: type, attempt, status, outcome."""
    return [(entry["response"]["type"], entry["response"]["attempt"], entry["status"], entry["outcome"])
            for entry in fake.requests(operation="webhook", payment_id=payment_id)]


def reason(received: Received) -> str:
    with pytest.raises(WebhookVerificationError) as refused:
        received.verify()
    return str(refused.value.reason)


# -- every event of a payment's life ------------------------------------------------------------------


def test_pay_instantly_sends_paid_exactly_as_portone_writes_it(fake: FakePay, shop: PaymentClient, receiver: Receiver) -> None:
    """The payload's timestamp is on fakepay's clock (frozen in 2020), the signature's on the wall
    clock: the SDK accepts it all the same."""
    fake.freeze_time("2020-01-02T03:04:05")
    pay(shop, "p1")
    [received] = receiver.wait(1)
    payment = shop.get_payment(payment_id="p1")
    assert isinstance(payment, PaidPayment)
    assert received.payload == {"type": "Transaction.Paid", "timestamp": "2020-01-01T18:04:05.000Z",
                                "data": {"storeId": payment.store_id, "paymentId": "p1",
                                         "transactionId": payment.transaction_id}}
    assert list(received.payload) == ["type", "timestamp", "data"]
    webhook = received.verify()
    assert isinstance(webhook, WebhookTransactionPaid)
    assert (webhook.data.payment_id, webhook.timestamp) == ("p1", "2020-01-01T18:04:05.000Z")
    assert int(received.headers["webhook-timestamp"]) > 1_700_000_000
    assert received.headers["webhook-id"].startswith("msg_")
    assert received.headers["content-type"] == "application/json"
    entry = fake.wait_for_webhook("Transaction.Paid", "p1")
    assert (entry["method"], entry["path"], entry["status"], entry["body"], entry["owner"]) == (
        "POST", receiver.url + "hooks", 200, received.payload, "alice")
    assert entry["response"] == {"webhookId": received.id, "type": "Transaction.Paid", "attempt": 1, "error": None}


def test_a_checkout_sends_ready_then_paid(fake: FakePay, receiver: Receiver) -> None:
    fake.checkout("alice", "p1", order_name="o", total_amount=1000)
    ready, paid = events(receiver.wait(2))
    assert isinstance(ready, WebhookTransactionReady) and isinstance(paid, WebhookTransactionPaid)
    assert ready.data.payment_id == paid.data.payment_id == "p1"
    assert ready.data.transaction_id == paid.data.transaction_id


def test_a_declined_payment_sends_failed(fake: FakePay, shop: PaymentClient, receiver: Receiver) -> None:
    fake.add_rule("fail", {"operation": "payInstantly"})
    with pytest.raises(PgProviderError):
        pay(shop, "p1")
    [failed] = events(receiver.wait(1))
    assert isinstance(failed, WebhookTransactionFailed) and failed.data.payment_id == "p1"


def test_a_virtual_account_is_issued_then_paid_by_the_deposit(fake: FakePay, receiver: Receiver) -> None:
    fake.checkout("alice", "p1", order_name="o", total_amount=1000, outcome="VIRTUAL_ACCOUNT_ISSUED")
    ready, issued = events(receiver.wait(2))
    assert isinstance(ready, WebhookTransactionReady) and isinstance(issued, WebhookTransactionVirtualAccountIssued)
    fake.deposit("alice", "p1")
    paid = events(receiver.wait(3))[2]
    assert isinstance(paid, WebhookTransactionPaid) and paid.data.payment_id == "p1"


def test_a_partial_cancel_then_the_rest_each_name_their_cancellation(fake: FakePay, shop: PaymentClient,
                                                                      receiver: Receiver) -> None:
    pay(shop, "p1")
    first = shop.cancel_payment(payment_id="p1", reason="r", amount=300).cancellation
    rest = shop.cancel_payment(payment_id="p1", reason="r").cancellation
    assert isinstance(first, SucceededPaymentCancellation) and isinstance(rest, SucceededPaymentCancellation)
    paid, partial, cancelled = events(receiver.wait(3))
    assert isinstance(paid, WebhookTransactionPaid)
    assert isinstance(partial, WebhookTransactionCancelledPartialCancelled)
    assert isinstance(cancelled, WebhookTransactionCancelledCancelled)
    assert (partial.data.cancellation_id, cancelled.data.cancellation_id) == (first.id, rest.id)
    assert partial.data.payment_id == cancelled.data.payment_id == "p1"


def test_a_confirmed_payment_is_ready_then_paid(fake: FakePay, shop: PaymentClient, receiver: Receiver) -> None:
    token = fake.checkout("alice", "p1", order_name="o", total_amount=1000, manual_confirm=True)["paymentToken"]
    [ready] = events(receiver.wait(1))
    assert isinstance(ready, WebhookTransactionReady)
    shop.confirm_payment(payment_id="p1", payment_token=token)
    paid = events(receiver.wait(2))[1]
    assert isinstance(paid, WebhookTransactionPaid) and paid.data.payment_id == "p1"


def test_a_billing_key_is_issued_pays_and_is_deleted(fake: FakePay, shop: PaymentClient, receiver: Receiver) -> None:
    key = shop.billing_key.issue_billing_key(method=KEY_CARD).billing_key_info.billing_key
    shop.pay_with_billing_key(payment_id="sub-1", billing_key=key, order_name="o", amount=PaymentAmountInput(total=9900),
                              currency="KRW")
    shop.billing_key.delete_billing_key(billing_key=key)
    issued, paid, deleted = received = receiver.wait(3)
    assert isinstance(issued.verify(), WebhookBillingKeyIssued) and isinstance(deleted.verify(), WebhookBillingKeyDeleted)
    assert issued.payload["data"] == deleted.payload["data"] == {"storeId": issued.payload["data"]["storeId"], "billingKey": key}
    assert isinstance(paid.verify(), WebhookTransactionPaid)
    assert [each.payload["type"] for each in received] == ["BillingKey.Issued", "Transaction.Paid", "BillingKey.Deleted"]


# -- where they go --------------------------------------------------------------------------------


def test_skip_webhook_sends_nothing_for_that_change(fake: FakePay, shop: PaymentClient, receiver: Receiver) -> None:
    pay(shop, "skipped", skip_webhook=True)
    pay(shop, "p1")
    shop.cancel_payment(payment_id="p1", reason="r", skip_webhook=True)
    pay(shop, "last")
    assert [each.payload["data"]["paymentId"] for each in receiver.wait(2)] == ["p1", "last"]
    assert fake.wait_for_webhook("Transaction.Paid", "last")
    assert journal(fake, "skipped") == []
    assert journal(fake, "p1") == [("Transaction.Paid", 1, 200, "delivered")]


def test_notice_urls_replace_the_servers_endpoint(fake: FakePay, shop: PaymentClient, receiver: Receiver) -> None:
    pay(shop, "p1", notice_urls=[receiver.url + "first", receiver.url + "second"])
    shop.cancel_payment(payment_id="p1", reason="r")
    pay(shop, "p2")
    first, second = receiver.wait(2, "/first"), receiver.wait(2, "/second")
    assert [each.id for each in first] == [each.id for each in second]
    assert [type(each) for each in events(first)] == [WebhookTransactionPaid, WebhookTransactionCancelledCancelled]
    assert [each.payload["data"]["paymentId"] for each in receiver.wait(1)] == ["p2"]


def test_a_store_has_its_own_endpoint_and_secret(fake: FakePay, receiver: Receiver) -> None:
    settings = fake.set_webhook(receiver.url + "hooks", stores=[{"storeId": "store-b", "url": receiver.url + "store-b",
                                                                 "secret": STORE_SECRET}])
    assert settings == {"url": receiver.url + "hooks", "secret": SECRET,
                        "stores": [{"storeId": "store-b", "url": receiver.url + "store-b", "secret": STORE_SECRET}]}
    pay(client(fake.url, "store-b"), "b1")
    pay(client(fake.url, "store-a"), "a1")
    [own] = receiver.wait(1, "/store-b")
    webhook = own.verify(STORE_SECRET)
    assert isinstance(webhook, WebhookTransactionPaid) and webhook.data.store_id == "store-b"
    assert reason(own) == "NO_MATCHING_SIGNATURE"
    [server_s] = receiver.wait(1)
    assert server_s.verify().data.store_id == "store-a"


def test_the_endpoint_and_secret_set_by_the_handle_and_by_patch(fake: FakePay, receiver: Receiver) -> None:
    secret = new_secret()
    assert fake.set_webhook(receiver.url + "handle", secret) == {"url": receiver.url + "handle", "secret": secret, "stores": []}
    assert fake.webhook_secret == secret
    fake.checkout("alice", "p1", order_name="o", total_amount=1, manual_confirm=True)
    assert isinstance(receiver.wait(1, "/handle")[0].verify(secret), WebhookTransactionReady)
    patch = {"webhook": {"url": receiver.url + "patched"}}
    status, body = fetch(f"{fake.url}/__fakepay/config", "PATCH", json.dumps(patch).encode(), {"Content-Type": "application/json"})
    assert status == 200, body
    assert json.loads(body)["webhook"]["url"] == receiver.url + "patched"
    fake.checkout("alice", "p2", order_name="o", total_amount=1, manual_confirm=True)
    webhook = receiver.wait(1, "/patched")[0].verify(fake.webhook_secret)
    assert isinstance(webhook, WebhookTransactionReady) and webhook.data.payment_id == "p2"
    fake.set_webhook(None)
    fake.checkout("alice", "p3", order_name="o", total_amount=1, manual_confirm=True, notice_urls=[receiver.url + "notice"])
    receiver.wait(1, "/notice")
    assert [each.path for each in receiver.received] == ["/handle", "/patched", "/notice"]
    assert fake.wait_for_webhook("Transaction.Ready", "p3")["path"] == receiver.url + "notice"


def test_fakepay_serve_sends_to_the_url_and_secret_given(receiver: Receiver) -> None:
    with serving("--api", "portone", "--failure-rate", "0", "--webhook-url", receiver.url + "served",
                 "--webhook-secret", SECRET) as (_, banner):
        pay(PaymentClient(secret="shop", base_url=banner.group(1)), "p1")
        webhook = receiver.wait(1, "/served")[0].verify()
        assert isinstance(webhook, WebhookTransactionPaid) and webhook.data.payment_id == "p1"


# -- faults by rules --------------------------------------------------------------------------------


def test_a_scenarios_rule_drops_a_webhook(server: FakePay, receiver: Receiver) -> None:
    rule = {"when": {"operation": "webhook", "type": "Transaction.Paid", "paymentId": "p1"}, "then": "drop"}
    server.load_scenario(portone_scenario(url=receiver.url + "hooks") | {"rules": [rule]})
    shop = client(server.url)
    pay(shop, "p1")
    pay(shop, "p2")
    assert [each.payload["data"]["paymentId"] for each in receiver.wait(1)] == ["p2"]
    assert fake_journal_outcome(server, "p1") == ("dropped", None)
    shop.cancel_payment(payment_id="p1", reason="r")
    assert isinstance(receiver.wait(2)[1].verify(), WebhookTransactionCancelledCancelled)


def fake_journal_outcome(fake: FakePay, payment_id: str) -> tuple[str, int | None]:
    [entry] = fake.requests(operation="webhook", payment_id=payment_id)
    assert entry["rule"] is not None
    return entry["outcome"], entry["status"]


def test_a_duplicate_carries_the_same_id_twice_for_times_rules(fake: FakePay, shop: PaymentClient, receiver: Receiver) -> None:
    status, _ = fetch(f"{fake.url}/__fakepay/rules", "POST", json.dumps(
        {"when": {"operation": "webhook", "type": "Transaction.*"}, "then": "duplicate", "times": 1}).encode())
    assert status == 200
    pay(shop, "p1")
    pay(shop, "p2")
    first, second, third = receiver.wait(3)
    assert first.id == second.id != third.id
    assert first.text == second.text
    assert [each.verify().data.payment_id for each in (first, second, third)] == ["p1", "p1", "p2"]


def test_out_of_order_holds_a_webhook_until_the_next_one_is_sent(fake: FakePay, shop: PaymentClient,
                                                                 receiver: Receiver) -> None:
    fake.add_rule("out_of_order", {"operation": "webhook", "paymentId": "p1"})
    pay(shop, "p1")
    pay(shop, "p2")
    assert [each.verify().data.payment_id for each in receiver.wait(2)] == ["p2", "p1"]


def test_a_delayed_webhook_lets_the_next_pass(fake: FakePay, shop: PaymentClient, receiver: Receiver) -> None:
    fake.add_rule({"delay_ms": 200}, {"operation": "webhook", "paymentId": "p1"})
    pay(shop, "p1")
    pay(shop, "p2")
    assert [each.verify().data.payment_id for each in receiver.wait(2)] == ["p2", "p1"]


def test_a_bad_signature_and_a_stale_timestamp_are_refused_by_the_sdk(fake: FakePay, receiver: Receiver) -> None:
    fake.set_webhook(receiver.url + "hooks", stores=[{"storeId": "stale", "url": receiver.url + "stale"}])
    fake.add_rule("bad_signature", {"operation": "webhook", "storeId": "bad"})
    fake.add_rule("stale_timestamp", {"operation": "webhook", "storeId": "stale"})
    for store in ("bad", "stale", "good"):
        pay(client(fake.url, store), store)
    bad, good = receiver.wait(2)
    [stale] = receiver.wait(1, "/stale")
    assert reason(bad) in ("NO_MATCHING_SIGNATURE", "INVALID_SIGNATURE")
    assert reason(stale) == "TIMESTAMP_TOO_OLD"
    assert good.verify().data.payment_id == "good"
    assert [each.payload["data"]["paymentId"] for each in (bad, stale)] == ["bad", "stale"]


def test_a_rule_on_billing_keys_leaves_transactions_alone(fake: FakePay, shop: PaymentClient, receiver: Receiver) -> None:
    fake.add_rule("drop", {"operation": "webhook", "type": "BillingKey.*"})
    key = shop.billing_key.issue_billing_key(method=KEY_CARD).billing_key_info.billing_key
    shop.pay_with_billing_key(payment_id="p1", billing_key=key, order_name="o", amount=PaymentAmountInput(total=1), currency="KRW")
    shop.billing_key.delete_billing_key(billing_key=key)
    pay(shop, "last")
    assert [each.payload["type"] for each in receiver.wait(2)] == ["Transaction.Paid", "Transaction.Paid"]
    assert [entry["outcome"] for entry in fake.requests(operation="webhook") if entry["response"]["type"].startswith("BillingKey")] \
        == ["dropped", "dropped"]


def test_a_rule_without_an_operation_never_touches_a_webhook(fake: FakePay, shop: PaymentClient, receiver: Receiver) -> None:
    fake.add_rule({"delay_ms": 1}, {"paymentId": "p1"}, times=1)
    pay(shop, "p1")
    [received] = receiver.wait(1)
    assert received.verify().data.payment_id == "p1"
    entry = fake.wait_for_webhook("Transaction.Paid", "p1")
    assert (entry["response"]["attempt"], entry["rule"]) == (1, None)
    [api] = fake.requests(operation="payInstantly", payment_id="p1")
    assert api["rule"] is not None


# -- retries and resends ----------------------------------------------------------------------------


def test_a_failed_delivery_is_tried_again_with_the_same_id_and_payload_signed_afresh(receiver: Receiver) -> None:
    receiver.statuses["/hooks"] = [500]
    with FakePay(scenario=portone_scenario(url=receiver.url + "hooks"), webhooks=RetryPolicy(retries=1, first_delay_s=1)) as fake:
        pay(PaymentClient(secret="alice", base_url=fake.url), "p1")
        first, second = receiver.wait(2)
        assert first.id == second.id and first.text == second.text
        assert int(second.headers["webhook-timestamp"]) > int(first.headers["webhook-timestamp"])
        assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
        assert isinstance(first.verify(), WebhookTransactionPaid) and isinstance(second.verify(), WebhookTransactionPaid)
        fake.wait_for_webhook("Transaction.Paid", "p1")
        assert journal(fake, "p1") == [("Transaction.Paid", 1, 500, "retrying"), ("Transaction.Paid", 2, 200, "delivered")]


def test_a_badly_signed_attempt_refused_is_retried_well_signed(receiver: Receiver) -> None:
    """A rule's bad signature spoils the attempt it shaped, not the retries its refusal brings."""
    receiver.statuses["/hooks"] = [400]
    with FakePay(scenario=portone_scenario(url=receiver.url + "hooks"), webhooks=RetryPolicy(retries=1, first_delay_s=0.2)) as fake:
        fake.add_rule("bad_signature", {"operation": "webhook"}, times=1)
        pay(PaymentClient(secret="alice", base_url=fake.url), "p1")
        first, second = receiver.wait(2)
        assert reason(first) in ("NO_MATCHING_SIGNATURE", "INVALID_SIGNATURE")
        assert isinstance(second.verify(), WebhookTransactionPaid) and first.id == second.id
        fake.wait_for_webhook("Transaction.Paid", "p1")
        assert journal(fake, "p1") == [("Transaction.Paid", 1, 400, "retrying"), ("Transaction.Paid", 2, 200, "delivered")]


def test_a_rule_naming_an_attempt_shapes_that_retry_alone(receiver: Receiver) -> None:
    """The first attempt fails plainly; the rule of attempt 2 makes its timestamp stale; the third is delivered."""
    receiver.statuses["/hooks"] = [500, 400]
    with FakePay(scenario=portone_scenario(url=receiver.url + "hooks"), webhooks=RetryPolicy(retries=2, first_delay_s=0.2)) as fake:
        fake.add_rule("stale_timestamp", {"operation": "webhook", "attempt": 2})
        pay(PaymentClient(secret="alice", base_url=fake.url), "p1")
        first, second, third = receiver.wait(3)
        assert isinstance(first.verify(), WebhookTransactionPaid) and isinstance(third.verify(), WebhookTransactionPaid)
        assert reason(second) == "TIMESTAMP_TOO_OLD"
        fake.wait_for_webhook("Transaction.Paid", "p1")
        rules = [entry["rule"] for entry in fake.requests(operation="webhook", payment_id="p1")]
        assert journal(fake, "p1") == [("Transaction.Paid", 1, 500, "retrying"), ("Transaction.Paid", 2, 400, "retrying"),
                                       ("Transaction.Paid", 3, 200, "delivered")]
        assert rules[0] is None and rules[1] is not None and rules[2] is None


def test_a_reset_forgets_the_retries_pending(receiver: Receiver) -> None:
    """The retry of p1 would be due long before p2, delayed by a rule, is: p2 arrives alone."""
    receiver.statuses["/hooks"] = [500]
    with FakePay(scenario=portone_scenario(url=receiver.url + "hooks"), webhooks=RetryPolicy(retries=1, first_delay_s=0.5)) as fake:
        shop = PaymentClient(secret="alice", base_url=fake.url)
        pay(shop, "p1")
        fake.wait_for_webhook("Transaction.Paid", "p1", outcome="retrying")
        fake.reset()
        fake.add_rule({"delay_ms": 1500}, {"operation": "webhook", "paymentId": "p2"})
        pay(shop, "p2")
        fake.wait_for_webhook("Transaction.Paid", "p2")
        assert [each.payload["data"]["paymentId"] for each in receiver.received] == ["p1", "p2"]
        assert journal(fake, "p1") == []


def test_a_resend_is_a_new_message_of_the_same_payload(fake: FakePay, shop: PaymentClient, receiver: Receiver) -> None:
    pay(shop, "p1")
    shop.cancel_payment(payment_id="p1", reason="r")
    paid, cancelled = receiver.wait(2)
    resent = shop.resend_webhook(payment_id="p1").webhook
    again = receiver.wait(3)[2]
    assert (again.text, resent.id) == (cancelled.text, again.id)
    assert again.id not in (paid.id, cancelled.id)
    assert isinstance(again.verify(), WebhookTransactionCancelledCancelled)
    assert (resent.url, resent.payment_status, resent.trigger) == (receiver.url + "hooks", "CANCELLED", "MANUAL")
    by_handle = fake.resend_webhook("alice", "p1", paid.id)
    named = receiver.wait(4)[3]
    assert (named.text, named.id) == (paid.text, by_handle["webhook"]["id"])
    assert named.id != paid.id
    with pytest.raises(WebhookNotFoundError):
        shop.resend_webhook(payment_id="p1", webhook_id="msg_unknown")
    pay(shop, "silent", skip_webhook=True)
    with pytest.raises(WebhookNotFoundError):
        shop.resend_webhook(payment_id="silent")


# -- receivers that hang, refuse or cannot be reached ----------------------------------------------


def test_a_receiver_that_never_answers_delays_no_answer(fake: FakePay, shop: PaymentClient, receiver: Receiver) -> None:
    fake.set_webhook(receiver.url + "hang")
    pay(shop, "p1")
    receiver.wait(1, "/hang")
    pay(shop, "p2")  # answered while the first delivery hangs, and the second waits behind it
    assert isinstance(shop.get_payment(payment_id="p2"), PaidPayment)
    entry = fake.wait_for_webhook("Transaction.Paid", "p1", outcome="retrying")
    assert entry["response"]["error"] == "no answer within 2 s"


def test_a_url_that_refuses_or_is_not_http_fails_without_delaying_the_answer(fake: FakePay, shop: PaymentClient) -> None:
    refused = refused_url()
    fake.set_webhook(refused)
    pay(shop, "p1")
    pay(shop, "p2", notice_urls=["ftp://127.0.0.1/hooks", "hooks.example/paid", "not a url"])
    assert fake.wait_for_webhook("Transaction.Paid", "p1", outcome="given_up")["response"]["error"].startswith(
        "ClientConnectorError")
    assert [(entry["response"]["attempt"], entry["outcome"]) for entry in fake.requests(operation="webhook", payment_id="p1")] \
        == [(1, "retrying"), (2, "retrying"), (3, "given_up")]
    failed = fake.requests(operation="webhook", payment_id="p2")
    assert sorted((entry["path"], entry["outcome"], entry["response"]["error"]) for entry in failed) == sorted(
        (url, "failed", f"not an http(s) URL: {url!r}") for url in ("ftp://127.0.0.1/hooks", "hooks.example/paid", "not a url"))


def retrying(url: str, payment_id: str | None = None) -> list[dict[str, Any]]:
    """The journal's webhook attempts (of a payment) to be tried again, of the fakepay at ``url``."""
    query = f"&paymentId={payment_id}" if payment_id else ""
    status, body = fetch(f"{url}/__fakepay/requests?operation=webhook&limit=100000{query}")
    assert status == 200
    return [entry for entry in json.loads(body)["requests"] if entry["outcome"] == "retrying"]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_ten_thousand_pending_retries_leave_fakepay_responsive_bounded_and_quick_to_stop(tmp_path: Path,
                                                                                          receiver: Receiver) -> None:
    """A thousand payments, each to ten URLs that refuse and one that never answers, retried in
    ten minutes: 10,000 retries wait; the API answers, memory stays bounded, and SIGTERM stops
    fakepay within a second."""
    scenario = tmp_path / "webhooks.yaml"
    scenario.write_text(yaml.safe_dump(portone_scenario(url=receiver.url + "hang") | {"journal": {"max_entries": 100_000}}))
    refused = [refused_url(f"hooks/{index}") for index in range(10)]
    with serving("--scenario", str(scenario), "--webhook-first-delay", "600", "--webhook-timeout", "600") as (process, banner):
        url = banner.group(1)
        connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=30)
        headers = {"Authorization": "PortOne alice", "Content-Type": "application/json"}

        def post(payment_id: str, body: dict[str, Any]) -> int:
            connection.request("POST", f"/payments/{payment_id}/instant", json.dumps(body), headers)
            response = connection.getresponse()
            response.read()
            return response.status

        assert post("hung", PAY) == 200
        receiver.wait(1, "/hang")
        before = rss_kib(process.pid)
        assert {post(f"p{index}", PAY | {"noticeUrls": refused}) for index in range(1000)} == {200}

        deadline = time.monotonic() + 60
        while len(retrying(url, "p999")) < 10:  # each URL's messages are tried in turn: the last tried last
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert len(retrying(url)) == 10_000
        assert post("after", PAY | {"noticeUrls": refused[:1]}) == 200
        status, body = fetch(f"{url}/payments/after", headers={"Authorization": "PortOne alice"})
        assert (status, json.loads(body)["status"]) == (200, "PAID")
        assert rss_kib(process.pid) - before < 200 * 1024
        connection.close()
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert time.monotonic() - started < 1.0


# -- seen in the journal and on the event stream -----------------------------------------------------


async def test_an_attempt_is_on_the_event_stream(fake: FakePay, receiver: Receiver) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{fake.url}/__fakepay/events") as stream:
        assert json.loads((await stream.content.readline()).decode().removeprefix("data: ")) == {"type": "ready"}
        await asyncio.to_thread(pay, client(fake.url), "p1")
        [received] = await asyncio.to_thread(receiver.wait, 1)
        while True:
            line = (await asyncio.wait_for(stream.content.readline(), WAIT_S)).decode()
            if not line.startswith("data: "):
                continue
            event = json.loads(line.removeprefix("data: "))
            if event["type"] == "request" and event["request"]["operation"] == "webhook":
                break
    attempt = event["request"]
    assert (attempt["method"], attempt["path"], attempt["status"], attempt["outcome"], attempt["body"]) == (
        "POST", receiver.url + "hooks", 200, "delivered", received.payload)
    assert attempt["response"] == {"webhookId": received.id, "type": "Transaction.Paid", "attempt": 1, "error": None}
    [entry] = fake.requests(operation="webhook")
    assert {key: entry[key] for key in ("id", "path", "status", "outcome", "response")} == {
        key: attempt[key] for key in ("id", "path", "status", "outcome", "response")}

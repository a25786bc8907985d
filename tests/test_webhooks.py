"""Webhook deliveries: the signature and retry policy as data, and the outbox sending to a real
receiver over HTTP, each delivery checked with the PortOne server SDK's ``verify``."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from portone_server_sdk.webhook import WebhookTransactionPaid, WebhookVerificationError, verify

from fakepay.core.events import WebhookAttempt, WebhookOutcome
from fakepay.core.webhooks import STALE_S, Delivery, Message, RetryPolicy, new_secret, sign, signed_headers
from fakepay.http.webhooks import MAX_PENDING, Outbox

SECRET = new_secret()
#: Retries within a test's patience: the first after 10 ms.
QUICK = RetryPolicy(timeout_s=5, retries=2, first_delay_s=0.01)
#: Retries far later than any test waits.
LATER = RetryPolicy(retries=1, first_delay_s=3600)
WAIT_S = 10.0


def payload(payment_id: str, type: str = "Transaction.Paid") -> bytes:
    data = {"storeId": "store-1", "paymentId": payment_id, "transactionId": f"tx-{payment_id}"}
    return json.dumps({"type": type, "timestamp": "2024-04-25T10:00:00.000Z", "data": data}).encode()


def message(url: str, payment_id: str = "pay-1") -> Message:
    return Message(url, SECRET, payload(payment_id), "Transaction.Paid", owner="alice", payment_id=payment_id, store_id="store-1")


# --- as data -------------------------------------------------------------------------------------


def test_the_signature_is_standard_webhooks() -> None:
    """The example of the Standard Webhooks specification."""
    assert sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                b'{"test": 2432232314}') == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_bare_base64_secret_signs_as_the_prefixed_one() -> None:
    bare = SECRET.removeprefix("whsec_")
    assert sign(bare, "msg_1", 1, b"{}") == sign(SECRET, "msg_1", 1, b"{}")


def test_a_new_secret_is_24_random_bytes_in_base64() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 24
    assert new_secret() != secret


def test_a_message_has_an_id_of_its_own_and_needs_a_secret_in_base64() -> None:
    first, second = message("http://x/"), message("http://x/")
    assert first.id.startswith("msg_") and first.id != second.id
    with pytest.raises(ValueError):
        Message("http://x/", "whsec_not base64!", b"{}", "Transaction.Paid")
    with pytest.raises(ValueError):
        Message("http://x/", "whsec_", b"{}", "Transaction.Paid")


def test_the_headers_of_an_attempt_carry_its_wall_clock_second() -> None:
    sent = message("http://x/")
    headers = signed_headers(sent, 1_700_000_000.9)
    assert headers == {"webhook-id": sent.id, "webhook-timestamp": "1700000000",
                       "webhook-signature": sign(SECRET, sent.id, 1_700_000_000, sent.body), "Content-Type": "application/json"}
    stale = signed_headers(sent, 1_700_000_000, Delivery(stale_s=STALE_S))
    assert stale["webhook-timestamp"] == str(1_700_000_000 - STALE_S)
    assert signed_headers(sent, 1_700_000_000, Delivery(bad_signature=True))["webhook-signature"] != headers["webhook-signature"]


def test_the_default_retries_are_portones_count_and_end_within_a_minute() -> None:
    policy = RetryPolicy()
    delays = [policy.delay(attempt) for attempt in range(1, 7)]
    assert delays == [1, 2, 4, 8, 16, None]
    assert sum(delay or 0 for delay in delays) + policy.timeout_s * 6 <= 61
    assert RetryPolicy(retries=0).delay(1) is None


def test_impossible_settings_are_refused() -> None:
    for settings in ({"timeout_s": 0}, {"retries": -1}, {"first_delay_s": -1}):
        with pytest.raises(ValueError):
            RetryPolicy(**settings)
    for options in ({"copies": 0}, {"delay_s": -1}, {"stale_s": -1}):
        with pytest.raises(ValueError):
            Delivery(**options)  # type: ignore[arg-type]


# --- over HTTP -----------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def verify(self) -> object:
        """The SDK's reading of this delivery (headers with lower-case names, as it looks them up)."""
        return verify(SECRET, self.body.decode(), self.headers)


class Receiver:
    """A webhook endpoint: every request it gets, each answered with the next status set for its
    path (200 when none is left); ``/hang`` answers only once the test is over."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: dict[str, list[int]] = {}
        self.url = ""
        self.hanging = asyncio.Event()
        self.released = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(request.path, {name.lower(): value for name, value in request.headers.items()},
                                      await request.read()))
        if request.path == "/hang":
            self.hanging.set()
            await self.released.wait()
        statuses = self.statuses.get(request.path)
        return web.Response(status=statuses.pop(0) if statuses else 200)

    def at(self, path: str) -> list[Received]:
        return [received for received in self.received if received.path == path]


@pytest.fixture
async def receiver(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/{path:.*}", receiver.handle)
    server = await aiohttp_server(app)
    receiver.url = str(server.make_url("/"))
    yield receiver
    receiver.released.set()


@pytest.fixture
def attempts() -> list[WebhookAttempt]:
    return []


@pytest.fixture
async def outbox(attempts: list[WebhookAttempt]) -> AsyncIterator[Outbox]:
    outbox = Outbox(QUICK, [attempts.append])
    yield outbox
    await outbox.close()


def refused_url() -> str:
    """The URL of a local port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


#: The outcomes after which a message (a copy) is no longer pending.
FINAL: tuple[WebhookOutcome, ...] = ("delivered", "given_up", "failed", "dropped")


async def finished(outbox: Outbox, sent: Message, count: int = 1) -> list[WebhookAttempt]:
    """The attempts of ``sent`` once ``count`` of its copies have been delivered or have failed for good."""
    def done() -> int:
        return sum(1 for attempt in outbox.attempts if attempt.id == sent.id and attempt.outcome in FINAL)

    await outbox.wait_for(lambda attempt: attempt.id == sent.id and done() >= count, WAIT_S)
    return [attempt for attempt in outbox.attempts if attempt.id == sent.id]


def outcomes(attempts: list[WebhookAttempt]) -> list[tuple[int, int | None, WebhookOutcome]]:
    return [(attempt.attempt, attempt.status, attempt.outcome) for attempt in attempts]


async def test_a_delivery_verifies_with_the_sdk(outbox: Outbox, receiver: Receiver, attempts: list[WebhookAttempt]) -> None:
    sent = message(receiver.url + "hooks", "pay-7")
    outbox.submit(sent)
    [attempt] = await finished(outbox, sent)
    [received] = receiver.received
    webhook = received.verify()
    assert isinstance(webhook, WebhookTransactionPaid) and webhook.data.payment_id == "pay-7"
    assert received.body == sent.body
    assert received.headers["webhook-id"] == sent.id
    assert received.headers["content-type"] == "application/json"
    assert (attempt.id, attempt.type, attempt.url, attempt.attempt, attempt.status, attempt.error, attempt.owner,
            attempt.payment_id, attempt.outcome) == (sent.id, "Transaction.Paid", sent.url, 1, 200, None, "alice", "pay-7", "delivered")
    assert attempts == [attempt]
    assert outbox.pending == 0


async def test_a_failed_delivery_is_retried_with_the_same_id_and_payload(outbox: Outbox, receiver: Receiver) -> None:
    receiver.statuses["/flaky"] = [500]
    sent = message(receiver.url + "flaky")
    outbox.submit(sent)
    assert outcomes(await finished(outbox, sent)) == [(1, 500, "retrying"), (2, 200, "delivered")]
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == sent.id
    assert first.body == second.body == sent.body
    for received in (first, second):
        received.verify()


async def test_a_delivery_always_failing_is_given_up_after_the_retries(outbox: Outbox, receiver: Receiver) -> None:
    receiver.statuses["/down"] = [503, 503, 503]
    sent = message(receiver.url + "down")
    outbox.submit(sent)
    assert outcomes(await finished(outbox, sent)) == [(1, 503, "retrying"), (2, 503, "retrying"), (3, 503, "given_up")]
    assert len(receiver.received) == 3


async def test_a_refused_connection_is_retried_then_given_up(outbox: Outbox) -> None:
    sent = message(refused_url())
    outbox.submit(sent)
    tried = await finished(outbox, sent)
    assert outcomes(tried) == [(1, None, "retrying"), (2, None, "retrying"), (3, None, "given_up")]
    assert all(attempt.error and "ClientConnectorError" in attempt.error for attempt in tried)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hooks", "hooks.example/paid", "http:///no-host", "http://127.0.0.1:80hooks"])
async def test_a_url_that_is_not_http_fails_at_once_for_good(outbox: Outbox, url: str) -> None:
    sent = message(url)
    outbox.submit(sent)
    [attempt] = await finished(outbox, sent)
    assert (attempt.attempt, attempt.status, attempt.outcome, attempt.error) == (1, None, "failed", f"not an http(s) URL: {url!r}")


async def test_a_bad_signature_and_a_stale_timestamp_are_refused_by_the_sdk(outbox: Outbox, receiver: Receiver) -> None:
    bad, stale = message(receiver.url + "bad"), message(receiver.url + "stale")
    outbox.submit(bad, Delivery(bad_signature=True))
    outbox.submit(stale, Delivery(stale_s=STALE_S))
    await finished(outbox, bad)
    await finished(outbox, stale)
    reasons = []
    for path in ("/bad", "/stale"):
        [received] = receiver.at(path)
        with pytest.raises(WebhookVerificationError) as refused:
            received.verify()
        reasons.append(refused.value.reason)
    assert reasons == ["NO_MATCHING_SIGNATURE", "TIMESTAMP_TOO_OLD"]


async def test_deliveries_to_one_url_keep_their_order(outbox: Outbox, receiver: Receiver) -> None:
    sent = [message(receiver.url + "ordered", f"pay-{number}") for number in range(50)]
    for each in sent:
        outbox.submit(each)
    await finished(outbox, sent[-1])
    assert [received.headers["webhook-id"] for received in receiver.received] == [each.id for each in sent]


async def test_a_hanging_receiver_holds_up_no_other_url(outbox: Outbox, receiver: Receiver) -> None:
    hung, other = message(receiver.url + "hang"), message(receiver.url + "other")
    outbox.submit(hung)
    outbox.submit(other)
    assert outcomes(await finished(outbox, other)) == [(1, 200, "delivered")]
    assert [received.path for received in receiver.received] == ["/hang", "/other"]
    assert outbox.pending == 1


async def test_a_held_message_arrives_after_the_next_one(outbox: Outbox, receiver: Receiver) -> None:
    first, second, third = (message(receiver.url + "hooks", f"pay-{number}") for number in range(3))
    outbox.submit(first, Delivery(hold=True))
    outbox.submit(second)
    outbox.submit(third)
    await finished(outbox, third)
    assert [received.headers["webhook-id"] for received in receiver.received] == [second.id, first.id, third.id]


async def test_a_delayed_message_lets_the_next_one_pass(outbox: Outbox, receiver: Receiver) -> None:
    first, second = message(receiver.url + "hooks", "pay-1"), message(receiver.url + "hooks", "pay-2")
    outbox.submit(first, Delivery(delay_s=0.2))
    outbox.submit(second)
    await finished(outbox, first)
    assert [received.headers["webhook-id"] for received in receiver.received] == [second.id, first.id]


async def test_a_duplicate_carries_the_same_id_and_payload(outbox: Outbox, receiver: Receiver) -> None:
    sent = message(receiver.url + "hooks")
    outbox.submit(sent, Delivery(copies=2))
    assert outcomes(await finished(outbox, sent, count=2)) == [(1, 200, "delivered"), (1, 200, "delivered")]
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == sent.id
    assert first.body == second.body
    first.verify()
    second.verify()


async def test_a_dropped_message_is_reported_and_never_sent(outbox: Outbox, receiver: Receiver) -> None:
    dropped, sent = message(receiver.url + "hooks", "pay-1"), message(receiver.url + "hooks", "pay-2")
    outbox.submit(dropped, Delivery(drop=True))
    outbox.submit(sent)
    await finished(outbox, sent)
    assert outcomes(await finished(outbox, dropped)) == [(1, None, "dropped")]
    assert [received.headers["webhook-id"] for received in receiver.received] == [sent.id]


async def test_clear_drops_the_pending_retries(attempts: list[WebhookAttempt], receiver: Receiver) -> None:
    outbox = Outbox(LATER, [attempts.append])
    try:
        failing = message(refused_url())
        outbox.submit(failing)
        await outbox.wait_for(lambda attempt: attempt.outcome == "retrying", WAIT_S)
        assert outbox.pending == 1
        outbox.clear()
        assert outbox.pending == 0
        assert list(outbox.attempts) == []
        sent = message(receiver.url + "hooks")
        outbox.submit(sent)
        await finished(outbox, sent)
        assert outcomes(attempts) == [(1, None, "retrying"), (1, 200, "delivered")]
    finally:
        await outbox.close()


async def test_pending_messages_are_bounded_and_the_oldest_given_up(attempts: list[WebhookAttempt], receiver: Receiver) -> None:
    """A hanging receiver and more messages than the bound: the oldest waiting are given up, with
    the reason; the one being sent is not."""
    outbox = Outbox(RetryPolicy(timeout_s=3600), [attempts.append])
    try:
        sent = [message(receiver.url + "hang", f"pay-{number}") for number in range(MAX_PENDING + 3)]
        outbox.submit(sent[0])
        await receiver.hanging.wait()
        for each in sent[1:]:
            outbox.submit(each)
        assert outbox.pending == MAX_PENDING
        error = f"given up: more than {MAX_PENDING} webhook messages were pending"
        assert [(attempt.id, attempt.attempt, attempt.error, attempt.outcome) for attempt in attempts] == \
            [(each.id, 1, error, "given_up") for each in sent[1:4]]
    finally:
        await asyncio.wait_for(outbox.close(), WAIT_S)
    assert outbox.pending == 0
    assert [received.headers["webhook-id"] for received in receiver.received] == [sent[0].id]


async def test_close_ends_an_attempt_a_receiver_never_answers(attempts: list[WebhookAttempt], receiver: Receiver) -> None:
    """Closing does not wait for the receiver (nor for the hour the attempt may take); what is
    submitted afterwards is given up at once."""
    outbox = Outbox(RetryPolicy(timeout_s=3600), [attempts.append])
    outbox.submit(message(receiver.url + "hang"))
    await receiver.hanging.wait()
    await asyncio.wait_for(outbox.close(), WAIT_S)
    late = message(receiver.url + "hooks")
    outbox.submit(late)
    assert [(attempt.id, attempt.error, attempt.outcome) for attempt in attempts] == \
        [(late.id, "not sent: webhooks are shut down", "given_up")]
    assert outbox.pending == 0


async def test_waiting_for_an_attempt_that_never_comes_times_out(outbox: Outbox) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await outbox.wait_for(lambda attempt: True, 0.01)


async def test_a_failing_listener_stops_no_delivery(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    def broken(attempt: WebhookAttempt) -> None:
        raise RuntimeError("a listener's bug")

    outbox = Outbox(QUICK, [broken])
    try:
        first, second = message(receiver.url + "hooks", "pay-1"), message(receiver.url + "hooks", "pay-2")
        outbox.submit(first)
        outbox.submit(second)
        await finished(outbox, second)
    finally:
        await outbox.close()
    assert [received.headers["webhook-id"] for received in receiver.received] == [first.id, second.id]
    assert [record.getMessage() for record in caplog.records] == ["bug in fakepay (a webhook listener)"] * 2

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from portone_server_sdk.webhook import WebhookTransactionPaid, WebhookVerificationError, verify


class Endpoint(ThreadingHTTPServer):
    """Your app's webhook endpoint, in small: it verifies each delivery with PortOne's SDK, keeps
    what it made of it, and answers 200 (verified) or 400 (not)."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_port}/portone-webhook"
        self.secret = None                                   # set by the test, as your app's config is
        self.received = []                                   # (webhook-id, the SDK's webhook or its error)
        self.arrived = threading.Condition()

    def wait_for(self, count):
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.received) >= count, timeout=10)
        return self.received


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        payload = self.rfile.read(int(self.headers["Content-Length"])).decode()
        headers = {name.lower(): value for name, value in self.headers.items()}   # the SDK looks them up in lower case
        try:
            result = verify(self.server.secret, payload, headers)
        except WebhookVerificationError as error:
            result = error
        with self.server.arrived:
            self.server.received.append((headers["webhook-id"], result))
            self.server.arrived.notify_all()
        self.send_response(400 if isinstance(result, WebhookVerificationError) else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def endpoint():
    server = Endpoint()
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    yield server
    server.shutdown()
    thread.join()
    server.server_close()


def test_a_paid_checkout_sends_a_signed_webhook(fakepay_portone, endpoint):
    endpoint.secret = fakepay_portone.set_webhook(endpoint.url)["secret"]   # the whsec_ secret your app verifies with
    secret = fakepay_portone.secret("shop")

    fakepay_portone.checkout(secret, "order-1", order_name="노트북", total_amount=1500000)

    entry = fakepay_portone.wait_for_webhook("Transaction.Paid", "order-1")   # delivered: your endpoint answered 2xx
    assert (entry["status"], entry["response"]["attempt"]) == (200, 1)
    webhook_id, webhook = endpoint.received[-1]
    assert webhook_id == entry["response"]["webhookId"]
    assert isinstance(webhook, WebhookTransactionPaid) and webhook.data.payment_id == "order-1"


def test_a_duplicated_webhook_comes_twice_with_one_id(fakepay_portone, endpoint):
    endpoint.secret = fakepay_portone.set_webhook(endpoint.url)["secret"]
    fakepay_portone.add_rule("duplicate", {"operation": "webhook", "type": "Transaction.Paid"}, times=1)

    fakepay_portone.checkout(fakepay_portone.secret("shop"), "order-1", order_name="노트북", total_amount=1500000)

    ready, paid, again = endpoint.wait_for(3)                # Transaction.Ready first: the window opened
    assert paid[0] == again[0] != ready[0]                   # your app must handle it once
    assert isinstance(again[1], WebhookTransactionPaid)


def test_a_badly_signed_webhook_is_refused_and_tried_again(fakepay_portone, endpoint):
    endpoint.secret = fakepay_portone.set_webhook(endpoint.url)["secret"]
    fakepay_portone.add_rule("bad_signature", {"operation": "webhook", "type": "Transaction.Paid"}, times=1)

    fakepay_portone.checkout(fakepay_portone.secret("shop"), "order-1", order_name="노트북", total_amount=1500000)

    entry = fakepay_portone.wait_for_webhook("Transaction.Paid", "order-1", outcome="retrying")
    assert (entry["status"], entry["response"]["attempt"]) == (400, 1)
    assert endpoint.received[-1][1].reason == "NO_MATCHING_SIGNATURE"

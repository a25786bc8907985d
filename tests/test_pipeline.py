"""The request path: routes as data matched on the raw path, and one front that answers the same
whether fakepay runs as a server (``Server``, ``FakePay``, ``fakepay serve``) or inside an
aiohttp ``Application`` (``create_app``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from fakepay import PaymentService, Server, create_app
from fakepay.dialects.ceos.models import InstantPaymentRequest
from fakepay.http.answers import MAX_BODY
from fakepay.http.routing import Route, Router

from .support import BODY, BODY_JSON, call, ceos, connect, exchange_async, raw_request, read_answer, scenario

REQUEST = InstantPaymentRequest(BODY["storeId"], BODY["orderName"], BODY["totalPayAmount"], BODY["currency"], None)


# -- the router, as data --------------------------------------------------------------------------

ROUTER = Router([
    Route("/payments/{paymentId}", {"GET": "get"}),
    Route("/payments/{paymentId}/instant", {"POST": "instant"}),
    Route("/payments/{paymentId}/cancel", {"POST": "cancel"}),
    Route("/a/{x}/b/{y}", {"DELETE": "two"}),
])


@pytest.mark.parametrize(("path", "template", "values"), [
    ("/payments/p1", "/payments/{paymentId}", ("p1",)),
    ("/payments/p%2F1", "/payments/{paymentId}", ("p%2F1",)),  # values stay raw: the caller decodes them
    ("/payments/p1/instant", "/payments/{paymentId}/instant", ("p1",)),
    ("/p%61yments/p1/cancel", "/payments/{paymentId}/cancel", ("p1",)),  # literals may be percent-encoded
    ("/payments/p1/inst%61nt", "/payments/{paymentId}/instant", ("p1",)),
    ("/a/1/b/2", "/a/{x}/b/{y}", ("1", "2")),
])
def test_a_path_finds_its_template_and_raw_values(path: str, template: str, values: tuple[str, ...]) -> None:
    found = ROUTER.find(path)
    assert found is not None
    assert (found[0].template, found[1]) == (template, values)


@pytest.mark.parametrize("path", [
    "/payments", "/payments/", "/payments//instant", "/payments/p1/", "/payments/p1/refund", "/Payments/p1",
    "//payments/p1", "/payments/p1/instant/x", "/a/1/b/", "*", "payments/p1",
])
def test_a_path_that_fits_no_template_finds_nothing(path: str) -> None:
    assert ROUTER.find(path) is None


def test_head_goes_where_get_goes_and_405_names_the_methods() -> None:
    route = Route("/x/{id}", {"GET": "read", "DELETE": "drop"})
    assert route.target("HEAD", "/x/1") == "read"
    assert route.allowed == ("DELETE", "GET", "HEAD")
    error = route.not_allowed("PUT", "/x/1")
    assert (error.status, error.allowed, error.message) == (
        405, ("DELETE", "GET", "HEAD"), "method PUT is not allowed on /x/1; allowed: DELETE, GET, HEAD")


# -- the same front, however fakepay runs -----------------------------------------------------------


def _service() -> PaymentService:
    return PaymentService(scenario(seed=1, clock={"frozen_at": "2025-10-22T20:21:35.5"}))


@pytest.fixture(params=["server", "application"])
async def url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A fakepay on a socket: run as ``Server`` (aiohttp's low-level server), or as the
    ``Application`` of ``create_app`` (as pytest-aiohttp users run it)."""
    if request.param == "server":
        server = Server(_service(), port=0)
        await server.start()
        yield server.url
        await server.stop()
    else:
        test_server = TestServer(create_app(_service()), host="127.0.0.1")
        await test_server.start_server()
        yield f"http://127.0.0.1:{test_server.port}"
        await test_server.close()


@pytest.mark.parametrize(("data", "status", "answer"), [
    (raw_request("POST", "/payments/p1/instant", BODY_JSON), 200, {"paymentId": "p1", "paidAt": "2025-10-22T20:21:35.5"}),
    (raw_request("GET", "/payments/nope"), 404, {"type": "PAYMENT_NOT_FOUND", "message": "payment 'nope' not found"}),
    (raw_request("OPTIONS", "*"), 404, {"type": "NOT_FOUND", "message": "no route for OPTIONS *"}),
    (raw_request("GET", "http://127.0.0.1"), 404, {"type": "NOT_FOUND", "message": "no route for GET /"}),
    (raw_request("GET", "http://127.0.0.1?/auth/alice"), 404, {"type": "NOT_FOUND", "message": "no route for GET /"}),
    (raw_request("POST", "http://127.0.0.1?owner=alice#/__fakepay/reset"), 404,
     {"type": "NOT_FOUND", "message": "no route for POST /"}),
    (raw_request("GET", "/payments/a%0Ab"), 400,
     {"type": "INVALID_REQUEST", "message": "path value 'a%0Ab' must not contain '/' or control characters"}),
    (raw_request("PUT", "/payments/p1"), 405,
     {"type": "METHOD_NOT_ALLOWED", "message": "method PUT is not allowed on /payments/p1; allowed: GET, HEAD"}),
    (raw_request("GET", "/__fakepay/health?probe=1"), 200, {"status": "ok"}),
    (raw_request("GET", "/__f%61kepay/health"), 200, {"status": "ok"}),  # a literal may be percent-encoded
    (raw_request("GET", "/%5F%5Ffakepay/nothing"), 404, {"type": "NOT_FOUND", "message": "no route for GET /%5F%5Ffakepay/nothing"}),
    (raw_request("GET", "/__fakepayx/health"), 404, {"type": "NOT_FOUND", "message": "no route for GET /__fakepayx/health"}),
    (raw_request("GET", "/__fakepay/state?x=1"), 400,
     {"type": "INVALID_REQUEST", "message": "unknown query parameter 'x'; known: owner, limit, offset"}),
])
async def test_every_way_of_running_answers_alike(url: str, data: bytes, status: int,
                                                  answer: dict[str, str]) -> None:
    got, headers, body = await exchange_async(url, data)
    assert (got, headers["content-type"], json.loads(body)) == (status, "application/json", answer)


async def test_a_client_that_expects_100_continue_is_told_to_send_its_body(url: str) -> None:
    reader, writer = await connect(url)
    try:
        writer.write(raw_request("POST", "/payments/e1/instant", headers={"Expect": "100-continue", "Content-Length": str(len(BODY_JSON))}))
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(BODY_JSON)
        status, _, body = await read_answer(reader)
    finally:
        writer.close()
    assert (status, json.loads(body)["paymentId"]) == (200, "e1")


async def test_a_body_sent_with_its_expect_header_is_answered_at_once(url: str) -> None:
    status, _, body = await exchange_async(url, raw_request("POST", "/payments/e2/instant", BODY_JSON, {"Expect": "100-continue"}))
    assert (status, json.loads(body)["paymentId"]) == (200, "e2")


async def test_a_lookup_answers_the_payment_as_it_is_now(url: str) -> None:
    """Answers are remembered per stored version of a payment, never past a change."""

    async def status_of(payment_id: str) -> tuple[int, str | None]:
        status, _, body = await exchange_async(url, raw_request("GET", f"/payments/{payment_id}"))
        return status, json.loads(body).get("paymentStatus")

    assert (await exchange_async(url, raw_request("POST", "/payments/c1/instant", BODY_JSON)))[0] == 200
    assert await status_of("c1") == (200, "PAID")
    assert (await exchange_async(url, raw_request("POST", "/payments/c1/cancel")))[0] == 200
    assert await status_of("c1") == (200, "CANCELLED")
    assert (await exchange_async(url, raw_request("POST", "/__fakepay/reset")))[0] == 200
    assert await status_of("c1") == (404, None)
    assert (await exchange_async(url, raw_request("POST", "/payments/c1/instant", BODY_JSON)))[0] == 200
    assert await status_of("c1") == (200, "PAID")


def _chunked(body: bytes, piece: int = 64 * 1024) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + piece]), body[i:i + piece]) for i in range(0, len(body), piece)) + b"0\r\n\r\n"


@pytest.mark.parametrize(("extra", "status"), [(0, 200), (1, 413)])
async def test_a_chunked_body_is_taken_up_to_1_mib(url: str, extra: int, status: int) -> None:
    empty = json.dumps({**BODY, "customData": ""}).encode()
    body = json.dumps({**BODY, "customData": "x" * (MAX_BODY - len(empty) + extra)}).encode()
    assert len(body) == MAX_BODY + extra
    head = raw_request("POST", "/payments/big/instant", headers={"Transfer-Encoding": "chunked"})
    reader, writer = await connect(url)
    try:
        writer.write(head)
        await writer.drain()
        await asyncio.sleep(0.05)  # the body follows its headers: it is waited for
        writer.write(_chunked(body))
        got, headers, answer = await read_answer(reader)
    finally:
        writer.close()
    assert (got, headers["content-type"]) == (status, "application/json")
    assert json.loads(answer) == ({"paymentId": "big", "paidAt": "2025-10-22T20:21:35.5"} if status == 200 else
                                  {"type": "PAYLOAD_TOO_LARGE", "message": "request body is larger than 1048576 bytes"})


def test_remembered_answers_are_bounded_and_stay_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fakepay.dialects.ceos.state.ANSWERS_KEPT", 2)
    service = _service()
    for payment_id in ("a", "b", "c"):
        ceos(service).pay("alice", payment_id, REQUEST)
    for payment_id in ("a", "b", "c", "a"):
        assert json.loads(_looked_up(service, payment_id))["paymentId"] == payment_id
        assert len(ceos(service)._answers) <= 2


async def test_a_refused_request_whose_body_was_never_sent_closes_its_connection(url: str) -> None:
    """A client waiting for 100 Continue that gets a final answer instead is told the connection
    closes, so that the body it may still send is never read as its next request."""
    reader, writer = await connect(url)
    try:
        writer.write(raw_request("POST", "/payments/e3/instant", headers={
            "Expect": "100-continue", "Authorization": "Bearer nobody", "Connection": "keep-alive", "Content-Length": str(len(BODY_JSON))}))
        status, headers, _ = await asyncio.wait_for(read_answer(reader), 5)
        assert (status, headers.get("connection")) == (401, "close")
        writer.write(BODY_JSON)  # sent anyway: taken as the rest of the refused request, not as a new one
        assert await asyncio.wait_for(reader.read(), 5) == b""  # no answer to it: the connection closes
    finally:
        writer.close()


def test_only_the_current_version_of_a_small_answer_is_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    service = _service()
    service.configure({"failure": {"rate": 1.0}})  # a failed id is paid again: a new version each time
    big = REQUEST._replace(custom_data="x" * 100_000)
    for request in (REQUEST, REQUEST, big, big):
        ceos(service).pay("alice", "same", request)
        answer = json.loads(_looked_up(service, "same"))
        assert answer["customData"] == request.custom_data
        assert len(ceos(service)._answers) <= 1
    assert ceos(service)._answers == {}  # a large answer is encoded each time, never kept


def _looked_up(service: PaymentService, payment_id: str) -> bytes:
    """The answer to a lookup of alice's ``payment_id``, as the API encodes it."""
    looked_up = call("get", payment_id, owner="alice")
    return service.dialect.operations["get"].encode(service.state, looked_up, service.decide(looked_up)).body

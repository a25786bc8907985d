"""Hostile input, through real sockets: every malformed request, control call, scenario and file
gets a clear 4xx (JSON wherever fakepay's code answers) or exit 2, never a 500, a hang or a
traceback, and afterwards the server answers normally with nothing it stored lost."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import socket
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakepay import FakePay, issue_secret
from fakepay.cli import main
from fakepay.core.rules import MAX_RULES
from fakepay.scenario import parse_scenario_bytes, patched

from .support import BODY, BODY_JSON, FAKEPAY, FROZEN, connect, exchange, raw_request, read_answer

SECRET = issue_secret("alice")
SENTINEL = {
    "paymentId": "sentinel",
    "paymentStatus": "PAID",
    "orderName": "노트북외 1건",
    "pgProvider": "CEOS_PAY",
    "currency": "KRW",
    "customData": None,
    "paidAt": FROZEN,
}
#: The server of every case: no random failures, a frozen clock, and one stored payment.
SCENARIO = {
    "failure": {"rate": 0}, "clock": {"frozen_at": FROZEN}, "seed": 1,
    "payments": [{"owner": "alice", "paymentId": "sentinel", "storeId": "store", "orderName": BODY["orderName"],
                  "totalPayAmount": BODY["totalPayAmount"], "currency": "KRW"}],
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePay]:
    with FakePay(scenario=SCENARIO) as fake:
        yield fake


@pytest.fixture(autouse=True)
def still_serving(fake: FakePay) -> Iterator[None]:
    """Before each case, the scenario's stored payment; after it, the server answers as usual and still has it."""
    fake.reset()
    yield
    status, _, body = exchange(fake.url, raw_request("GET", "/payments/sentinel"))
    assert (status, json.loads(body)) == (200, SENTINEL)
    status, _, body = exchange(fake.url, raw_request("POST", "/payments/after/instant", BODY_JSON))
    assert status == 200, body
    assert json.loads(body)["paymentId"] == "after"


def assert_json_error(status: int, headers: dict[str, str], body: bytes, expected: int, words: str = "") -> None:
    assert status == expected, body
    assert headers["content-type"] == "application/json"
    error = json.loads(body)
    assert list(error) == ["type", "message"]
    assert words.lower() in error["message"].lower(), error["message"]


# -- request bodies of an instant payment ---------------------------------------------------------

def _with(**changes: Any) -> bytes:
    return json.dumps({**BODY, **changes}).encode()


BAD_BODIES: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "empty"),
    "spaces": (b"   ", "empty"),
    "not json": (b"hello", "malformed JSON"),
    "truncated": (BODY_JSON[:-1], "malformed JSON"),
    "trailing garbage": (BODY_JSON + b"x", "malformed JSON"),
    "two objects": (BODY_JSON + BODY_JSON, "malformed JSON"),
    "NaN": (_with(totalPayAmount=0).replace(b"0", b"NaN"), "NaN"),
    "Infinity": (_with(totalPayAmount=0).replace(b"0", b"Infinity"), "Infinity"),
    "-Infinity": (_with(totalPayAmount=0).replace(b"0", b"-Infinity"), "Infinity"),
    "array": (b"[]", "JSON object"),
    "string": (b'"x"', "JSON object"),
    "number": (b"1", "JSON object"),
    "null": (b"null", "JSON object"),
    "true": (b"true", "JSON object"),
    "latin-1": (json.dumps({**BODY, "orderName": "café", "customData": "café"}, ensure_ascii=False).encode("latin-1"), "UTF-8"),
    "utf-16": (json.dumps(BODY).encode("utf-16"), "UTF-8"),
    "lone surrogate": (_with(orderName="\ud800"), "Unicode"),
    "lone surrogate in storeId": (_with(storeId="\udfff"), "Unicode"),
    "invalid utf-8 byte": (BODY_JSON.replace(b"my_store", b"my\xffstore"), "UTF-8"),
    "overlong utf-8": (BODY_JSON.replace(b"my_store", b"my\xc0\xafstore"), "UTF-8"),
    "deep arrays": (b"[" * 100_000 + b"]" * 100_000, "malformed JSON"),
    "deep objects": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "malformed JSON"),
    "huge integer": (_with(totalPayAmount=0).replace(b'"totalPayAmount": 0', b'"totalPayAmount": ' + b"9" * 5000), "malformed JSON"),
    "amount too big": (_with(totalPayAmount=2**31), "totalPayAmount"),
    "amount 2**64": (_with(totalPayAmount=2**64), "totalPayAmount"),
    "amount zero": (_with(totalPayAmount=0), "totalPayAmount"),
    "amount negative": (_with(totalPayAmount=-1), "totalPayAmount"),
    "amount float": (_with(totalPayAmount=1.5), "totalPayAmount"),
    "amount 100.0": (_with(totalPayAmount=100.0), "totalPayAmount"),
    "amount 1e3": (_with(totalPayAmount=0).replace(b'"totalPayAmount": 0', b'"totalPayAmount": 1e3'), "totalPayAmount"),
    "amount string": (_with(totalPayAmount="100"), "totalPayAmount"),
    "amount true": (_with(totalPayAmount=True), "totalPayAmount"),
    "amount null": (_with(totalPayAmount=None), "totalPayAmount"),
    "amount list": (_with(totalPayAmount=[1]), "totalPayAmount"),
    "amount object": (_with(totalPayAmount={"v": 1}), "totalPayAmount"),
    "currency EUR": (_with(currency="EUR"), "currency"),
    "currency lower": (_with(currency="krw"), "currency"),
    "currency long": (_with(currency="K" * 1_000_000), "currency"),
    "currency number": (_with(currency=410), "currency"),
    "currency null": (_with(currency=None), "currency"),
    "storeId blank": (_with(storeId="   "), "storeId"),
    "storeId empty": (_with(storeId=""), "storeId"),
    "storeId 201": (_with(storeId="s" * 201), "storeId"),
    "storeId 101 emoji": (_with(storeId="😀" * 101), "storeId"),
    "storeId number": (_with(storeId=1), "storeId"),
    "storeId list": (_with(storeId=["a"]), "storeId"),
    "orderName null": (_with(orderName=None), "orderName"),
    "orderName object": (_with(orderName={}), "orderName"),
    "orderName tab only": (_with(orderName="\t"), "orderName"),
    "customData number": (_with(customData=1), "customData"),
    "customData object": (_with(customData={"item": 1}), "customData"),
    "customData surrogate": (_with(customData="\ud83d"), "customData"),
    "all missing": (b"{}", "storeId"),
    "unknown only": (b'{"amount":1}', "storeId"),
    "BOM": (b"\xef\xbb\xbf" + BODY_JSON, "malformed JSON"),
    "NUL byte": (BODY_JSON[:-1] + b"\x00}", "malformed JSON"),
}


@pytest.mark.parametrize("body, words", list(BAD_BODIES.values()), ids=list(BAD_BODIES))
def test_a_bad_payment_body_is_a_json_400(fake: FakePay, body: bytes, words: str) -> None:
    assert_json_error(*exchange(fake.url, raw_request("POST", "/payments/p1/instant", body)), 400, words)
    assert fake.payment("alice", "p1") is None


ENCODINGS = {
    "gzip of json": ("gzip", gzip.compress(BODY_JSON)),
    "gzip of garbage": ("gzip", b"not gzip at all"),
    "deflate": ("deflate", zlib.compress(BODY_JSON)),
    "deflate garbage": ("deflate", b"\x00\x01\x02"),
    "br": ("br", b"\x0b\x02\x80"),
    "unknown": ("x-unknown", BODY_JSON),
    "two": ("gzip, deflate", BODY_JSON),
}


@pytest.mark.parametrize("operation", ["instant", "cancel"])
@pytest.mark.parametrize("encoding, body", list(ENCODINGS.values()), ids=list(ENCODINGS))
def test_a_compressed_body_is_a_json_400(fake: FakePay, operation: str, encoding: str, body: bytes) -> None:
    target = f"/payments/{'p1' if operation == 'instant' else 'sentinel'}/{operation}"
    answer = exchange(fake.url, raw_request("POST", target, body, {"Content-Encoding": encoding}))
    if operation == "cancel":  # a cancel takes no body: what it was sent only goes into the journal
        assert answer[0] == 200
        fake.reset()
    else:
        assert_json_error(*answer, 400, "compressed")


@pytest.mark.parametrize("path", ["/reset", "/config", "/payments", "/rules", "/clock", "/scenario"])
def test_a_compressed_control_body_is_a_json_400(fake: FakePay, path: str) -> None:
    method = {"/config": "PATCH", "/scenario": "PUT"}.get(path, "POST")
    answer = exchange(fake.url, raw_request(method, f"/__fakepay{path}", gzip.compress(b"{}"), {"Content-Encoding": "gzip"}))
    if path == "/reset":  # reset reads no body
        assert answer[0] == 200  # and the scenario's sentinel is back
    else:
        assert_json_error(*answer, 400, "compressed")


def test_a_body_of_one_mib_is_taken_and_one_byte_more_is_a_413(fake: FakePay) -> None:
    exact = BODY_JSON + b" " * (1024 * 1024 - len(BODY_JSON))
    assert exchange(fake.url, raw_request("POST", "/payments/exact/instant", exact))[0] == 200
    assert_json_error(*exchange(fake.url, raw_request("POST", "/payments/over/instant", exact + b" ")), 413, "larger than")
    assert fake.payment("alice", "over") is None


def test_warnings_for_unknown_fields_are_capped(fake: FakePay) -> None:
    body = {**BODY, **{f"extra{i}": i for i in range(50_000)}}
    status, _, _ = exchange(fake.url, raw_request("POST", "/payments/many/instant", json.dumps(body).encode()))
    assert status == 200
    [entry] = fake.requests(paymentId="many")
    assert entry["warnings"][:2] == ["unknown field 'extra0' ignored", "unknown field 'extra1' ignored"]
    assert entry["warnings"][10:] == ["and 49990 more unknown fields ignored"]


def test_an_unknown_field_with_a_huge_name_is_named_short(fake: FakePay) -> None:
    body = {**BODY, "x" * 500_000: 1}
    assert exchange(fake.url, raw_request("POST", "/payments/longname/instant", json.dumps(body).encode()))[0] == 200
    [entry] = fake.requests(paymentId="longname")
    assert entry["warnings"] == ["unknown field '" + "x" * 64 + "'… ignored"]


# -- paths ------------------------------------------------------------------------------------------

BAD_PATHS = {
    "bad escape": ("/payments/%ZZ/instant", "valid %XX"),
    "lone percent": ("/payments/%/instant", "valid %XX"),
    "short escape": ("/payments/a%4/instant", "valid %XX"),
    "invalid utf-8": ("/payments/%C3%28/instant", "UTF-8"),
    "overlong utf-8": ("/payments/%C0%AF/instant", "UTF-8"),
    "truncated utf-8": ("/payments/%E0%A4%A/instant", "valid %XX"),
    "surrogate utf-8": ("/payments/%ED%A0%80/instant", "UTF-8"),
    "encoded NUL": ("/payments/a%00b/instant", "control"),
    "encoded newline": ("/payments/a%0Ab/instant", "control"),
    "encoded escape": ("/payments/a%1B%5B31m/instant", "control"),
    "encoded DEL": ("/payments/a%7F/instant", "control"),
    "encoded C1": ("/payments/a%C2%85/instant", "control"),
    "encoded slash": ("/payments/a%2Fb/instant", "'/'"),
    "257 characters": ("/payments/" + "a" * 257 + "/instant", "1 to 256"),
    "257 encoded": ("/payments/" + "%EA%B0%80" * 257 + "/instant", "1 to 256"),
    "get bad escape": ("/payments/%ZZ", "valid %XX"),
    "cancel bad escape": ("/payments/%ZZ/cancel", "valid %XX"),
    "auth bad escape": ("/auth/%ZZ", "valid %XX"),
    "auth encoded slash": ("/auth/a%2Fb", "'/'"),
    "auth bad id": ("/auth/al%20ice", "githubId"),
    "auth encoded prefix, bad id": ("/%61uth/al%20ice", "githubId"),
}


@pytest.mark.parametrize("target, words", list(BAD_PATHS.values()), ids=list(BAD_PATHS))
def test_a_bad_path_value_is_a_json_400(fake: FakePay, target: str, words: str) -> None:
    method = "GET" if "/instant" not in target and "/cancel" not in target else "POST"
    assert_json_error(*exchange(fake.url, raw_request(method, target, BODY_JSON if method == "POST" else b"")), 400, words)
    assert [p["paymentId"] for p in fake.payments("alice")] == ["sentinel"]


ODD_TARGETS = {
    "encoded first segment": ("/p%61yments/abc/instant", "abc"),
    "encoded last segment": ("/payments/abd/inst%61nt", "abd"),
    "absolute form": ("http://127.0.0.1/payments/abs1/instant", "abs1"),
    "absolute form with port": ("http://127.0.0.1:1/payments/abs2/instant", "abs2"),
    "absolute form https": ("https://example.test/payments/abs3/instant", "abs3"),
    "query string": ("/payments/q1/instant?x=1", "q1"),
    "encoded korean": ("/payments/%EA%B0%80/instant", "가"),
    "plus stays": ("/payments/a+b/instant", "a+b"),
}


@pytest.mark.parametrize("target, payment_id", list(ODD_TARGETS.values()), ids=list(ODD_TARGETS))
def test_a_path_value_is_taken_from_where_the_route_matched(fake: FakePay, target: str, payment_id: str) -> None:
    status, _, body = exchange(fake.url, raw_request("POST", target, BODY_JSON))
    assert (status, json.loads(body)["paymentId"]) == (200, payment_id)
    assert fake.payment("alice", payment_id) is not None


def test_auth_with_an_encoded_prefix_names_the_right_github_id(fake: FakePay) -> None:
    status, _, body = exchange(fake.url, raw_request("GET", "/%61uth/alice", owner=None))
    assert (status, body.decode()) == (200, SECRET)


# -- malformed HTTP, answered by aiohttp before fakepay ------------------------------------------------

MALFORMED = {
    "header over 8 KiB": raw_request("GET", "/payments/sentinel", headers={"X-Big": "a" * 9000}),
    "raw NUL in path": b"GET /payments/a\x00b HTTP/1.1\r\nHost: x\r\n\r\n",
    "raw space in path": b"GET /payments/a b/x HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad chunk size": raw_request("POST", "/payments/c1/instant", headers={"Transfer-Encoding": "chunked"}) + b"ZZ\r\nxx\r\n0\r\n\r\n",
    "bad Content-Length": raw_request("POST", "/payments/c2/instant", headers={"Content-Length": "abc"}),
    "negative Content-Length": raw_request("POST", "/payments/c3/instant", headers={"Content-Length": "-1"}),
    "two Content-Lengths": raw_request("POST", "/payments/c4/instant", headers={"Content-Length": "1"}).replace(
        b"Content-Length: 1\r\n", b"Content-Length: 1\r\nContent-Length: 2\r\n"),
    "length and chunked": raw_request("POST", "/payments/c5/instant", headers={"Content-Length": "5", "Transfer-Encoding": "chunked"}),
    "bad request line": b"HELLO\r\n\r\n",
    "bad version": b"GET /payments/sentinel HTTP/9.9\r\nHost: x\r\n\r\n",
    "header without colon": b"GET /payments/sentinel HTTP/1.1\r\nHost x\r\n\r\n",
    "space before colon": b"GET /payments/sentinel HTTP/1.1\r\nHost : x\r\n\r\n",
    "bare LF in header": b"GET /payments/sentinel HTTP/1.1\r\nHost: x\rY: z\r\n\r\n",
    "request line over 8 KiB": f"GET /payments/{'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
    "too many headers": b"GET /payments/sentinel HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n",
}


@pytest.mark.parametrize("data", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_http_is_a_4xx_and_no_traceback(fake: FakePay, data: bytes) -> None:
    status, _, _ = exchange(fake.url, data)
    assert 400 <= status < 500


def test_a_body_that_stops_is_answered_400_and_journaled(fake: FakePay, monkeypatch: pytest.MonkeyPatch) -> None:
    from fakepay.http import answers as responses

    monkeypatch.setattr(responses, "BODY_TIMEOUT", 0.3)
    head = raw_request("POST", "/payments/stalled/instant", headers={"Transfer-Encoding": "chunked"})
    # Then nothing more, as after a malformed chunk. The answer comes at once (aiohttp then waits
    # 10 s for the rest of the body before it closes the connection: the answer is read by its length).
    answer = exchange(fake.url, head + b"5\r\n{\"sto\r\n", timeout=2)
    assert_json_error(*answer, 400, "not complete")
    [entry] = fake.requests(paymentId="stalled")
    assert (entry["status"], entry["outcome"]) == (400, "rejected")
    assert fake.payment("alice", "stalled") is None


# -- a body announced with Expect: 100-continue and never sent --------------------------------------

WAITING_FOR_CONTINUE = {
    "lookup": ("GET", "/payments/sentinel", 200),
    "auth": ("GET", "/auth/alice", 200),
    "state": ("GET", "/__fakepay/state", 200),
    "health": ("GET", "/__fakepay/health", 200),
    "unknown route": ("GET", "/nothing", 404),
    "refused payment": ("POST", "/payments/x/instant", 415),
}


@pytest.mark.parametrize("method, target, expected", list(WAITING_FOR_CONTINUE.values()), ids=list(WAITING_FOR_CONTINUE))
async def test_an_answer_before_a_body_that_waits_for_100_continue_closes_the_connection(
        fake: FakePay, method: str, target: str, expected: int) -> None:
    """The client may send the next request instead of the body: it must never be read as the body."""
    waiting = raw_request(method, target, headers={"Expect": "100-continue", "Content-Length": "300", "Connection": None,
                                                   "Content-Type": "text/plain"})
    reader, writer = await connect(fake.url)
    try:
        writer.write(waiting)
        status, headers, _ = await asyncio.wait_for(read_answer(reader), 2)
        assert (status, headers.get("connection")) == (expected, "close")
        writer.write(raw_request("GET", "/payments/sentinel", headers={"Connection": None}))
        assert await asyncio.wait_for(reader.read(), 2) == b""  # closed after the answer: the next request is not read
    finally:
        writer.close()


# -- clients that leave before their answer --------------------------------------------------------

def leave(fake: FakePay, data: bytes) -> None:
    """Send ``data`` and close the connection at once, as a client that gives up."""
    host, port = fake.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(data)


def journaled(fake: FakePay, payment_id: str) -> dict[str, Any]:
    """The one journal entry of ``payment_id``, once the server has written it."""
    deadline = time.monotonic() + 10
    while not (entries := fake.requests(paymentId=payment_id)):
        assert time.monotonic() < deadline, "the request was never journaled"
        time.sleep(0.02)
    [entry] = entries
    return entry


def logged(caplog: pytest.LogCaptureFixture, words: str) -> list[logging.LogRecord]:
    """fakepay's log records that contain ``words``, once there is one."""
    deadline = time.monotonic() + 10
    while not (records := [r for r in caplog.records if r.name == "fakepay" and words in r.getMessage()]):
        assert time.monotonic() < deadline, f"nothing logged with {words!r}"
        time.sleep(0.02)
    return records


def assert_no_bug_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.exc_info or "bug" in r.getMessage()] == []


GIVE_UP = {
    "whole request, while held by latency": raw_request("POST", "/payments/left/instant", BODY_JSON),
    "Expect: 100-continue, no body": raw_request("POST", "/payments/left/instant", headers={
        "Expect": "100-continue", "Content-Length": str(len(BODY_JSON))}),
    "half a body": raw_request("POST", "/payments/left/instant", headers={
        "Content-Length": str(len(BODY_JSON))}) + BODY_JSON[:20],
    "half a chunked body": raw_request("POST", "/payments/left/instant", headers={
        "Transfer-Encoding": "chunked"}) + b"14\r\n" + BODY_JSON[:20] + b"\r\n",
    "cancel, Expect: 100-continue": raw_request("POST", "/payments/sentinel/cancel", headers={
        "Expect": "100-continue", "Content-Length": "2"}),
    "cancel, half a body": raw_request("POST", "/payments/sentinel/cancel", headers={"Content-Length": "2"}) + b"{",
    "lookup": raw_request("GET", "/payments/sentinel"),
}


@pytest.mark.parametrize("data", list(GIVE_UP.values()), ids=list(GIVE_UP))
def test_a_client_that_leaves_is_journaled_as_such_and_is_no_bug(data: bytes, caplog: pytest.LogCaptureFixture) -> None:
    # A server of its own: the log's limit of lines a second is not shared with the other cases.
    with FakePay(scenario=SCENARIO) as fake:
        fake.configure({"latency": {"fixed_ms": 200}})  # the client is gone before fakepay reads the request
        leave(fake, data)
        paid = "/payments/left/" in data.decode("latin-1")
        entry = journaled(fake, "left" if paid else "sentinel")
        assert (entry["status"], entry["response"], entry["outcome"]) == (None, None, "client_left")
        assert fake.payment("alice", "left") is None
        assert [p["status"] for p in fake.payments("alice")] == ["PAID"]  # nothing was carried out: the sentinel alone
        [line] = logged(caplog, "the client closed the connection before it was answered")
        assert line.getMessage() == f"request {entry['id']}: the client closed the connection before it was answered"
        assert_no_bug_logged(caplog)


def test_a_control_call_whose_client_leaves_is_no_bug(fake: FakePay, caplog: pytest.LogCaptureFixture) -> None:
    before = fake.state()
    leave(fake, raw_request("PATCH", "/__fakepay/config", headers={"Content-Length": "30"}) + b'{"failure":')
    [line] = logged(caplog, "the client closed the connection")
    assert line.getMessage() == "PATCH /__fakepay/config: the client closed the connection before it was answered"
    assert fake.state() == before
    assert_no_bug_logged(caplog)


def test_clients_that_leave_by_the_hundred_are_logged_a_few_lines_a_second(fake: FakePay,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    fake.configure({"latency": {"fixed_ms": 300}})
    for index in range(100):
        leave(fake, raw_request("GET", f"/payments/gone-{index}"))
    deadline = time.monotonic() + 10
    while len(fake.requests(path="/payments/gone-*")) < 100:
        assert time.monotonic() < deadline, "not every request was journaled"
        time.sleep(0.02)
    lines = [r.getMessage() for r in caplog.records if r.name == "fakepay"]
    assert 1 <= len(lines) <= 12, lines  # at most five a second, and one saying more were left out
    assert "more clients left this second; they are not logged" in lines
    assert_no_bug_logged(caplog)
    fake.reset()


# -- control calls --------------------------------------------------------------------------------

BAD_CONTROL = {
    "config deep": ("PATCH", "/config", b'{"failure":' * 700 + b"{}" + b"}" * 700, "nested deeper"),
    "config array": ("PATCH", "/config", b"[]", "JSON object"),
    "config duplicate keys": ("PATCH", "/config", b'{"seed":1,"seed":2}', "duplicate key"),
    "config unknown": ("PATCH", "/config", b'{"sed":1}', "unknown key"),
    "config rate 2": ("PATCH", "/config", b'{"failure":{"rate":2}}', "failure.rate"),
    "config rate string": ("PATCH", "/config", b'{"failure":{"rate":"0.5"}}', "failure.rate"),
    "config seed negative": ("PATCH", "/config", b'{"seed":-1}', "seed"),
    "config seed huge": ("PATCH", "/config", b'{"seed":' + b"9" * 4000 + b"}", "seed"),
    "config seed float": ("PATCH", "/config", b'{"seed":1.5}', "seed"),
    "config timezone": ("PATCH", "/config", b'{"clock":{"timezone":"Mars/Base"}}', "time zone"),
    "config timezone path": ("PATCH", "/config", b'{"clock":{"timezone":"../../etc/passwd"}}', "time zone"),
    "config frozen_at month 13": ("PATCH", "/config", b'{"clock":{"frozen_at":"2025-13-45T00:00:00"}}', "frozen_at"),
    "config frozen_at arabic digits": ("PATCH", "/config", '{"clock":{"frozen_at":"٢٠٢٥-10-22T20:21:35"}}'.encode(), "frozen_at"),
    "config frozen_at full-width": ("PATCH", "/config", '{"clock":{"frozen_at":"２０２５-10-22T20:21:35"}}'.encode(), "frozen_at"),
    "config NaN": ("PATCH", "/config", b'{"failure":{"rate":NaN}}', "NaN"),
    "config latency huge": ("PATCH", "/config", b'{"latency":{"fixed_ms":99999999999}}', "latency"),
    "config journal zero": ("PATCH", "/config", b'{"journal":{"max_entries":0}}', "max_entries"),
    "config name newline": ("PATCH", "/config", b'{"name":"a\\nb"}', "name"),
    "config name escape": ("PATCH", "/config", b'{"name":"\\u001b[31mred"}', "name"),
    "config name surrogate": ("PATCH", "/config", b'{"name":"\\ud800"}', "name"),
    "config not utf-8": ("PATCH", "/config", b'{"name":"\xff"}', "UTF-8"),
    "rule when false": ("POST", "/rules", b'{"when":false,"then":"fail"}', "when"),
    "rule when zero": ("POST", "/rules", b'{"when":0,"then":"fail"}', "when"),
    "rule when empty string": ("POST", "/rules", b'{"when":"","then":"fail"}', "when"),
    "rule when list": ("POST", "/rules", b'{"when":[],"then":"fail"}', "when"),
    "rule then unknown": ("POST", "/rules", b'{"then":"explode"}', "then"),
    "rule then missing": ("POST", "/rules", b'{"when":{}}', "then"),
    "rule then two": ("POST", "/rules", b'{"then":{"delay_ms":1,"status":500}}', "exactly one"),
    "rule times zero": ("POST", "/rules", b'{"then":"fail","times":0}', "times"),
    "rule times huge": ("POST", "/rules", b'{"then":"fail","times":' + b"9" * 30 + b"}", "times"),
    "rule status 600": ("POST", "/rules", b'{"then":{"status":600}}', "status"),
    "rule timeout negative": ("POST", "/rules", b'{"then":{"timeout_s":-1}}', "timeout_s"),
    "rule operation unknown": ("POST", "/rules", b'{"when":{"operation":"refund"},"then":"fail"}', "operation"),
    "rule deep body": ("POST", "/rules", b'{"then":{"status":500,"body":' + b"[" * 100 + b"]" * 100 + b"}}", "nested deeper"),
    "rule array": ("POST", "/rules", b"[]", "mapping"),
    "clock empty": ("POST", "/clock", b"{}", "freeze"),
    "clock advance huge": ("POST", "/clock", b'{"advance_ms":1e300}', "advance_ms"),
    "clock advance NaN": ("POST", "/clock", b'{"advance_ms":NaN}', "NaN"),
    "clock freeze bad": ("POST", "/clock", b'{"freeze":"yesterday"}', "freeze"),
    "clock freeze month 13": ("POST", "/clock", b'{"freeze":"2025-13-01T00:00:00"}', "freeze"),
    "clock freeze false": ("POST", "/clock", b'{"freeze":false}', "freeze"),
    "clock resume false": ("POST", "/clock", b'{"resume":false}', "resume"),
    "clock unknown": ("POST", "/clock", b'{"stop":true}', "unknown key"),
    "clock freeze then advance too far": ("POST", "/clock", b'{"freeze":"0001-01-01T00:00:00.5","advance_ms":-1000}', "leaves the years"),
    "payments empty object": ("POST", "/payments", b"{}", "required"),
    "payments bad status": ("POST", "/payments", b'{"owner":"alice","paymentId":"x","storeId":"s","orderName":"o",'
                            b'"totalPayAmount":1,"currency":"KRW","status":"LOST"}', "status"),
    "payments surrogate id": ("POST", "/payments", b'{"owner":"alice","paymentId":"\\ud800","storeId":"s","orderName":"o",'
                              b'"totalPayAmount":1,"currency":"KRW"}', "paymentId"),
    "payments slash id": ("POST", "/payments", b'{"owner":"alice","paymentId":"a/b","storeId":"s","orderName":"o",'
                          b'"totalPayAmount":1,"currency":"KRW"}', "paymentId"),
    "payments arabic paidAt": ("POST", "/payments", '{"owner":"alice","paymentId":"x","storeId":"s","orderName":"o",'
                               '"totalPayAmount":1,"currency":"KRW","paidAt":"٢٠٢٥-10-22T20:21:35"}'.encode(), "paidAt"),
    "payments duplicate keys": ("POST", "/payments", b'{"owner":"alice","owner":"bob"}', "duplicate key"),
    "payments deep": ("POST", "/payments", b"[" * 40 + b"]" * 40, "nested deeper"),
    "payments not json": ("POST", "/payments", b"owner=alice", "malformed JSON"),
    "scenario json duplicate keys": ("PUT", "/scenario", b'{"seed":1,"seed":2}', "duplicate key"),
    "rule glob too long": ("POST", "/rules", json.dumps({"when": {"paymentId": "[a" * 30000}, "then": "fail"}).encode(), "at most 256"),
    "config signing key surrogate": ("PATCH", "/config", b'{"auth":{"signing_key":"\\ud800"},"failure":{"rate":0.77}}', "printable"),
    "scenario json deep": ("PUT", "/scenario", b'{"a":' * 40 + b"1" + b"}" * 40, "nested deeper"),
}


@pytest.mark.parametrize("method, path, body, words", list(BAD_CONTROL.values()), ids=list(BAD_CONTROL))
def test_a_bad_control_call_is_a_json_400_and_changes_nothing(fake: FakePay, method: str, path: str, body: bytes,
                                                                  words: str) -> None:
    before = fake.state()
    assert_json_error(*exchange(fake.url, raw_request(method, f"/__fakepay{path}", body)), 400, words)
    assert fake.state() == before


BAD_QUERIES = {
    "limit superscript": ("GET", "/requests?limit=%C2%B2", "limit"),
    "limit arabic": ("GET", "/requests?limit=%D9%A3", "limit"),
    "limit 5000 digits": ("GET", "/requests?limit=" + "9" * 5000, "limit"),
    "limit zero": ("GET", "/requests?limit=0", "limit"),
    "limit negative": ("GET", "/requests?limit=-1", "limit"),
    "limit empty": ("GET", "/requests?limit=", "value"),
    "limit twice": ("GET", "/requests?limit=1&limit=2", "more than once"),
    "unknown filter": ("GET", "/requests?colour=red", "unknown query parameter"),
    "reset owner empty": ("POST", "/reset?owner=", "value"),
    "reset unknown": ("POST", "/reset?everything=1", "unknown query parameter"),
    "state owner empty": ("GET", "/state?owner=", "value"),
    "path filter too long": ("GET", "/requests?path=" + "%5Ba" * 200, "at most 256"),
    "rule id superscript": ("DELETE", "/rules/%C2%B2", "whole number"),
    "rule id full-width": ("DELETE", "/rules/%EF%BC%91", "whole number"),
    "rule id arabic": ("DELETE", "/rules/%D9%A1", "whole number"),
}


@pytest.mark.parametrize("method, target, words", list(BAD_QUERIES.values()), ids=list(BAD_QUERIES))
def test_a_bad_query_is_a_json_400_and_changes_nothing(fake: FakePay, method: str, target: str, words: str) -> None:
    before = fake.state()
    assert_json_error(*exchange(fake.url, raw_request(method, f"/__fakepay{target}")), 400, words)
    assert fake.state() == before


def test_rules_are_bounded_with_a_clear_error(fake: FakePay) -> None:
    rules = [{"when": {"owner": f"o{i}"}, "then": "fail"} for i in range(MAX_RULES)]
    fake.load_scenario({**SCENARIO, "rules": rules})
    try:
        assert_json_error(*exchange(fake.url, raw_request("POST", "/__fakepay/rules", b'{"then":"fail"}')), 409,
                          "1000 rules are in force already, the most fakepay keeps; delete some")
        assert len(fake.state()["rules"]) == MAX_RULES
        too_many = json.dumps({**SCENARIO, "rules": [*rules, {"then": "fail"}]}).encode()
        assert_json_error(*exchange(fake.url, raw_request("PUT", "/__fakepay/scenario", too_many)), 400,
                          "rules: at most 1000 rules, got 1001")
    finally:
        fake.load_scenario(SCENARIO)


def test_a_path_filter_over_long_journaled_paths_is_answered_at_once(fake: FakePay) -> None:
    import http.client
    import time
    from urllib.parse import quote

    host, port = fake.url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)

    def get(target: str) -> tuple[int, bytes]:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.read()

    for _ in range(1900):  # as many paths of 8,000 characters as the journal keeps
        assert get("/payments/" + "a" * 8000)[0] == 400
    started = time.perf_counter()
    assert get("/__fakepay/requests?path=" + quote("*" + "?" * 254 + "b")) == (200, b'{"requests":[]}')
    status, body = get("/__fakepay/requests?path=" + quote("*" + "?a" * 126 + "?b*"))
    assert_json_error(status, {"content-type": "application/json"}, body, 400,
                      "takes too long over the paths journaled (each place of a path is tried for its 254 characters")
    assert time.perf_counter() - started < 1  # it took 5 s when the glob was a regular expression
    status, body = get("/__fakepay/requests?limit=1&path=" + quote("/payments/a*"))
    assert status == 200 and len(json.loads(body)["requests"]) == 1
    connection.close()


def test_a_clock_cannot_be_run_out_of_years(fake: FakePay) -> None:
    fake.resume_time()
    century = 100 * 365 * 24 * 3600 * 1000  # the most one call may move the clock
    for _ in range(100):  # step by step towards the year 9999, as far as it lets a running clock go
        status, headers, body = exchange(fake.url, raw_request("POST", "/__fakepay/clock", json.dumps({"advance_ms": century}).encode()))
        if status != 200:
            break
    assert_json_error(status, headers, body, 400, "leaves the years 1 to 9998 (the clock is running)")
    assert fake.state()["clock"]["now"] > "9899"
    assert exchange(fake.url, raw_request("POST", "/payments/future/instant", BODY_JSON))[0] == 200
    fake.freeze_time("9999-12-31T23:59:59")  # frozen, the last second is fine, and stays
    assert exchange(fake.url, raw_request("POST", "/payments/late/instant", BODY_JSON))[0] == 200
    fake.freeze_time("2025-10-22T20:21:35.529482")


def test_the_control_token_is_compared_as_the_bytes_sent() -> None:
    with FakePay(control_token="s3cret?") as fake:
        wrong = raw_request("GET", "/__fakepay/state", owner=None, headers={"Authorization": "Bearer s3cret\udcff"})
        assert_json_error(*exchange(fake.url, wrong), 401, "control token")
        right = raw_request("GET", "/__fakepay/state", owner=None, headers={"Authorization": "Bearer s3cret?"})
        assert exchange(fake.url, right)[0] == 200
        # the autouse check needs the module's server: this one is separate
        assert exchange(fake.url, raw_request("GET", "/__fakepay/health"))[0] == 200


# -- the host a control call names: a web page on a name pointed at this machine (DNS rebinding) ---

def _port(fake: FakePay) -> str:
    return fake.url.rsplit(":", 1)[1]


def _as_page_of(host: str) -> dict[str, str]:
    """What a browser sends from a page of ``http://host``: that ``Host``, and that ``Origin`` on
    calls that change something."""
    return {"Host": host, "Origin": f"http://{host}"}


REBOUND_CALLS = {
    "reset": ("POST", "/reset", b""),
    "state": ("GET", "/state", b""),
    "secret": ("GET", "/secrets/alice", b""),
    "failure rate": ("PATCH", "/config", b'{"failure":{"rate":1}}'),
    "rule": ("POST", "/rules", b'{"then":"fail"}'),
    "scenario": ("POST", "/scenarios/always-fail", b""),
    "journal": ("GET", "/requests", b""),
    "events": ("GET", "/events", b""),
    "dashboard": ("GET", "/", b""),
    "dashboard script": ("GET", "/dashboard.js", b""),
    "no such call": ("GET", "/nothing", b""),
}


@pytest.mark.parametrize("method, path, body", list(REBOUND_CALLS.values()), ids=list(REBOUND_CALLS))
def test_a_control_call_to_another_host_name_is_a_json_403(fake: FakePay, method: str, path: str, body: bytes) -> None:
    before = fake.state()
    host = f"evil.example:{_port(fake)}"
    status, headers, answer = exchange(fake.url, raw_request(method, f"/__fakepay{path}", body, _as_page_of(host)))
    assert_json_error(status, headers, answer, 403, "--allow-host")
    assert json.loads(answer) == {
        "type": "FORBIDDEN",
        "message": "control calls to the host 'evil.example' are refused, so that a web page on a name pointed at "
                   "this machine cannot make them (DNS rebinding): use the address fakepay serves, localhost, or a "
                   "name allowed with --allow-host (FAKEPAY_ALLOW_HOST)",
    }
    assert fake.state() == before


@pytest.mark.parametrize("host", ["EVIL.example", "evil.example.", "evil.example", "localhost.evil.example",
                                  "127.0.0.1.nip.io", "localhost:80@evil.example", "xn--caf-dma.example",
                                  "evil.example:8080:1"])
def test_every_spelling_of_another_host_name_is_refused(fake: FakePay, host: str) -> None:
    assert_json_error(*exchange(fake.url, raw_request("GET", "/__fakepay/state", headers={"Host": host})), 403, "--allow-host")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:{port}", "127.8.9.10:{port}", "[::1]:{port}", "[::1]",
                                  "10.1.2.3:8080", "0.0.0.0:{port}", "localhost", "LocalHost:{port}", "localhost.",
                                  "app.localhost:{port}", "{machine}:{port}", "fakepay:8080", "docker", ""])
def test_a_control_call_to_an_address_localhost_or_this_machine_is_answered(fake: FakePay, host: str) -> None:
    host = host.format(port=_port(fake), machine=socket.gethostname())
    assert exchange(fake.url, raw_request("POST", "/__fakepay/reset", headers=_as_page_of(host)))[0] == 200


def test_a_control_call_without_a_host_is_answered(fake: FakePay) -> None:
    status, _, body = exchange(fake.url, b"GET /__fakepay/state HTTP/1.0\r\n\r\n")
    assert status == 200 and json.loads(body)["scenario"] == "default"


def test_health_and_the_public_api_answer_any_host_name(fake: FakePay) -> None:
    page = _as_page_of(f"evil.example:{_port(fake)}")
    assert exchange(fake.url, raw_request("GET", "/__fakepay/health", headers=page))[:1] == (200,)
    status, _, body = exchange(fake.url, raw_request("POST", "/payments/rebound/instant", BODY_JSON, page))
    assert status == 200 and json.loads(body)["paymentId"] == "rebound"


def test_allowed_host_names_are_answered() -> None:
    with FakePay(allow_hosts=["Fakepay.Test", ".corp.example"]) as other:
        for host in ("fakepay.test", "fakepay.test:8080", "corp.example", "ci.corp.example:1"):
            assert exchange(other.url, raw_request("POST", "/__fakepay/reset", headers=_as_page_of(host)))[0] == 200, host
        for host in ("evil.example", "fakepay.evil.example", "corp.example.evil", "xcorp.example"):
            assert exchange(other.url, raw_request("POST", "/__fakepay/reset", headers=_as_page_of(host)))[0] == 403, host
        # the autouse check needs the module's server: this one is separate
        assert exchange(other.url, raw_request("GET", "/__fakepay/health"))[0] == 200
    with FakePay(allow_hosts="*") as anyone:  # a text: names separated by commas, as FAKEPAY_ALLOW_HOST takes them
        assert exchange(anyone.url, raw_request("POST", "/__fakepay/reset", headers=_as_page_of("evil.example")))[0] == 200


def test_with_a_control_token_any_host_name_may_make_control_calls() -> None:
    with FakePay(control_token="t0ken") as protected:
        page = _as_page_of("evil.example")
        assert_json_error(*exchange(protected.url, raw_request("GET", "/__fakepay/state", headers=page)), 401, "control token")
        page["Authorization"] = "Bearer t0ken"
        assert exchange(protected.url, raw_request("GET", "/__fakepay/state", headers=page))[0] == 200


@pytest.mark.parametrize("names", [["evil.example:8080"], ["http://evil.example"], ["*.example"], ["a b"], [""],
                                   ["evil..example"], ["노트북.example"]])
def test_an_allowed_host_that_is_not_a_name_is_refused_at_once(names: list[str]) -> None:
    threads = threading.active_count()
    with pytest.raises(ValueError, match="an allowed host is a host name without a port"):
        FakePay(allow_hosts=names)
    assert threading.active_count() == threads


# -- scenarios: over HTTP, and as files on the command line -----------------------------------------

def _bomb(levels: int) -> str:
    lines = ["version: 1", "a0: &a0 [lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


BAD_SCENARIOS = {
    "alias bomb": (_bomb(8), "1:1", "more than 250000 values"),
    "alias bomb deeper": (_bomb(12), "1:1", "more than 250000 values"),
    "frozen_at month 13": ("clock: {frozen_at: 2025-13-45}\n", "1:20", "as a date"),
    "frozen_at Feb 30": ("clock:\n  frozen_at: 2025-02-30\n", "2:14", "as a date"),
    "bad date as key": ("2025-13-45: x\n", "1:1", "as a date"),
    "int abc": ("seed: !!int abc\n", "1:7", "as an integer"),
    "float x": ("seed: !!float x\n", "1:7", "as a number"),
    "bool maybe": ("seed: !!bool maybe\n", "1:7", "true or false"),
    "timestamp x": ("seed: !!timestamp x\n", "1:7", "as a date"),
    "hex seed 4000 digits": ("seed: 0x" + "f" * 4000 + "\n", "1:7", "16000 bits"),
    "decimal seed 5000 digits": ("seed: " + "9" * 5000 + "\n", "1:7", "as an integer"),
    "flow nesting 500": ("seed: " + "[" * 500 + "]" * 500 + "\n", "1:", "nested deeper"),
    "block nesting 100": ("".join(f"{'  ' * i}k{i}:\n" for i in range(100)), "64:127", "nested deeper"),
    "NUL": ("name: a\x00b\n", "1:8", "#x0000"),
    "control character": ("name: a\x01b\n", "1:8", "#x0001"),
    "name lone surrogate": ('name: "\\ud800"\n', "1:7", "printable"),
    "name newline": ('name: "a\\nb"\n', "1:7", "printable"),
    "name ANSI escape": ('name: "\\e[31mred"\n', "1:7", "printable"),
    "name too long": ("name: " + "n" * 101 + "\n", "1:7", "at most 100"),
    "version 1.0": ("version: 1.0\n", "1:10", "must be 1"),
    "version 2": ("version: 2\n", "1:10", "must be 1"),
    "version true": ("version: true\n", "1:10", "must be 1"),
    "when false": ("rules:\n  - when: false\n    then: fail\n", "2:11", "mapping"),
    "when zero": ("rules:\n  - when: 0\n    then: fail\n", "2:11", "mapping"),
    "when empty string": ("rules:\n  - when: ''\n    then: fail\n", "2:11", "mapping"),
    "when list": ("rules:\n  - when: []\n    then: fail\n", "2:11", "mapping"),
    "clock false": ("clock: false\n", "1:8", "mapping"),
    "failure zero": ("failure: 0\n", "1:10", "mapping"),
    "arabic digits": ("clock: {frozen_at: '٢٠٢٥-10-22T20:21:35'}\n", "1:20", "frozen_at"),
    "full-width digits": ("clock: {frozen_at: '２０２５-10-22T20:21:35'}\n", "1:20", "frozen_at"),
    "seeded surrogate id": ('payments:\n  - {owner: alice, paymentId: "\\ud800", storeId: s, orderName: o, '
                            "totalPayAmount: 1, currency: KRW}\n", "2:", "paymentId"),
    "duplicate keys": ("seed: 1\nseed: 2\n", "2:1", "duplicate key"),
    "tab indentation": ("clock:\n\tfrozen_at: x\n", "2:", ""),
    "unclosed flow": ("seed: [1, 2\n", "2:1", "expected ','"),
    "python tag": ("seed: !!python/object:os.system ls\n", "1:7", ""),
    "unknown tag": ("seed: !custom 1\n", "1:7", ""),
    "binary junk": ("seed: !!binary '%%%'\n", "1:7", ""),
    "a list": ("- 1\n- 2\n", "1:1", "mapping"),
    "a string": ("hello\n", "1:1", "mapping"),
    "only a comment": ("# nothing\n", "", "empty"),
    "two documents": ("seed: 1\n---\nseed: 2\n", "", ""),
    "alias inside its own anchor": ("name: x\nrules: &a [*a]\n", "2:8", "inside its own anchor"),
    "merge key inside its own anchor": ("a: &x {<<: *x}\n", "1:4", "inside its own anchor"),
    "signing key lone surrogate": ('auth:\n  signing_key: "\\ud800"\n', "2:16", "printable"),
    "signing key NUL": ('auth:\n  signing_key: "a\\0b"\n', "2:16", "printable"),
    "glob of 30,000 brackets": ("rules:\n  - when: {orderName: '" + "[a" * 30000 + "'}\n    then: fail\n", "2:23", "at most 256"),
    "NaN in a rule's body": ("rules:\n  - then: {status: 503, body: {x: .nan}}\n", "2:31", "plain JSON"),
    "infinity in a rule's body": ("rules:\n  - then: {status: 503, body: [.inf]}\n", "2:31", "plain JSON"),
}


@pytest.mark.parametrize("text, where, words", list(BAD_SCENARIOS.values()), ids=list(BAD_SCENARIOS))
def test_a_bad_scenario_is_a_json_400_with_its_position(fake: FakePay, text: str, where: str, words: str) -> None:
    before = fake.state()
    status, headers, body = exchange(fake.url, raw_request("PUT", "/__fakepay/scenario", text.encode("utf-8", "surrogatepass"),
                                                   {"Content-Type": "application/yaml"}))
    assert_json_error(status, headers, body, 400, words)
    assert f"<request>:{where}" in json.loads(body)["message"]
    assert fake.state() == before


def test_a_scenario_that_is_not_utf8_is_a_400_at_its_position(fake: FakePay) -> None:
    body = "name: 노트북\nseed: 1\n".encode("euc-kr")
    status, headers, answer = exchange(fake.url, raw_request("PUT", "/__fakepay/scenario", body, {"Content-Type": "application/yaml"}))
    assert_json_error(status, headers, answer, 400, "<request>:1:7: not valid UTF-8 (byte 0xb3)")


def test_anchors_and_aliases_of_normal_size_keep_working(fake: FakePay) -> None:
    text = "version: 1\nname: aliases\nfailure: &f {rate: 0}\nx-defaults: &d {storeId: s, orderName: o, totalPayAmount: 1, currency: KRW}\n"
    status, _, body = exchange(fake.url, raw_request("PUT", "/__fakepay/scenario", text.encode(), {"Content-Type": "application/yaml"}))
    assert status == 400 and "x-defaults: unknown key" in json.loads(body)["message"]
    text = "version: 1\nname: aliases\npayments:\n  - &p {owner: alice, paymentId: a1, storeId: s, orderName: o, totalPayAmount: 1, currency: KRW}\n"
    status, _, body = exchange(fake.url, raw_request("PUT", "/__fakepay/scenario", text.encode(), {"Content-Type": "application/yaml"}))
    assert status == 200, body
    fake.load_scenario(SCENARIO)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every bad scenario above as a file, and one that is not UTF-8 (written once for the module)."""
    tmp_path = tmp_path_factory.mktemp("scenarios")
    made = {}
    for index, (name, (text, _, _)) in enumerate(BAD_SCENARIOS.items()):
        made[name] = tmp_path / f"bad{index}.yaml"
        made[name].write_bytes(text.encode("utf-8", "surrogatepass"))
    made["not utf-8"] = tmp_path / "euc-kr.yaml"
    made["not utf-8"].write_bytes("name: 노트북\n".encode("euc-kr"))
    return made


@pytest.mark.parametrize("command", ["validate", "serve", "secret"])
@pytest.mark.parametrize("name", [*BAD_SCENARIOS, "not utf-8"])
def test_a_bad_scenario_file_is_a_message_and_exit_2(files: dict[str, Path], name: str, command: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = files[name]
    argv = {"validate": ["validate", str(path)], "serve": ["serve", "--port", "0", "--scenario", str(path)],
            "secret": ["secret", "alice", "--scenario", str(path)]}[command]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{path}:") and "Traceback" not in err


def test_the_cli_on_bad_files_prints_no_traceback_in_a_real_process(files: dict[str, Path]) -> None:
    result = subprocess.run([*FAKEPAY, "validate", *map(str, files.values())],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for path in files.values():
        assert f"{path}:" in result.stderr


def test_no_control_with_a_control_token_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--no-control", "--control-token", "t"]) == 2
    assert "contradict" in capsys.readouterr().err


def test_a_file_name_that_is_not_printable_is_shown_escaped(tmp_path: Path) -> None:
    path = tmp_path / "b\nc.yaml"
    path.write_text("seed: 1\n")
    from fakepay import load_scenario

    assert load_scenario(path).name == "'b\\nc'"


def test_a_journaled_body_nested_too_deep_to_write_back_is_shown_as_text(fake: FakePay) -> None:
    body = BODY_JSON[:-1] + b',"x":' + b"[" * 976 + b"]" * 976 + b"}"
    assert exchange(fake.url, raw_request("POST", "/payments/deep/instant", body))[0] == 200
    [entry] = fake.requests(paymentId="deep")
    assert entry["body"] == body.decode()


def test_a_merge_key_can_be_overridden(fake: FakePay) -> None:
    text = ("payments:\n  - &p {owner: alice, paymentId: m1, storeId: s, orderName: o, totalPayAmount: 1, currency: KRW}\n"
            "  - <<: *p\n    paymentId: m2\n")
    status, _, body = exchange(fake.url, raw_request("PUT", "/__fakepay/scenario", text.encode(), {"Content-Type": "application/yaml"}))
    assert status == 200, body
    assert [p["paymentId"] for p in fake.payments("alice")] == ["m1", "m2"]
    fake.load_scenario(SCENARIO)


def test_other_requests_are_answered_while_a_scenario_is_read(fake: FakePay, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large scenario takes seconds to read: here the read is held until the other requests are answered."""
    from fakepay.control import api as control

    reading, read = threading.Event(), threading.Event()

    def parse(data: bytes, source: str) -> Any:
        reading.set()
        read.wait(10)
        return parse_scenario_bytes(data, source)

    monkeypatch.setattr(control, "parse_scenario_bytes", parse)
    rows = "".join(f"  - {{owner: alice, paymentId: p{i}, storeId: s, orderName: o, totalPayAmount: 1, currency: KRW}}\n"
                   for i in range(100))
    answers: list[int] = []
    put = threading.Thread(target=lambda: answers.append(exchange(fake.url, raw_request(
        "PUT", "/__fakepay/scenario", f"payments:\n{rows}".encode(), {"Content-Type": "application/yaml"}))[0]))
    put.start()
    assert reading.wait(10)
    try:
        assert exchange(fake.url, raw_request("GET", "/__fakepay/health"), timeout=2)[0] == 200
        assert exchange(fake.url, raw_request("GET", "/payments/sentinel"), timeout=2)[0] == 200
    finally:
        read.set()
        put.join()
    assert answers == [200]
    assert len(fake.payments("alice")) == 100
    fake.load_scenario(SCENARIO)


def test_scenarios_sent_at_once_are_read_one_at_a_time(fake: FakePay, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from fakepay.control import api as control

    reading: list[int] = []
    lock = threading.Lock()

    def parse(data: bytes, source: str) -> Any:  # a read of a large scenario: it takes a while, and memory
        with lock:
            reading.append(reading[-1] + 1 if reading else 1)
        time.sleep(0.05)
        with lock:
            reading.append(reading[-1] - 1)
        return parse_scenario_bytes(data, source)

    monkeypatch.setattr(control, "parse_scenario_bytes", parse)
    text = ("payments: [" + "1," * 1000 + "1]\n").encode()
    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(exchange(fake.url, raw_request(
        "PUT", "/__fakepay/scenario", text, {"Content-Type": "application/yaml"}))[0])) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [400] * 8
    assert max(reading) == 1  # while one was read, the others waited (they took 1.4 GiB at once)


def test_a_long_file_name_gives_a_name_that_can_be_patched(tmp_path: Path) -> None:
    path = tmp_path / ("n" * 101 + ".yaml")
    path.write_text("failure: {rate: 0}\n")
    from fakepay import load_scenario

    scenario = load_scenario(path)
    assert scenario.name == "n" * 100
    assert patched(scenario, {"failure": {"rate": 0.5}}).failure.rate == 0.5


def test_a_scenario_with_many_problems_lists_the_first_hundred(fake: FakePay) -> None:
    text = "payments:\n" + "  - x\n" * 300
    status, headers, body = exchange(fake.url, raw_request("PUT", "/__fakepay/scenario", text.encode(), {"Content-Type": "application/yaml"}))
    assert_json_error(status, headers, body, 400, "… and 200 more problems")
    assert json.loads(body)["message"].count("must be a mapping") == 100


def test_a_scenario_of_too_many_values_is_refused_as_it_is_read(fake: FakePay, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the limit lowered from 250,000 (the alias bombs above meet that one), as reading to it takes seconds."""
    monkeypatch.setattr("fakepay.core.document.MAX_VALUES", 1000)
    text = "payments: [" + "1," * 1010 + "1]\n"
    status, headers, body = exchange(fake.url, raw_request("PUT", "/__fakepay/scenario", text.encode(), {"Content-Type": "application/yaml"}))
    assert_json_error(status, headers, body, 400, "more than 1000 values")
    assert len(body) < 1000


# -- PortOne V2 ---------------------------------------------------------------------------------

PORTONE = {"Authorization": "PortOne shop-secret"}
PORTONE_CARD = {"card": {"credential": {"number": "4242424242424242", "expiryYear": "30", "expiryMonth": "12"}}}
PORTONE_PAY = {"orderName": "노트북", "amount": {"total": 1000}, "currency": "KRW", "method": PORTONE_CARD}


@pytest.fixture(scope="module")
def portone() -> Iterator[FakePay]:
    scenario = {"api": "portone", "failure": {"rate": 0}, "clock": {"frozen_at": FROZEN}, "seed": 1, "payments": [
        {"owner": "shop-secret", "paymentId": "sentinel", "orderName": "노트북", "amount": {"total": 10000},
         "currency": "KRW"}]}
    with FakePay(scenario=scenario) as fake:
        yield fake


@pytest.fixture
def portone_intact(portone: FakePay) -> Iterator[FakePay]:
    """Before a case, the stored payment; after it, the server still has it whole and pays as usual."""
    portone.reset()
    status, _, before = exchange(portone.url, raw_request("GET", "/payments/sentinel", headers=PORTONE, owner=None))
    assert status == 200
    yield portone
    assert exchange(portone.url, raw_request("GET", "/payments/sentinel", headers=PORTONE, owner=None))[::2] == (200, before)
    paid = exchange(portone.url, raw_request("POST", "/payments/after/instant", json.dumps(PORTONE_PAY).encode(),
                                             PORTONE, owner=None))
    assert paid[0] == 200, paid


def assert_portone_error(answer: tuple[int, dict[str, str], bytes], expected: int, type_: str, words: str = "") -> None:
    status, headers, body = answer
    assert status == expected, body
    assert headers["content-type"] == "application/json"
    error = json.loads(body)
    assert (list(error), error["type"]) == (["type", "message"], type_)
    assert words.lower() in error["message"].lower(), error["message"]


def _portone_pay(**amount: Any) -> bytes:
    return json.dumps({**PORTONE_PAY, "amount": amount}).encode()


PORTONE_BAD = {  # method, target, body, status, type, words
    "requestBody not JSON": ("GET", "/payments?requestBody=%7Bbad", b"", 400, "INVALID_REQUEST", "malformed JSON"),
    "requestBody an array": ("GET", "/payments?requestBody=%5B%5D", b"", 400, "INVALID_REQUEST", "JSON object"),
    "requestBody twice": ("GET", "/payments?requestBody=%7B%7D&requestBody=%7B%7D", b"", 400, "INVALID_REQUEST",
                          "query parameter 'requestBody' is given more than once"),
    "page size 0": ("GET", "/payments?requestBody=%7B%22page%22%3A%7B%22size%22%3A0%7D%7D", b"", 400, "INVALID_REQUEST",
                    "page.size: must be an integer from 1 to 1000"),
    "page size huge": ("GET", "/payments?requestBody=%7B%22page%22%3A%7B%22size%22%3A1e100%7D%7D", b"", 400,
                       "INVALID_REQUEST", "page.size"),
    "page number negative": ("GET", "/payments?requestBody=%7B%22page%22%3A%7B%22number%22%3A-1%7D%7D", b"", 400,
                             "INVALID_REQUEST", "page.number"),
    "cursor size 0": ("GET", "/payments-by-cursor?requestBody=%7B%22size%22%3A0%7D", b"", 400, "INVALID_REQUEST", "size"),
    "cursor not given": ("GET", "/payments-by-cursor?requestBody=%7B%22cursor%22%3A%229%22%7D", b"", 400,
                         "INVALID_REQUEST", "cursor"),
    "body not JSON": ("POST", "/payments/p/instant", b"{", 400, "INVALID_REQUEST", "malformed JSON"),
    "body an array": ("POST", "/payments/p/instant", b"[]", 400, "INVALID_REQUEST", "JSON object"),
    "body a string": ("POST", "/payments/p/instant", b'"x"', 400, "INVALID_REQUEST", "JSON object"),
    "body null": ("POST", "/payments/p/instant", b"null", 400, "INVALID_REQUEST", "JSON object"),
    "body empty": ("POST", "/payments/p/instant", b"", 400, "INVALID_REQUEST", "empty"),
    "amount negative": ("POST", "/payments/p/instant", _portone_pay(total=-1), 400, "INVALID_REQUEST", "amount.total"),
    "amount huge": ("POST", "/payments/p/instant", _portone_pay(total=2**53), 400, "INVALID_REQUEST", "amount.total"),
    "amount 2**64": ("POST", "/payments/p/instant", _portone_pay(total=2**64), 400, "INVALID_REQUEST", "amount.total"),
    "amount float": ("POST", "/payments/p/instant", _portone_pay(total=1.5), 400, "INVALID_REQUEST", "amount.total"),
    "amount string": ("POST", "/payments/p/instant", _portone_pay(total="1000"), 400, "INVALID_REQUEST", "amount.total"),
    "amount NaN": ("POST", "/payments/p/instant", _portone_pay(total=0).replace(b": 0", b": NaN"), 400,
                   "INVALID_REQUEST", "NaN"),
    "taxFree negative": ("POST", "/payments/p/instant", _portone_pay(total=1, taxFree=-1), 400, "INVALID_REQUEST",
                         "amount.taxFree"),
    "amount not a mapping": ("POST", "/payments/p/instant", json.dumps({**PORTONE_PAY, "amount": 5}).encode(), 400,
                             "INVALID_REQUEST", "amount: must be a mapping"),
    "deep body": ("POST", "/payments/p/instant", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 400, "INVALID_REQUEST",
                  "malformed JSON"),
    "deep customData": ("POST", "/__fakepay/portone/checkout", b'{"owner":"shop-secret","paymentId":"p","orderName":"o",'
                        b'"totalAmount":1,"currency":"KRW","customData":' + b"[" * 5000 + b"]" * 5000 + b"}", 400,
                        "INVALID_REQUEST", "malformed JSON"),
    "cancel negative": ("POST", "/payments/sentinel/cancel", b'{"reason":"r","amount":-5}', 400, "INVALID_REQUEST", "amount"),
    "cancel float": ("POST", "/payments/sentinel/cancel", b'{"reason":"r","amount":1.5}', 400, "INVALID_REQUEST", "amount"),
    "cancel string": ("POST", "/payments/sentinel/cancel", b'{"reason":"r","amount":"5"}', 400, "INVALID_REQUEST", "amount"),
    "cancel huge": ("POST", "/payments/sentinel/cancel", b'{"reason":"r","amount":1' + b"0" * 30 + b"}", 400,
                    "INVALID_REQUEST", "amount"),
    "cancel over what is left": ("POST", "/payments/sentinel/cancel", b'{"reason":"r","amount":10001}', 409,
                                 "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT", "10000 is left"),
    "checkout amount negative": ("POST", "/__fakepay/portone/checkout", b'{"owner":"shop-secret","paymentId":"p",'
                                 b'"orderName":"o","totalAmount":-1,"currency":"KRW"}', 400, "INVALID_REQUEST", "totalAmount"),
    "NUL payment id": ("GET", "/payments/%00", b"", 400, "INVALID_REQUEST", "control characters"),
    "NUL billing key": ("DELETE", "/billing-keys/%00", b"", 400, "INVALID_REQUEST", "control characters"),
    "bad escape": ("POST", "/payments/%ZZ/cancel", b'{"reason":"r"}', 400, "INVALID_REQUEST", "%XX"),
    "unknown route": ("GET", "/payments/sentinel/nowhere", b"", 404, "NOT_FOUND", ""),
}


@pytest.mark.parametrize("method, target, body, status, type_, words", list(PORTONE_BAD.values()), ids=list(PORTONE_BAD))
def test_a_bad_portone_request_is_a_portone_json_error(portone_intact: FakePay, method: str, target: str, body: bytes,
                                                        status: int, type_: str, words: str) -> None:
    answer = exchange(portone_intact.url, raw_request(method, target, body, PORTONE, owner=None))
    assert_portone_error(answer, status, type_, words)
    assert [p["paymentId"] for p in portone_intact.payments("shop-secret")] == ["sentinel"]


PORTONE_BAD_AUTH = {
    "none": None,
    "empty secret": "PortOne ",
    "another scheme": "Basic c2hvcA==",
    "unprintable secret": "PortOne shop\u0085secret",
    "unknown token": "Bearer nope",
}


@pytest.mark.parametrize("authorization", list(PORTONE_BAD_AUTH.values()), ids=list(PORTONE_BAD_AUTH))
def test_bad_portone_credentials_are_a_json_401(portone_intact: FakePay, authorization: str | None) -> None:
    answer = exchange(portone_intact.url, raw_request("GET", "/payments/sentinel", headers={"Authorization": authorization},
                                                      owner=None))
    assert_portone_error(answer, 401, "UNAUTHORIZED")


@pytest.mark.parametrize("headers", [{"Authorization": "PortOne " + "s" * 20_000}, {"X-Huge": "x" * 20_000}],
                         ids=["huge secret", "huge header"])
def test_a_huge_portone_header_is_a_4xx(portone_intact: FakePay, headers: dict[str, str]) -> None:
    status, _, _ = exchange(portone_intact.url, raw_request("GET", "/payments/sentinel", headers=headers, owner=None))
    assert 400 <= status < 500


def test_a_portone_body_of_one_mib_is_taken_and_one_byte_more_is_a_413(portone_intact: FakePay) -> None:
    body = json.dumps(PORTONE_PAY).encode()
    exact = body + b" " * (1024 * 1024 - len(body))
    assert exchange(portone_intact.url, raw_request("POST", "/payments/exact/instant", exact, PORTONE, owner=None))[0] == 200
    over = exchange(portone_intact.url, raw_request("POST", "/payments/over/instant", exact + b" ", PORTONE, owner=None))
    assert_portone_error(over, 413, "PAYLOAD_TOO_LARGE", "larger than")
    assert portone_intact.payment("shop-secret", "over") is None

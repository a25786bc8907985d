"""The event stream: ``GET /__fakepay/events`` over real HTTP, and the publisher under it."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from typing import Any

import aiohttp
import pytest

from fakepay import PaymentService, Server, create_app
from fakepay.control import api as control_module
from fakepay.control import stream as events_module
from fakepay.control.stream import QUEUE_BYTES, QUEUE_LIMIT, Subscription
from fakepay.core.events import Event, Events
from fakepay.core.jsontext import dumps
from fakepay.core.rules import MAX_RULES

from .support import BODY, FROZEN, Api, Client, bearer, eventually, scenario, serving, subscribers


class Stream:
    """An open event stream, read one event at a time."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments: list[str] = []

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            line = (await asyncio.wait_for(self.response.content.readline(), timeout)).decode()
            if not line:
                raise EOFError("the stream ended")
            if line.startswith(":"):
                self.comments.append(line.strip())
            elif line.startswith("data: "):
                assert await self.response.content.readline() == b"\n"
                return json.loads(line[6:])  # type: ignore[no-any-return]

    async def types(self, count: int) -> list[str]:
        return [(await self.next())["type"] for _ in range(count)]


async def subscribe(client: Client, **headers: str) -> Stream:
    response = await client.get("/__fakepay/events", headers=headers)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    stream = Stream(response)
    assert await stream.next() == {"type": "ready"}
    return stream


async def test_public_api_calls_arrive_in_order_with_their_changes(client: Client, api: Api) -> None:
    stream = await subscribe(client)
    assert (await api.pay("p1")).status == 200
    assert (await api.cancel("p1")).status == 200
    assert (await api.get("p1")).status == 200
    paid = await stream.next()
    assert paid["type"] == "payment"
    assert paid["payment"] | {"paidAt": None} == {
        "owner": "alice", "paymentId": "p1", "storeId": "my_store_001", "orderName": "노트북외 1건",
        "totalPayAmount": 1500000, "currency": "KRW", "customData": BODY["customData"], "status": "PAID",
        "paidAt": None, "attempts": 1, "createdAt": FROZEN, "updatedAt": FROZEN,
    }
    instant = await stream.next()
    assert instant["type"] == "request"
    assert {k: instant["request"][k] for k in ("id", "operation", "owner", "status", "outcome", "body")} == {
        "id": 1, "operation": "instant", "owner": "alice", "status": 200, "outcome": "ok", "body": BODY,
    }
    cancelled = await stream.next()
    assert (cancelled["type"], cancelled["payment"]["status"]) == ("payment", "CANCELLED")
    assert [(e["type"], e["request"]["id"], e["request"]["operation"]) for e in [await stream.next(), await stream.next()]] == [
        ("request", 2, "cancel"), ("request", 3, "get"),
    ]
    journal = await api.control("GET", "/requests")
    assert [entry["id"] for entry in journal["requests"]] == [1, 2, 3]


async def test_control_changes_are_events(client: Client, api: Api) -> None:
    stream = await subscribe(client)
    await api.control("PATCH", "/config", json={"failure": {"rate": 0.5}})
    config = await stream.next()
    assert (config["type"], config["config"]["failure"]["rate"]) == ("config", 0.5)
    await api.control("POST", "/rules", json={"when": {"operation": "instant"}, "then": "fail", "times": 1})
    assert await stream.next() == {"type": "rule", "rule": {
        "id": 1, "when": {"operation": "instant"}, "then": "fail", "times": 1, "remaining": 1,
    }}
    assert (await api.pay("p1")).status == 500
    used, paid, request = [await stream.next() for _ in range(3)]
    assert (used["type"], used["rule"]["id"], used["rule"]["remaining"]) == ("rule", 1, 0)
    assert (paid["type"], request["type"]) == ("payment", "request")
    await api.control("POST", "/rules", json={"then": "succeed"})
    assert (await stream.next())["rule"]["id"] == 2
    await api.control("DELETE", "/rules/1")
    assert await stream.next() == {"type": "rule_deleted", "id": 1}
    await api.control("DELETE", "/rules")
    assert await stream.next() == {"type": "rules", "rules": []}
    await api.control("POST", "/clock", json={"advance_ms": 1000})
    assert await stream.next() == {"type": "clock", "clock": {
        "now": "2025-10-22T20:21:36.529482", "frozen": True, "timezone": "Asia/Seoul",
    }}
    await api.control("POST", "/payments", json={"owner": "bob", "paymentId": "s1", "storeId": "s",
                                                  "orderName": "시드", "totalPayAmount": 1, "currency": "KRW"})
    seeded = await stream.next()
    assert (seeded["type"], seeded["payment"]["orderName"]) == ("payment", "시드")
    await api.control("POST", "/reset", params={"owner": "bob"})
    assert [await stream.next(), await stream.next()] == [
        {"type": "requests_cleared", "owner": "bob"}, {"type": "reset", "owner": "bob"},
    ]
    await api.control("DELETE", "/requests")
    assert await stream.next() == {"type": "requests_cleared", "owner": None}
    await api.control("PUT", "/scenario", json={"name": "next", "seed": 3})
    assert await stream.types(3) == ["requests_cleared", "reset", "scenario"]


async def test_a_rule_used_is_published_alone_however_many_are_in_force(aiohttp_client: Any) -> None:
    others = [{"when": {"owner": f"o{i}"}, "then": "fail"} for i in range(MAX_RULES - 1)]
    rules = [*others, {"when": {"operation": "instant"}, "then": "succeed", "times": 5}]
    client = await aiohttp_client(create_app(PaymentService(scenario(rules=rules))))
    stream = await subscribe(client)
    assert (await Api(client).pay("p1")).status == 200
    assert await stream.next() == {"type": "rule", "rule": {
        "id": MAX_RULES, "when": {"operation": "instant"}, "then": "succeed", "times": 5, "remaining": 4,
    }}
    assert await stream.types(2) == ["payment", "request"]


async def test_a_scenario_load_names_it_and_its_seed(client: Client, api: Api) -> None:
    stream = await subscribe(client)
    await api.control("PUT", "/scenario", json={"name": "next", "seed": 3})
    await stream.types(2)
    assert await stream.next() == {"type": "scenario", "scenario": "next", "seed": 3}


async def test_many_subscribers_each_get_every_event(client: Client, api: Api, service: PaymentService) -> None:
    streams = [await subscribe(client) for _ in range(20)]
    assert len(subscribers(service)) == 20
    await api.pay("p1")
    for stream in streams:
        assert await stream.types(2) == ["payment", "request"]
    for stream in streams[:10]:
        stream.response.close()
    await api.pay("p2")  # the closed streams fail to write and unsubscribe
    await asyncio.sleep(0.1)
    await api.pay("p3")
    for stream in streams[10:]:
        assert await stream.types(4) == ["payment", "request", "payment", "request"]
    assert len(subscribers(service)) == 10


async def test_the_stream_needs_the_control_token(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(PaymentService(scenario()), control_token="tok"))
    refused = await client.get("/__fakepay/events")
    assert refused.status == 401
    assert (await refused.json())["type"] == "UNAUTHORIZED"
    await subscribe(client, Authorization="Bearer tok")


async def test_head_answers_the_headers_without_subscribing(client: Client, service: PaymentService) -> None:
    response = await client.head("/__fakepay/events")
    assert (response.status, response.headers["Content-Type"]) == (200, "text/event-stream; charset=utf-8")
    assert subscribers(service) == []


async def test_an_idle_stream_gets_keep_alive_comments(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control_module, "KEEP_ALIVE_S", 0.05)
    stream = await subscribe(client)
    await asyncio.sleep(0.2)
    await Api(client).pay("p1")
    assert await stream.types(2) == ["payment", "request"]
    assert stream.comments and set(stream.comments) == {": keep-alive"}


async def test_nobody_listening_publishes_nothing(api: Api, service: PaymentService, monkeypatch: pytest.MonkeyPatch) -> None:
    published: list[Event] = []
    monkeypatch.setattr(Events, "publish", lambda self, event: published.append(event))
    await api.pay("p1")
    await api.control("POST", "/reset")
    assert published == []


# -- a subscriber that stops reading -------------------------------------------------------------


def test_a_full_queue_drops_and_says_so_once_in_place() -> None:
    subscription = Subscription(limit=3)
    for n in range(5):
        subscription.put(b"%d" % n)
    assert len(subscription) == 3
    subscription.put(b"late")  # still full: dropped too

    async def drain() -> list[list[bytes] | None]:
        got = [await subscription.get()]
        subscription.put(b"5")  # room again: the gap is told before it
        got += [await subscription.get(), await subscription.get(0.01)]
        subscription.put(b"6")
        subscription.close()
        return [*got, await subscription.get(), await subscription.get()]

    assert asyncio.run(drain()) == [
        [b"0", b"1", b"2"], [b'{"type":"dropped","count":3}', b"5"], [], [b"6"], None,
    ]


def test_a_gap_at_the_end_is_told_when_the_queue_is_empty() -> None:
    subscription = Subscription(limit=1)
    subscription.put(b"0")
    subscription.put(b"1")

    async def drain() -> list[list[bytes] | None]:
        return [await subscription.get(), await subscription.get()]

    assert asyncio.run(drain()) == [[b"0"], [b'{"type":"dropped","count":1}']]


async def test_a_stalled_subscriber_neither_blocks_the_api_nor_grows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_module, "QUEUE_LIMIT", 50)
    service = PaymentService(scenario())
    server = Server(service, "127.0.0.1", 0)
    await server.start()
    stalled = socket.socket()
    stalled.setblocking(False)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    try:
        await asyncio.get_running_loop().sock_connect(stalled, ("127.0.0.1", server.port))
        stalled.sendall(b"GET /__fakepay/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        while not subscribers(service):
            await asyncio.sleep(0.01)
        subscription = subscribers(service)[0]
        largest = 0
        statuses = []
        async with aiohttp.ClientSession(server.url, headers=bearer("alice")) as session:
            for n in range(1500):
                async with session.post(f"/payments/p{n}/instant", json={**BODY, "orderName": "x" * 200}) as response:
                    statuses.append(response.status)
                largest = max(largest, len(subscription))
        assert statuses == [200] * 1500
        assert largest <= 51  # the limit, and the one note of what was dropped
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        received = b""
        while b'{"type":"dropped"' not in received:  # reading again, the subscriber learns of the gap
            chunk = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(stalled, 65536), 5)
            assert chunk, received[-300:]
            received += chunk
        dropped = int(received.split(b'{"type":"dropped","count":')[1].split(b"}")[0])
        assert 0 < dropped < 1500 * 2
    finally:
        stalled.close()
        await server.stop()


# -- the server stopping ---------------------------------------------------------------------------


async def test_stopping_the_server_ends_the_stream() -> None:
    server = Server(PaymentService(scenario()), "127.0.0.1", 0)
    await server.start()
    async with aiohttp.ClientSession() as session, session.get(f"{server.url}/__fakepay/events") as response:
        stream = Stream(response)
        assert await stream.next() == {"type": "ready"}
        stopping = asyncio.ensure_future(server.stop())
        with pytest.raises(EOFError):
            await stream.next()
        await stopping
        assert response.content.is_eof()


def test_sigterm_ends_open_streams_and_exits_quietly() -> None:
    with serving() as (process, banner):
        streams = []
        for _ in range(3):
            connection = socket.create_connection(("127.0.0.1", int(banner.group(2))), timeout=5)
            connection.sendall(b"GET /__fakepay/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            streams.append(connection)
        received = [b""] * 3
        for i, connection in enumerate(streams):
            while b'{"type":"ready"}' not in received[i]:
                received[i] += connection.recv(4096)
        process.send_signal(signal.SIGTERM)
        for i, connection in enumerate(streams):
            while chunk := connection.recv(4096):
                received[i] += chunk
            assert received[i].endswith(b"\r\n0\r\n\r\n"), received[i]  # the chunked stream's proper end
            connection.close()
        assert process.wait(timeout=5) == 0
        assert process.stderr.read() == ""  # type: ignore[union-attr]


def test_a_queue_is_bounded_in_bytes_too() -> None:
    subscription = Subscription(QUEUE_LIMIT)
    for _ in range(20):
        subscription.put(dumps({"type": "payment", "customData": "x" * (QUEUE_BYTES // 8)}))
    assert len(subscription) < 8
    kept = asyncio.run(subscription.get(0))
    assert kept is not None and sum(map(len, kept)) <= QUEUE_BYTES
    subscription.put(dumps({"type": "payment", "customData": "small"}))
    kept = asyncio.run(subscription.get(0))
    assert kept is not None
    [dropped, small] = kept
    assert json.loads(dropped) == {"type": "dropped", "count": 20 - 7}
    assert json.loads(small)["customData"] == "small"


async def test_streams_beyond_the_limit_are_refused(aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control_module, "MAX_SUBSCRIBERS", 2)
    client = await aiohttp_client(create_app(PaymentService()))
    open_ = [await client.get("/__fakepay/events") for _ in range(2)]
    refused = await client.get("/__fakepay/events")
    assert (refused.status, (await refused.json())["type"]) == (503, "TOO_MANY_SUBSCRIBERS")
    for response in open_:
        response.close()


async def test_a_stream_whose_client_left_gives_its_place_up_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control_module, "MAX_SUBSCRIBERS", 3)
    service = PaymentService(scenario())
    server = Server(service, "127.0.0.1", 0)
    await server.start()
    try:
        async with aiohttp.ClientSession(server.url) as session:
            streams = [await session.get("/__fakepay/events") for _ in range(3)]
            for stream in streams:
                assert await stream.content.readline() == b'data: {"type":"ready"}\n'
            assert (await session.get("/__fakepay/events")).status == 503
            for stream in streams:
                stream.close()
            await eventually(lambda: not subscribers(service))  # not at the next keep-alive, 15 s on
            again = await session.get("/__fakepay/events")
            assert again.status == 200
            again.close()
    finally:
        await server.stop()


def test_stopping_the_handle_closes_a_stream_whose_reader_stalled() -> None:
    from fakepay import FakePay

    fake = FakePay(failure_rate=0).start()
    host, port = fake.url.removeprefix("http://").rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect((host, int(port)))
    sock.sendall(b"GET /__fakepay/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    for i in range(100):
        fake.seed_payment("alice", f"p{i}", custom_data="x" * 60_000)
    fake.stop()
    sock.settimeout(10)
    received = b""
    while chunk := sock.recv(1 << 20):  # what was sent, then the end: the server closed it
        received += chunk
    sock.close()
    assert received.startswith(b"HTTP/1.1 200")

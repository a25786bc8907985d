"""The event stream: ``GET /__fakepay/events`` over real HTTP, and the publisher under it."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
import pytest

from fakepay import PaymentService, Server, create_app
from fakepay.control import api as control_module
from fakepay.control import stream as events_module
from fakepay.control.stream import PAYMENTS_PER_BATCH, QUEUE_BYTES, QUEUE_LIMIT, REQUESTS_PER_BATCH, EventStream, Subscription
from fakepay.control.views import encode_entry, encode_event
from fakepay.core.calls import Answer, Call
from fakepay.core.errors import FakePayError
from fakepay.core.events import Event, Events, Journaled, PaymentChanged, RuleChanged
from fakepay.core.instance import Instance
from fakepay.core.jsontext import dumps
from fakepay.core.rules import MAX_RULES
from fakepay.dialects.ceos.models import InstantPaymentRequest
from fakepay.scenario import parse_rule

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


def put(subscription: Subscription, *events: bytes) -> None:
    subscription.put(events, sum(map(len, events)))


def dropped(count: int) -> bytes:
    return b'data: {"type":"dropped","count":%d}\n\n' % count


def test_a_full_queue_drops_and_says_so_once_in_place() -> None:
    subscription = Subscription(limit=3)
    put(subscription, b"0", b"1")
    put(subscription, b"2", b"3", b"4")  # one fits
    assert len(subscription) == 3
    put(subscription, b"late")  # still full: dropped too

    async def drain() -> list[list[bytes] | None]:
        got = [await subscription.get()]
        put(subscription, b"5")  # room again: the gap is told before it
        got += [await subscription.get(), await subscription.get(0.01)]
        put(subscription, b"6")
        subscription.close()
        return [*got, await subscription.get(), await subscription.get()]

    assert asyncio.run(drain()) == [
        [b"0", b"1", b"2"], [dropped(3), b"5"], [], [b"6"], None,
    ]


def test_a_gap_at_the_end_is_told_when_the_queue_is_empty() -> None:
    subscription = Subscription(limit=1)
    put(subscription, b"0")
    put(subscription, b"1")

    async def drain() -> list[list[bytes] | None]:
        return [await subscription.get(), await subscription.get()]

    assert asyncio.run(drain()) == [[b"0"], [dropped(1)]]


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
                async with session.post(f"/payments/p{n}/instant", json={**BODY, "customData": "x" * 4000}) as response:
                    statuses.append(response.status)
                largest = max(largest, len(subscription))
        assert statuses == [200] * 1500
        assert largest <= 51  # the limit, and the one note of what was dropped
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        received = b""
        while True:  # reading again, the subscriber gets what its queue kept, until the stream goes quiet
            try:
                chunk = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(stalled, 65536), 1)
            except asyncio.TimeoutError:
                break
            assert chunk, received[-300:]
            received += chunk
        # What it missed (left out of a batch, or dropped while its queue was full) is told, not lost silently.
        if received.count(b'{"type":"request"') < 1500:
            assert b'{"type":"skipped"' in received or b'{"type":"dropped"' in received
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
        put(subscription, dumps({"type": "payment", "customData": "x" * (QUEUE_BYTES // 8)}))
    assert len(subscription) < 8
    kept = asyncio.run(subscription.get(0))
    assert kept is not None and sum(map(len, kept)) <= QUEUE_BYTES
    put(subscription, dumps({"type": "payment", "customData": "small"}))
    kept = asyncio.run(subscription.get(0))
    assert kept is not None
    [gap, small] = kept
    assert gap == dropped(20 - 7)
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


# -- batches: bounded, coalesced, in order --------------------------------------------------------

REQUEST = InstantPaymentRequest(BODY["storeId"], BODY["orderName"], BODY["totalPayAmount"], BODY["currency"], None)


def answered(service: Instance, operation: str, payment_id: str, arrived: float | None = None) -> None:
    """A request of alice's, carried out and journaled as the pipeline does it (without HTTP)."""
    call = Call(service.journal.take_id(), time.time() if arrived is None else arrived, time.perf_counter(), "POST",
                f"/payments/{payment_id}/{operation}", operation, payment_id, owner="alice", request=REQUEST)
    try:
        decision = service.decide(call)
    except FakePayError as error:
        service.journal.record(call, Answer(error.status, b"{}", "rejected"))
    else:
        service.journal.record(call, Answer(200, b"{}", decision.outcome, decision.rule))


class Recorded(Subscription):
    """A subscription that keeps each batch it is given, as data."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.batches: list[list[dict[str, Any]]] = []

    def put(self, events: Sequence[bytes], size: int) -> None:
        self.batches.append([json.loads(event.removeprefix(b"data: ")) for event in events])
        super().put(events, size)

    def events(self) -> list[dict[str, Any]]:
        return [event for batch in self.batches for event in batch]

    def counted(self, kind: str) -> int:
        """The events of a kind (``request`` or ``payment``) sent, and those said to be skipped."""
        events = self.events()
        return sum(1 for event in events if event["type"] == kind) + sum(int(e[f"{kind}s"]) for e in events if e["type"] == "skipped")


def recorded(service: Instance, monkeypatch: pytest.MonkeyPatch) -> tuple[EventStream, Recorded]:
    monkeypatch.setattr(events_module, "Subscription", Recorded)
    stream = EventStream(service)
    subscription = stream.subscribe()
    assert isinstance(subscription, Recorded)
    return stream, subscription


def summary(event: dict[str, Any]) -> tuple[Any, ...]:
    if event["type"] == "request":
        return "request", event["request"]["id"]
    if event["type"] == "payment":
        return "payment", event["payment"]["paymentId"], event["payment"]["status"]
    if event["type"] == "rule":
        return "rule", event["rule"]["remaining"]
    return (event["type"],)


async def test_a_burst_sends_the_newest_requests_and_payments_and_counts_the_rest_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    service = PaymentService(scenario())
    stream, subscription = recorded(service, monkeypatch)
    started = time.time() // 1
    for chunk in range(10):
        for n in range(1000):  # without a turn of the loop: the batch is cut down as it comes
            number = chunk * 1000 + n
            payment = f"p{number - 1 if number % 3 == 2 else number}"  # every third pays one paid already: rejected
            answered(service, "instant", payment, arrived=started + number * 0.0013)
            assert len(stream) < events_module.PENDING_LIMIT
        await asyncio.sleep(events_module.BATCH_S)
    await eventually(lambda: subscription.counted("request") == 10_000)

    paid = requests = 0
    for batch in subscription.batches:
        kinds = [event["type"] for event in batch]
        assert kinds.count("request") <= REQUESTS_PER_BATCH and kinds.count("payment") <= PAYMENTS_PER_BATCH
        assert "skipped" not in kinds[1:]
        skipped: dict[str, Any] = batch[0] if kinds[0] == "skipped" else {"requests": 0, "payments": 0, "outcomes": []}
        assert skipped["requests"] == sum(group["count"] for group in skipped["outcomes"])
        sent = [event["request"]["id"] for event in batch if event["type"] == "request"]  # the newest: the older skipped
        assert sent == list(range(requests + skipped["requests"] + 1, requests + skipped["requests"] + 1 + len(sent)))
        requests += skipped["requests"] + len(sent)
        payments = [int(event["payment"]["paymentId"][1:]) for event in batch if event["type"] == "payment"]
        assert len(set(payments)) == len(payments) and payments == sorted(payments)
        paid += skipped["payments"] + len(payments)
    assert (requests, paid) == (10_000, 10_000 - 3333)

    by_second: Counter[tuple[str, str]] = Counter()  # the chart, from the stream
    for event in subscription.events():
        if event["type"] == "request":
            by_second[event["request"]["time"][:19], event["request"]["outcome"]] += 1
        elif event["type"] == "skipped":
            by_second.update({(group["time"], group["outcome"]): group["count"] for group in event["outcomes"]})
    journal = [json.loads(encode_entry(service, entry)) for entry in service.journal.entries()]
    assert by_second == Counter((entry["time"][:19], entry["outcome"]) for entry in journal)
    assert {outcome for _, outcome in by_second} == {"ok", "rejected"} and len({second for second, _ in by_second}) == 13


async def test_a_batch_sends_a_payment_or_a_rule_as_last_changed_but_never_past_a_control_event(
        monkeypatch: pytest.MonkeyPatch) -> None:
    service = PaymentService(scenario())
    stream, subscription = recorded(service, monkeypatch)
    service.policy.add_rule(parse_rule({"when": {"operation": "cancel"}, "then": "succeed", "times": 2}))
    answered(service, "instant", "p1")
    answered(service, "cancel", "p1")
    answered(service, "instant", "p2")
    service.move_clock(advance_ms=1000)
    answered(service, "cancel", "p2")
    answered(service, "instant", "p3")
    await eventually(lambda: not len(stream) and subscription.batches != [])
    [batch] = subscription.batches  # all of it came before the loop turned
    assert list(map(summary, batch)) == [
        ("request", 1), ("rule", 1), ("payment", "p1", "CANCELLED"), ("request", 2), ("payment", "p2", "PAID"), ("request", 3),
        ("clock",),
        ("rule", 0), ("payment", "p2", "CANCELLED"), ("request", 4), ("payment", "p3", "PAID"), ("request", 5),
    ]


async def test_control_events_all_come_in_order_and_nothing_crosses_one(monkeypatch: pytest.MonkeyPatch) -> None:
    service = PaymentService(scenario())
    _, subscription = recorded(service, monkeypatch)
    published: list[Event] = []
    service.events.listen(published.append)
    controls: list[Callable[[], object]] = [
        lambda: service.apply_config(service.config, ()),
        lambda: service.move_clock(advance_ms=1),
        lambda: service.policy.add_rule(parse_rule({"when": {"owner": "bob"}, "then": "fail"})),
        lambda: service.policy.delete_rule(service.policy.rules[-1].id),
        lambda: service.policy.add_rule(parse_rule({"when": {"operation": "cancel"}, "then": "succeed", "times": 9})),
        service.policy.clear_rules,
        lambda: service.journal.clear("bob"),
        lambda: service.reset("alice"),
        lambda: service.load(service.scenario),
    ]
    for step in range(3000):
        answered(service, "instant", f"p{step}")
        answered(service, "cancel", f"p{step}")
        if step % 37 == 0:
            controls[step // 37 % len(controls)]()
        if step % 400 == 0:
            await asyncio.sleep(events_module.BATCH_S)
    await eventually(lambda: subscription.counted("request") == 6000)

    others = (Journaled, PaymentChanged, RuleChanged)
    sent = [event["type"] for event in subscription.events() if event["type"] not in ("request", "payment", "rule", "skipped")]
    assert sent == [json.loads(encode_event(service, raw))["type"] for raw in published if not isinstance(raw, others)]
    assert len(sent) > 3000 // 37
    # Each request and payment's change comes after as many control events as had happened before it.
    happened: dict[tuple[Any, ...], int] = {}
    before = 0
    for raw in published:
        if isinstance(raw, Journaled):
            happened["request", raw.entry.id] = before
        elif isinstance(raw, PaymentChanged):
            happened["payment", raw.payment_id, raw.payment.status] = before
        elif not isinstance(raw, RuleChanged):
            before += 1
    came: dict[tuple[Any, ...], int] = {}
    before = 0
    for event in subscription.events():
        if event["type"] in ("request", "payment"):
            came[summary(event)] = before
        elif event["type"] not in ("rule", "skipped"):
            before += 1
    assert len(came) > 100 and {key: happened[key] for key in came} == came


async def test_a_flood_of_control_events_without_a_turn_of_the_loop_is_dropped_and_said(monkeypatch: pytest.MonkeyPatch) -> None:
    service = PaymentService(scenario())
    stream = EventStream(service)
    subscription = stream.subscribe()
    for _ in range(1500):
        service.move_clock(advance_ms=1)
        assert len(stream) < events_module.PENDING_LIMIT
    assert await subscription.get(5) == [dropped(events_module.PENDING_LIMIT)]
    batch = await subscription.get(5)
    assert batch is not None and [json.loads(event.removeprefix(b"data: "))["type"] for event in batch] == ["clock"] * 500
    stream.unsubscribe(subscription)


async def test_a_subscriber_gets_what_happens_after_it_subscribed(monkeypatch: pytest.MonkeyPatch) -> None:
    service = PaymentService(scenario())
    stream, first = recorded(service, monkeypatch)
    answered(service, "instant", "p1")
    second = stream.subscribe()
    assert isinstance(second, Recorded)
    answered(service, "instant", "p2")
    await eventually(lambda: first.counted("request") == 2 and second.counted("request") == 1)
    assert [summary(event) for event in second.events()] == [("payment", "p2", "PAID"), ("request", 2)]


async def test_a_hundred_subscribers_that_never_read_hold_a_bounded_queue_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_module, "QUEUE_LIMIT", 100)
    service = PaymentService(scenario())
    stream = EventStream(service)
    stalled = [stream.subscribe() for _ in range(100)]
    for n in range(20_000):
        answered(service, "instant", f"p{n}")
        if n % 500 == 0:
            await asyncio.sleep(events_module.BATCH_S)
    await eventually(lambda: not len(stream))
    await asyncio.sleep(events_module.BATCH_S * 2)
    assert {len(subscription) for subscription in stalled} == {100}
    batch = await stalled[0].get(0)
    assert batch is not None and len(batch) == 100
    [gap] = await stalled[0].get(0) or []
    assert gap.startswith(b'data: {"type":"dropped","count":')
    for subscription in stalled:
        stream.unsubscribe(subscription)
    assert service.events.listeners == []

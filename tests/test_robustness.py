"""What fakepay guarantees under load and faults: slow and idle sockets are closed, the journal
stays bounded, a journal file that fails and fakepay's own bugs are reported without failing
requests, bad connections are logged as short lines, and large states never hold the server up."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from pytest_aiohttp import AiohttpClient

from fakepay import PaymentService, Server, create_app
from fakepay.core.journal import MAX_BYTES
from fakepay.core.rules import Kind, Outcome, Rule, When

from .support import (
    BODY,
    BODY_JSON,
    Api,
    Client,
    bearer,
    connect,
    exchange,
    exchange_async,
    fetch,
    raw_request,
    read_answer,
    scenario,
    serving,
)


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


async def test_slow_and_idle_sockets_are_closed_while_requests_are_answered() -> None:
    server = Server(PaymentService(scenario()), "127.0.0.1", 0, idle_timeout=1.0)
    await server.start()
    try:
        slow = []
        for _ in range(300):  # slow-loris: headers begun, never finished
            reader, writer = await connect(server.url)
            writer.write(b"GET /payments/x HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append((reader, writer))
        async with aiohttp.ClientSession() as session:
            for i in range(5):
                async with session.post(f"{server.url}/payments/p{i}/instant", json=BODY, headers=bearer("alice"),
                                        timeout=aiohttp.ClientTimeout(total=5)) as response:
                    assert response.status == 200
            # the session's own connection is now idle: it goes too
        closed = await asyncio.gather(*(asyncio.wait_for(reader.read(), 5) for reader, _ in slow))
        assert closed == [b""] * 300
        for _, writer in slow:
            writer.close()
    finally:
        await server.stop()


async def test_an_idle_keep_alive_connection_is_closed() -> None:
    server = Server(PaymentService(scenario()), "127.0.0.1", 0, idle_timeout=0.5)
    await server.start()
    try:
        reader, writer = await connect(server.url)
        writer.write(raw_request("GET", "/__fakepay/health", headers={"Connection": None}))
        status, _, body = await asyncio.wait_for(read_answer(reader), 5)
        assert (status, body) == (200, b'{"status":"ok"}')
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server once idle
        writer.close()
    finally:
        await server.stop()


async def test_a_request_held_by_a_fault_is_not_cut_by_the_idle_timeout() -> None:
    service = PaymentService(scenario())
    server = Server(service, "127.0.0.1", 0, idle_timeout=0.5)
    await server.start()
    try:
        service.policy.add_rule(Rule(When(), Outcome(Kind.DELAY, delay_ms=2000)))
        async with aiohttp.ClientSession() as session, session.get(f"{server.url}/auth/alice") as response:
            assert response.status == 200
    finally:
        await server.stop()


async def test_an_app_run_by_aiohttp_keeps_nothing_of_connections_once_closed() -> None:
    runner = web.AppRunner(create_app(PaymentService(scenario())))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    health = raw_request("GET", "/__fakepay/health")

    def handlers() -> int:
        gc.collect()
        return sum(isinstance(thing, RequestHandler) for thing in gc.get_objects())

    before = handlers()  # what earlier tests in this process left
    try:
        for _ in range(3000):
            assert (await exchange_async(url, health)).status == 200
        kept = handlers() - before
        assert kept <= 1100, f"{kept} connections of 3000 are still held"  # a bounded few, not one per connection
    finally:
        await runner.cleanup()


async def test_the_journal_is_bounded_in_bytes(client: Client) -> None:
    api = Api(client)
    padded = {**BODY, "padding": "x" * 70_000}
    for i in range(300):
        assert (await api.pay(f"p{i}", body=padded)).status == 200
    entries = (await api.control("GET", "/requests"))["requests"]
    assert MAX_BYTES // (64 * 1024 + 1024) <= len(entries) < 300
    assert entries[-1]["params"]["paymentId"] == "p299"
    assert all(len(json.dumps(e["body"])) < 64 * 1024 + 100 for e in entries)


async def test_journal_ids_go_on_after_a_reset(api: Api) -> None:
    await api.get("a")
    await api.control("POST", "/reset")
    await api.get("b")
    [entry] = (await api.control("GET", "/requests"))["requests"]
    assert entry["id"] == 2


async def test_a_bug_answers_internal_error_and_is_logged_with_its_request_id(
    aiohttp_client: AiohttpClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = PaymentService(scenario())
    api = Api(await aiohttp_client(create_app(service)))

    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(service.state, "get", broken)
    with caplog.at_level(logging.ERROR, logger="fakepay"):
        response = await api.get("p1")
    assert response.status == 500
    [entry] = (await api.control("GET", "/requests"))["requests"]
    assert await response.json() == {
        "type": "INTERNAL_ERROR",
        "message": f"internal error in fakepay (request {entry['id']}); its traceback is in the server's log",
    }
    assert entry["outcome"] == "error"
    [record] = caplog.records
    assert record.getMessage() == f"bug in fakepay (request {entry['id']})"
    assert record.exc_info is not None and str(record.exc_info[1]) == "boom"


def test_a_journal_file_that_cannot_be_written_is_reported_once() -> None:
    with serving("--journal-file", "/dev/full", "--failure-rate", "0") as (process, banner):
        url = banner.group(1)
        secret = fetch(f"{url}/auth/alice")[1].decode()
        for i in range(5):
            status, body = fetch(f"{url}/payments/p{i}/instant", "POST", BODY_JSON,
                                 {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
            assert status == 200, body
        state = json.loads(fetch(f"{url}/__fakepay/state")[1])
        assert [p["status"] for p in state["payments"]] == ["PAID"] * 5
        process.terminate()
        assert process.wait(timeout=5) == 0
        errors = process.stderr.read().splitlines()  # type: ignore[union-attr]
    assert len(errors) == 1, errors
    assert errors[0].startswith("fakepay: cannot write the journal file ([Errno 28] No space left on device)")


def test_bad_connections_are_short_lines_in_the_log() -> None:
    with serving() as (process, banner):
        for _ in range(20):
            assert exchange(banner.group(1), b"GET /payments/a\x00b HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5).status == 400
        process.terminate()
        process.wait(timeout=5)
        lines = process.stderr.read().splitlines()  # type: ignore[union-attr]
    assert "Traceback" not in "\n".join(lines)
    assert all(line.startswith("fakepay: ") for line in lines), lines
    assert 6 <= len(lines) <= 6 * 3, lines  # 20 requests over at most 3 seconds: 5 lines and a notice a second
    assert "fakepay: more bad connections this second; they are not logged" in lines


def test_memory_stays_bounded_under_warning_heavy_requests() -> None:
    with serving("--failure-rate", "0") as (process, banner):
        url = banner.group(1)
        secret = fetch(f"{url}/auth/alice")[1].decode()
        body = json.dumps({**BODY, **{f"unknown{i}": i for i in range(45_000)}}).encode()
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        fetch(f"{url}/payments/warmup/instant", "POST", body, headers)
        before = rss_kib(process.pid)
        for i in range(40):
            assert fetch(f"{url}/payments/p{i}/instant", "POST", body, headers)[0] == 200
        grown_mib = (rss_kib(process.pid) - before) / 1024
        [entry] = json.loads(fetch(f"{url}/__fakepay/requests?paymentId=p0")[1])["requests"]
    assert len(entry["warnings"]) == 11
    assert grown_mib < 48, f"RSS grew {grown_mib:.0f} MiB over 40 requests"


#: A fakepay server with ``argv[1]`` payments of 100 owners, seeded in its own process (much faster
#: than through the control API); it prints its URL once serving.
MANY_PAYMENTS_SERVER = """
import asyncio, sys
from fakepay import PaymentService, Server, parse_scenario
from fakepay.dialects.ceos.scenario import SeedPayment
from fakepay.dialects.ceos.models import InstantPaymentRequest

async def main(count):
    service = PaymentService(parse_scenario({"version": 1, "failure": {"rate": 0}, "seed": 1}))
    service.state.add_payments(tuple(
        SeedPayment(f"owner{i % 100}", f"payment-{i}", InstantPaymentRequest("my_store_001", "order", 1000 + i, "KRW", None))
        for i in range(count)))
    server = Server(service, "127.0.0.1", 0)
    await server.start()
    print(server.url, flush=True)
    await asyncio.Event().wait()

asyncio.run(main(int(sys.argv[1])))
"""


def test_the_server_answers_while_large_states_are_written() -> None:
    """Three states of 100,000 payments asked at once (three dashboards, or a suite's checks):
    the health check is answered all along, each time within a second (it used to wait for
    every state to be written whole, seconds each)."""
    count = 100_000
    with subprocess.Popen([sys.executable, "-c", MANY_PAYMENTS_SERVER, str(count)], stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            waits = []
            with ThreadPoolExecutor(3) as pool:
                states = [pool.submit(fetch, f"{url}/__fakepay/state") for _ in range(3)]
                while not all(state.done() for state in states):
                    started = time.monotonic()
                    assert fetch(f"{url}/__fakepay/health") == (200, b'{"status":"ok"}')
                    waits.append(time.monotonic() - started)
            for state in states:
                status, body = state.result()
                assert status == 200
                payments = json.loads(body)["payments"]
                assert (len(payments), payments[0]["paymentId"], payments[-1]["paymentId"]) == (count, "payment-0", "payment-99999")
        finally:
            process.kill()
    assert max(waits) < 1.0, f"the health check waited {max(waits):.1f} s"

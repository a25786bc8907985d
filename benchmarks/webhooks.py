"""What PortOne's webhooks cost and whether they all arrive: payInstantly at a fixed rate for a
fixed time, each payment's ``Transaction.Paid`` sent to a local receiver in another process,
which counts every delivery by its ``webhook-id``; then none lost and none doubled, and the
API's p99 latency against a run without webhooks in the same session.

    python benchmarks/webhooks.py [--quick] [--rate 1000] [--seconds 10]

Needs what ``benchmarks/run.py`` needs (taskset; no wrk: the load is sent at a fixed rate from
here, so that a slow answer never slows the load down). fakepay runs on core 0, the load and the
receiver on core 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from run import CORES, PYTHON, fakepay_command, free_port, pinned, print_table, process

#: A webhook endpoint that answers 200 at once and counts what it got: ``GET /count`` tells.
RECEIVER = """
import collections, json, sys
from aiohttp import web

deliveries = collections.Counter()
paid = set()

async def hook(request):
    body = json.loads(await request.read())
    deliveries[request.headers["webhook-id"]] += 1
    if body["type"] == "Transaction.Paid":
        paid.add(body["data"]["paymentId"])
    return web.Response()

async def count(request):
    return web.json_response({"deliveries": sum(deliveries.values()), "messages": len(deliveries),
                              "doubled": sum(1 for n in deliveries.values() if n > 1), "paid": len(paid)})

app = web.Application()
app.router.add_post("/hooks", hook)
app.router.add_get("/count", count)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=lambda *_: print("ready", flush=True), access_log=None)
"""
PAY = {"method": {"card": {"credential": {"number": "4242424242424242", "expiryYear": "30", "expiryMonth": "12"}}},
       "orderName": "order", "amount": {"total": 1000}, "currency": "KRW"}
HEADERS = {"Authorization": "PortOne bench", "Content-Type": "application/json"}


@contextmanager
def receiver() -> Iterator[str]:
    """The receiver's URL, on core 1, until the block ends."""
    port = free_port()
    proc = subprocess.Popen(pinned(1, [PYTHON, "-c", RECEIVER, str(port)]), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait()


async def paying(port: int, rate: int, seconds: float, run: str) -> tuple[list[float], int]:
    """Pay ``rate`` payments a second for ``seconds``, each sent at its time whatever the answers
    before it; the latencies (ms) of those answered 200, and how many were not."""
    latencies: list[float] = []
    failed = 0
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", connector=connector) as session:
        body = json.dumps(PAY)

        async def pay(index: int) -> None:
            nonlocal failed
            started = time.perf_counter()
            async with session.post(f"/payments/{run}-{index}/instant", data=body, headers=HEADERS) as response:
                await response.read()
                if response.status == 200:
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    failed += 1

        total = int(rate * seconds)
        start = time.perf_counter()
        tasks = []
        for index in range(total):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(pay(index)))
        await asyncio.gather(*tasks)
    return latencies, failed


def counted(url: str) -> dict[str, int]:
    import urllib.request

    with urllib.request.urlopen(f"{url}/count", timeout=10) as response:
        return dict(json.loads(response.read()))


def drained(url: str, expected: int, patience: float = 60.0) -> tuple[dict[str, int], float]:
    """The receiver's counts once ``expected`` payments' webhooks arrived, or nothing came for
    ``patience`` seconds; and the seconds it waited."""
    started = time.perf_counter()
    last, still = counted(url), time.perf_counter()
    while last["paid"] < expected and time.perf_counter() - still < patience:
        time.sleep(0.2)
        now = counted(url)
        if now != last:
            last, still = now, time.perf_counter()
    time.sleep(1)  # what comes after the last one expected: a double
    return counted(url), time.perf_counter() - started


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 payments a second for 2 s (a smoke test, not figures)")
    parser.add_argument("--rate", type=int, default=1000, help="payments a second (default 1000)")
    parser.add_argument("--seconds", type=float, default=10, help="how long (default 10)")
    args = parser.parse_args()
    rate, seconds = (200, 2.0) if args.quick else (args.rate, args.seconds)
    if CORES >= 2 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {1})  # the load beside the receiver, never on fakepay's core
    expected = int(rate * seconds)
    rows = []
    with receiver() as url:
        results = {}
        for webhooks in (False, True):
            print(f"{rate}/s for {seconds:g} s, webhooks {'on' if webhooks else 'off'}", file=sys.stderr, flush=True)
            port = free_port()
            extra = ("--api", "portone", *(("--webhook-url", f"{url}/hooks") if webhooks else ()))
            with process(fakepay_command(port, *extra), port):
                sent = time.perf_counter()
                latencies, failed = asyncio.run(paying(port, rate, seconds, "on" if webhooks else "off"))
                elapsed = time.perf_counter() - sent
                results[webhooks] = (latencies, failed, elapsed)
                if webhooks:  # the only run that sends any
                    counts, waited = drained(url, expected)
        off, on = results[False], results[True]
        for name, (latencies, failed, elapsed) in (("without webhooks", off), ("with webhooks", on)):
            rows.append((f"payInstantly {name}", f"{len(latencies) / elapsed:,.0f}/s, p99 {p99(latencies):.1f} ms",
                         f"{expected:,} asked, {failed} not 200", f"p50 {statistics.median(latencies):.1f} ms"))
        rows.append(("p99 with / without webhooks", f"{p99(on[0]):.1f} ms", f"{p99(off[0]):.1f} ms",
                     f"{p99(on[0]) / p99(off[0]):.2f}x"))
        paid = counts["paid"]
        doubled = counts["doubled"]
        rows.append(("Transaction.Paid delivered once", f"{paid:,} of {expected:,}", f"{doubled} doubled",
                     f"lost {expected - paid}, drained {waited:.1f} s after the load"))
    print_table(rows)


if __name__ == "__main__":
    main()

"""What the event stream costs the public API: throughput with 0, 1 and 10 subscribers of
``GET /__fakepay/events`` reading along, measured in alternating runs of the same session; then
the CPU a request takes with none and one, in process without sockets (benchmarks/inprocess.py),
steadier on a shared machine.

    python benchmarks/events.py [--quick] [--rounds N] [--subscribers 1,10]

Needs what ``benchmarks/run.py`` needs (wrk, taskset). The subscribers run in one process on the
load generator's core and read every event as it comes, as a dashboard tab does.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import inprocess
from aiohttp import web
from run import PYTHON, fakepay_command, free_port, load, pinned, prepare, print_table, process, wrk

from fakepay import PaymentService, Server, parse_scenario

SUBSCRIBERS = """
import asyncio, sys

async def subscribe(port, ready):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /__fakepay/events HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n")
    seen = b""
    while b'{"type":"ready"}' not in seen:
        seen += await reader.read(65536)
    ready()
    while await reader.read(65536):
        pass

async def main(port, count):
    left = count
    def ready():
        nonlocal left
        left -= 1
        if not left:
            print("ready", flush=True)
    await asyncio.gather(*(subscribe(port, ready) for _ in range(count)))

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""


@contextmanager
def subscribers(port: int, count: int) -> Iterator[None]:
    """``count`` subscribers reading the event stream, until the block ends."""
    if not count:
        yield
        return
    proc = subprocess.Popen(pinned(1, [PYTHON, "-c", SUBSCRIBERS, str(port), str(count)]), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield
    finally:
        proc.terminate()
        proc.wait()


def measure(rounds: int, seconds: float, counts: tuple[int, ...]) -> dict[tuple[str, int], tuple[float, float]]:
    """Median requests per second and CPU microseconds per request, by operation and subscribers."""
    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for _ in range(rounds):
        for count in counts:
            port = free_port()
            with process(fakepay_command(port), port) as proc, subscribers(port, count):
                prepare(port)
                wrk(port, "/payments/p1", 1)  # warm-up
                results.setdefault(("get", count), []).append(load(proc, port, "/payments/p1", seconds))
                results.setdefault(("instant", count), []).append(load(proc, port, "/payments/x/instant", seconds, post=True))
    return {
        key: (statistics.median(r for r, _ in values), statistics.median(c for _, c in values))
        for key, values in results.items()
    }


async def in_process(rounds: int, count: int) -> dict[tuple[str, int], float]:
    """The least CPU microseconds a request took, by operation and subscribers (0 or 1: a
    connection of its own that asked for ``/__fakepay/events`` and takes what it is sent)."""
    fakepay = web.Server(Server(PaymentService(parse_scenario({"version": 1, "failure": {"rate": 0}, "seed": 1}))).front.handle,
                         access_log=None)
    await inprocess.per_request(fakepay, inprocess.post(payment_id="p1"), 1, "seed")
    best: dict[tuple[str, int], float] = {}
    for round_ in range(rounds):
        for subscribers in (0, 1):
            if subscribers:
                stream = fakepay()
                transport = inprocess.CountingTransport()
                stream.connection_made(transport)
                stream.data_received(b"GET /__fakepay/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                while not transport.writes:  # subscribed
                    await asyncio.sleep(0)
            for op, make in (("get", inprocess.get()), ("instant", inprocess.post())):
                started = time.process_time()
                await inprocess.per_request(fakepay, make, count, f"{round_}-{subscribers}")
                cpu = (time.process_time() - started) / count * 1e6
                best[(op, subscribers)] = min(best.get((op, subscribers), cpu), cpu)
            if subscribers:
                stream.connection_lost(None)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one short round (a smoke test, not figures)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--subscribers", default="1,10", help="the numbers of subscribers compared with none (default 1,10)")
    args = parser.parse_args()
    rounds, seconds = (1, 2) if args.quick else (args.rounds, 5)
    counts = (0, *map(int, args.subscribers.split(",")))
    print(f"{rounds} alternating rounds of {seconds} s per figure; medians", file=sys.stderr, flush=True)
    measured = measure(rounds, seconds, counts)
    rows = []
    for op, path in (("get", "GET /payments/{id}"), ("instant", "POST /payments/{id}/instant")):
        base, base_cpu = measured[(op, 0)]
        for count in counts[1:]:
            rate, cpu = measured[(op, count)]
            rows.append((f"{path}, {count} subscriber{'s' if count > 1 else ''}", f"{rate:,.0f} req/s, {cpu:.0f} us",
                         f"none: {base:,.0f} req/s, {base_cpu:.0f} us", f"{rate / base:.2f}, CPU {cpu / base_cpu:.2f}x"))
    cpus = asyncio.run(in_process(rounds + 2, 500 if args.quick else 3000))
    for op, path in (("get", "GET /payments/{id}"), ("instant", "POST /payments/{id}/instant")):
        rows.append((f"  {path} in process, 1 subscriber", f"{cpus[(op, 1)]:.1f} us", f"none: {cpus[(op, 0)]:.1f} us",
                     f"{cpus[(op, 0)] / cpus[(op, 1)]:.2f}, CPU {cpus[(op, 1)] / cpus[(op, 0)]:.2f}x"))
    print_table(rows)


if __name__ == "__main__":
    main()

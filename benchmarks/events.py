"""What the event stream costs the public API: throughput with 0, 1 and 10 subscribers of
``GET /__fakepay/events`` reading along, measured in alternating runs of the same session.

    python benchmarks/events.py [--quick]

Needs what ``benchmarks/run.py`` needs (wrk, taskset). The subscribers run in one process on the
load generator's core and read every event as it comes, as a dashboard tab does.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from run import PYTHON, fakepay_command, free_port, load, pinned, prepare, print_table, process, wrk

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one short round (a smoke test, not figures)")
    args = parser.parse_args()
    rounds, seconds = (1, 2) if args.quick else (5, 5)
    counts = (0, 1, 10)
    print(f"{rounds} alternating rounds of {seconds} s per figure; medians", file=sys.stderr, flush=True)
    measured = measure(rounds, seconds, counts)
    rows = []
    for op, path in (("get", "GET /payments/{id}"), ("instant", "POST /payments/{id}/instant")):
        base, base_cpu = measured[(op, 0)]
        for count in counts[1:]:
            rate, cpu = measured[(op, count)]
            rows.append((f"{path}, {count} subscriber{'s' if count > 1 else ''}", f"{rate:,.0f} req/s, {cpu:.0f} us",
                         f"none: {base:,.0f} req/s, {base_cpu:.0f} us", f"{rate / base:.2f}, CPU {cpu / base_cpu:.2f}x"))
    print_table(rows)


if __name__ == "__main__":
    main()

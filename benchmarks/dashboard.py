"""What a large store costs the dashboard and the server meanwhile: with N payments stored (200,000
by default), how long ``/__fakepay/health`` waits while snapshots are served, and how long the
dashboard page takes to render, and to show one new payment, in headless Chromium.

    python benchmarks/dashboard.py [--payments N]

Needs the ``test`` extra (Playwright) and Chromium at ``/usr/bin/chromium``. The server is pinned
to core 0 and the clients to core 1, as in ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import threading
import time
from collections.abc import Callable
from functools import partial
from http.client import HTTPConnection
from typing import TypeVar

from run import CORES, fakepay_command, free_port, http, print_table, process

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
#: Payments seeded by one ``POST /__fakepay/payments`` (its body stays under 1 MiB).
BATCH = 5000


def seed(port: int, count: int) -> None:
    """``count`` payments of 100 owners, seeded through the control API."""
    for start in range(0, count, BATCH):
        batch = [{"owner": f"owner{i % 100}", "paymentId": f"payment-{i}", "storeId": "my_store_001",
                  "orderName": "order", "totalPayAmount": 1000 + i, "currency": "KRW"}
                 for i in range(start, min(start + BATCH, count))]
        status, _ = http(port, "POST", "/__fakepay/payments", batch)
        assert status == 200


def health_while(port: int, work: Callable[[], T]) -> tuple[list[float], T]:
    """What ``work`` returns, and the latencies (ms) of ``/__fakepay/health``, asked one after
    another on one connection while it runs."""
    latencies: list[float] = []
    done = threading.Event()

    def poll() -> None:
        connection = HTTPConnection("127.0.0.1", port, timeout=120)
        while not done.is_set():
            started = time.perf_counter()
            connection.request("GET", "/__fakepay/health")
            connection.getresponse().read()
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.005)
        connection.close()

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        result = work()
    finally:
        done.set()
        poller.join()
    return latencies, result


def snapshots(port: int, path: str, times: int) -> tuple[list[float], int]:
    """Seconds each of ``times`` snapshots took, and the size of the last."""
    seconds: list[float] = []
    size = 0
    for _ in range(times):
        started = time.perf_counter()
        status, body = http(port, "GET", path)
        assert status == 200
        seconds.append(time.perf_counter() - started)
        size = len(body)
    return seconds, size


def page_figures(url: str, port: int) -> tuple[float, float]:
    """Seconds from opening the dashboard to its payments drawn, and from a payment to its row."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        started = time.perf_counter()
        page.goto(f"{url}/__fakepay/")
        page.locator("#connection", has_text="live").wait_for(timeout=600_000)
        page.locator("#payments-count", has_text=re.compile("[0-9]")).wait_for(timeout=600_000)
        rendered = time.perf_counter() - started
        started = time.perf_counter()
        status, _ = http(port, "POST", "/__fakepay/payments", {"owner": "owner0", "paymentId": "the-new-one", "storeId": "s",
                                                               "orderName": "o", "totalPayAmount": 1, "currency": "KRW"})
        assert status == 200
        page.locator("#payments td", has_text="the-new-one").wait_for(timeout=600_000)
        shown = time.perf_counter() - started
        browser.close()
    return rendered, shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=200_000, help="payments to store (default 200,000)")
    args = parser.parse_args()
    if CORES >= 2:
        os.sched_setaffinity(0, {1})  # this process and the browser it starts; the server runs on core 0
    port = free_port()
    rows: list[tuple[str, str, str, str]] = []

    def health_row(label: str, latencies: list[float], work: str) -> None:
        rows.append((f"health during {label}, p50 / max", f"{statistics.median(latencies):.1f} / {max(latencies):.1f} ms",
                     f"{len(latencies)}", work))

    with process(fakepay_command(port), port):
        seed(port, args.payments)
        for label, path in (("3 x GET /state", "/__fakepay/state"), ("3 x GET /state?limit=1000", "/__fakepay/state?limit=1000")):
            latencies, (seconds, size) = health_while(port, partial(snapshots, port, path, 3))
            health_row(label, latencies, f"each {statistics.median(seconds):.2f} s, {size:,} bytes")
        latencies, (rendered, shown) = health_while(port, lambda: page_figures(f"http://127.0.0.1:{port}", port))
        health_row("the dashboard's opening", latencies, f"opened to payments drawn: {rendered:.2f} s")
        rows.append(("dashboard: a payment seeded to its row", f"{shown:.2f} s", "", ""))
    print(f"{args.payments:,} payments stored")
    print_table(rows, ("what", "figure", "health answers", "the work"))

if __name__ == "__main__":
    main()

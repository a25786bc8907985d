"""fakepay's benchmarks (docs/performance.md), every comparison in one run against a baseline measured in the
same run, printed as a table of figures and ratios.

    python benchmarks/run.py [--quick]

Needs ``wrk`` (Debian/Ubuntu: ``apt-get install wrk``), Linux's ``taskset`` and the ``bench``
extra (``pip install ".[test,bench]"``). On a machine with two or more cores the server under test
is pinned to core 0 and every load generator to core 1, so that the load never starves the server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
BODY = {"storeId": "my_store_001", "orderName": "order", "totalPayAmount": 1000, "currency": "KRW"}
CORES = os.cpu_count() or 1


#: The phases of a full run, in order, as the progress lines name them.
PHASES = ("throughput", "in process", "latency", "start-up", "pytest suites", "reset", "stored payments", "soak")


def progress(phase: str, detail: str = "") -> None:
    """Say on stderr which phase runs now (the table goes to stdout at the end)."""
    step = PHASES.index(phase) + 1
    print(f"benchmarks: [{step}/{len(PHASES)}] {phase}{': ' + detail if detail else ''}", file=sys.stderr, flush=True)


def pinned(core: int, command: Sequence[str]) -> list[str]:
    if CORES < 2 or shutil.which("taskset") is None:
        return list(command)
    return ["taskset", "-c", str(core), *command]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(port: int, path: str = "/__fakepay/health", timeout: float = 30.0) -> float:
    """Poll until ``path`` answers 200; returns the time it happened (perf_counter)."""
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(request)
                if connection.recv(64).startswith(b"HTTP/1.1 200"):
                    return time.perf_counter()
        except OSError:
            time.sleep(0.002)
    raise RuntimeError(f"nothing answered on port {port}")


@contextmanager
def process(command: Sequence[str], port: int, core: int = 0, ready_path: str = "/__fakepay/health") -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(pinned(core, command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(port, ready_path, timeout=120)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stderr is not None
        proc.stderr.close()


def fakepay_command(port: int, *extra: str) -> list[str]:
    return [PYTHON, "-m", "fakepay", "serve", "--port", str(port), "--failure-rate", "0", "--seed", "1", *extra]


def bare_command(port: int) -> list[str]:
    return [PYTHON, str(HERE / "bare.py"), str(port)]


def parsing_command(port: int) -> list[str]:
    return [*bare_command(port), "--parse"]


def http(port: int, method: str, path: str, body: object = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def secret_header() -> dict[str, str]:
    from fakepay import issue_secret

    return {"Authorization": f"Bearer {issue_secret('alice')}", "Content-Type": "application/json"}


def prepare(port: int, headers: dict[str, str] | None = None) -> None:
    """Pay p1, as ``headers`` say (the default sandbox's secret unless given)."""
    status, _ = http(port, "POST", "/payments/p1/instant", BODY, headers or secret_header())
    assert status in (200, 409), status


def sandbox_header(port: int) -> dict[str, str]:
    """The headers of a request to a new sandbox, by its own secret (docs/sandboxes.md), once it holds p1."""
    status, made = http(port, "POST", "/__fakepay/sandboxes", {})
    assert status == 200, made
    status, secret = http(port, "GET", "/auth/alice", headers={"Fakepay-Sandbox": json.loads(made)["id"]})
    assert status == 200, secret
    headers = {"Authorization": f"Bearer {secret.decode()}", "Content-Type": "application/json"}
    prepare(port, headers)
    return headers


# -- throughput --------------------------------------------------------------------------------

INSTANT_LUA = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/payments/bench-" .. counter .. "/instant", nil, wrk.body)
end
"""


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(port: int, path: str, seconds: float, post: bool = False, headers: dict[str, str] | None = None) -> float:
    """Requests per second under wrk, each with ``headers`` (the default sandbox's secret unless given)."""
    headers = headers or secret_header()
    command = ["wrk", "-t1", "-c32", f"-d{seconds}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if post:
            script.write(f"wrk.method = 'POST'\nwrk.body = {json.dumps(json.dumps(BODY))}\n{INSTANT_LUA}")
        script_path = script.name
    command += ["-s", script_path, f"http://127.0.0.1:{port}{path}"]
    try:
        output = subprocess.run(pinned(1, command), capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script_path)
    errors = [line for line in output.splitlines() if "Non-2xx" in line or "Socket errors" in line]
    if errors:
        raise RuntimeError(f"wrk saw errors: {errors}")
    return float(next(line for line in output.splitlines() if line.startswith("Requests/sec:")).split()[1])


def load(proc: subprocess.Popen[bytes], port: int, path: str, seconds: float, post: bool = False,
         headers: dict[str, str] | None = None) -> tuple[float, float]:
    """Requests per second under wrk, and the server's CPU microseconds per request (steadier on a
    shared machine: it does not count the time the server waited for a CPU)."""
    before = cpu_seconds(proc.pid)
    rate = wrk(port, path, seconds, post, headers)
    return rate, (cpu_seconds(proc.pid) - before) / (rate * seconds) * 1e6


def throughput(rounds: int, seconds: float) -> dict[str, tuple[float, float]]:
    """Median requests per second and CPU microseconds per request of fakepay and of the bare
    apps, in alternating runs; and of fakepay's look-ups in a sandbox, alternating with those in
    the default sandbox in the same process."""
    results: dict[str, list[tuple[float, float]]] = {}
    for round_ in range(1, rounds + 1):
        progress("throughput", f"round {round_} of {rounds}, about {rounds * 6 * (seconds + 2):.0f} s in all")
        for name, command in (("bare", bare_command), ("parsing", parsing_command), ("fakepay", fakepay_command)):
            port = free_port()
            with process(command(port), port) as proc:
                looked_up: list[tuple[str, dict[str, str] | None]] = [] if name == "parsing" else [(f"get {name}", None)]
                if name == "fakepay":
                    prepare(port)
                    looked_up.append(("get sandbox", sandbox_header(port)))
                    if round_ % 2 == 0:  # each first in turn, so that neither is always measured on a warmer process
                        looked_up.reverse()
                wrk(port, "/payments/p1", 1)  # warm-up
                for key, headers in looked_up:
                    results.setdefault(key, []).append(load(proc, port, "/payments/p1", seconds, headers=headers))
                results.setdefault(f"instant {name}", []).append(load(proc, port, "/payments/x/instant", seconds, post=True))
    return {
        key: (statistics.median(r for r, _ in values), statistics.median(c for _, c in values))
        for key, values in results.items()
    }


#: The throughput fakepay aims at, as a share of the bare app's.
TARGETS = {"get": "1.0", "instant": "0.75"}
#: The throughput of look-ups in a sandbox fakepay aims at, as a share of those in the default one.
SANDBOX_TARGET = "0.95"
#: The throughput of PortOne's getPayment and payInstantly fakepay aims at, as a share of CEOS's get and instant.
PORTONE_TARGET = "0.85"


def in_process(rounds: int, count: int) -> dict[str, float]:
    """Microseconds per request of both servers through the whole aiohttp stack without sockets
    (benchmarks/inprocess.py, on the server's core)."""
    command = pinned(0, [PYTHON, str(HERE / "inprocess.py"), str(rounds), str(count)])
    result: dict[str, float] = json.loads(subprocess.run(command, capture_output=True, text=True, check=True, cwd=HERE).stdout)
    return result


# -- latency at a steady rate ------------------------------------------------------------------

LATENCY_CLIENT = """
import asyncio, json, sys, time
import aiohttp

async def main(url, rate, seconds, headers):
    latencies = []
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        async def one(due):
            async with session.get(url) as response:
                await response.read()
                assert response.status == 200, response.status
            latencies.append(time.perf_counter() - due)
        for _ in range(200):
            await one(time.perf_counter())
        latencies.clear()
        start = time.perf_counter()
        tasks = []
        for i in range(int(rate * seconds)):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(due)))
        await asyncio.gather(*tasks)
    print(json.dumps(latencies))

asyncio.run(main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])))
"""


def latency(port: int, rate: float, seconds: float) -> tuple[float, float]:
    """p50 and p99 in ms of GET /payments/p1 at a steady ``rate``, open loop (measured from when
    each request was due, so a stall is not hidden)."""
    command = [PYTHON, "-c", LATENCY_CLIENT, f"http://127.0.0.1:{port}/payments/p1", str(rate), str(seconds), json.dumps(secret_header())]
    samples = sorted(json.loads(subprocess.run(pinned(1, command), capture_output=True, text=True, check=True).stdout))
    return samples[len(samples) // 2] * 1000, samples[int(len(samples) * 0.99)] * 1000


# -- start-up ----------------------------------------------------------------------------------


def startup(command: Sequence[str], port: int, path: str) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(pinned(0, command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return wait_ready(port, path) - started
    finally:
        proc.terminate()
        proc.wait()


def startups(rounds: int) -> tuple[float, float]:
    fakepay, bare = [], []
    for _ in range(rounds):
        port = free_port()
        fakepay.append(startup([PYTHON, "-m", "fakepay", "serve", "--port", str(port)], port, "/__fakepay/health"))
        port = free_port()
        bare.append(startup(bare_command(port), port, "/__fakepay/health"))
    return statistics.median(fakepay), statistics.median(bare)


# -- a 500-test pytest suite ---------------------------------------------------------------------

FAKEPAY_SUITE = """
import pytest, requests

BODY = {body}

@pytest.mark.parametrize("n", range(500))
def test_pay_and_look_up(fakepay, n):
    headers = {{"Authorization": "Bearer " + fakepay.secret("alice")}}
    assert requests.post(f"{{fakepay.url}}/payments/p{{n}}/instant", json=BODY, headers=headers).status_code == 200
    assert requests.get(f"{{fakepay.url}}/payments/p{{n}}", headers=headers).json()["paymentStatus"] == "PAID"
"""

HTTPSERVER_SUITE = """
import pytest, requests

BODY = {body}

@pytest.mark.parametrize("n", range(500))
def test_pay_and_look_up(httpserver, n):
    headers = {{"Authorization": "Bearer secret"}}
    httpserver.expect_request(f"/payments/p{{n}}/instant", method="POST").respond_with_json(
        {{"paymentId": f"p{{n}}", "paidAt": "2025-10-22T20:21:35.529482"}})
    httpserver.expect_request(f"/payments/p{{n}}", method="GET").respond_with_json(
        {{"paymentId": f"p{{n}}", "paymentStatus": "PAID", "orderName": "order", "pgProvider": "CEOS_PAY",
          "currency": "KRW", "customData": None, "paidAt": "2025-10-22T20:21:35.529482"}})
    assert requests.post(httpserver.url_for(f"/payments/p{{n}}/instant"), json=BODY, headers=headers).status_code == 200
    assert requests.get(httpserver.url_for(f"/payments/p{{n}}"), headers=headers).json()["paymentStatus"] == "PAID"
"""


def pytest_suites(rounds: int) -> tuple[float, float]:
    times: dict[str, list[float]] = {"fakepay": [], "httpserver": []}
    with tempfile.TemporaryDirectory() as folder:
        for name, suite in (("fakepay", FAKEPAY_SUITE), ("httpserver", HTTPSERVER_SUITE)):
            Path(folder, f"test_{name}.py").write_text(suite.format(body=BODY))
        Path(folder, "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
        for _ in range(rounds):
            for name in times:
                started = time.perf_counter()
                result = subprocess.run(
                    pinned(0, [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"test_{name}.py"]),
                    cwd=folder, capture_output=True, text=True,
                )
                times[name].append(time.perf_counter() - started)
                if "500 passed" not in result.stdout:
                    raise RuntimeError(f"the {name} suite failed:\n{result.stdout[-2000:]}")
    return statistics.median(times["fakepay"]), statistics.median(times["httpserver"])


# -- a million payments, and a soak --------------------------------------------------------------

BIG_SERVER = """
import asyncio, gc, sys, time
from fakepay import PaymentService, Server, parse_scenario
from fakepay.dialects.ceos.scenario import SeedPayment
from fakepay.dialects.ceos.models import InstantPaymentRequest

async def main(port, count):
    service = PaymentService(parse_scenario({"version": 1, "failure": {"rate": 0}, "seed": 1}))
    await (server := Server(service, "127.0.0.1", port)).start()
    if count:
        service.state.add_payments(tuple(
            SeedPayment(f"owner{i % 1000}", f"payment-{i}", InstantPaymentRequest("my_store_001", "order", 1000 + i, "KRW", None))
            for i in range(count)))
    service.state.add_payments((SeedPayment("alice", "p1", InstantPaymentRequest("s", "order", 1, "KRW", None)),))
    started = time.perf_counter()
    gc.collect()  # a full collection, as one would come during a long run
    print(f"ready {(time.perf_counter() - started) * 1000:.1f}", flush=True)
    await asyncio.Event().wait()

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def million(count: int, seconds: float) -> dict[str, float]:
    figures: dict[str, float] = {}
    for label, stored in (("empty", 0), ("full", count)):
        port = free_port()
        proc = subprocess.Popen(pinned(0, [PYTHON, "-c", BIG_SERVER, str(port), str(stored)]), stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            ready, gc_ms = proc.stdout.readline().split()
            assert ready == "ready"
            figures[f"{label}_gc_ms"] = float(gc_ms)
            figures[f"{label}_rss"] = rss_mib(proc.pid)
            figures[f"{label}_p50"], figures[f"{label}_p99"] = latency(port, 1000, seconds)
            started = time.perf_counter()
            http(port, "POST", "/__fakepay/reset")
            figures[f"{label}_reset"] = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait()
    return figures


def small_reset() -> float:
    """Seconds one ``PaymentService.reset()`` takes with a few payments and journal entries."""
    from fakepay import PaymentService, parse_scenario
    from fakepay.core.calls import Answer, Call
    from fakepay.dialects.ceos.models import InstantPaymentRequest

    service = PaymentService(parse_scenario({"version": 1, "failure": {"rate": 0}}))
    request = InstantPaymentRequest("s", "o", 1, "KRW", None)
    times = []
    for _ in range(200):
        for i in range(10):
            call = Call(service.journal.take_id(), time.time(), time.perf_counter(), "POST", f"/payments/p{i}/instant",
                        "instant", f"p{i}", owner="alice", request=request)
            decision = service.decide(call)
            service.journal.record(call, Answer(200, b"{}", decision.outcome))
        started = time.perf_counter()
        service.reset()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def soak(requests_total: int) -> tuple[float, float, float]:
    """RSS (MiB) after a warm-up, after ``requests_total`` requests, and the requests per second."""
    port = free_port()
    with process(fakepay_command(port), port) as proc:
        prepare(port)
        wrk(port, "/payments/p1", 2)
        before = rss_mib(proc.pid)
        started = time.perf_counter()
        done = 0
        rate = 0.0
        while done < requests_total:
            rate = wrk(port, "/payments/p1", 5)
            done += int(rate * 5)
        after = rss_mib(proc.pid)
        return before, after, done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and shorter runs (a smoke test, not figures)")
    parser.add_argument("--throughput-only", action="store_true", help="measure only the throughput ratios")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("benchmarks: wrk is needed (apt-get install wrk)")
    rounds, seconds, count = (1, 2, 100_000) if args.quick else (3, 5, 1_000_000)

    rows: list[tuple[str, str, str, str]] = []
    print(f"machine: {CORES} cores, Python {sys.version.split()[0]}, server on core 0, load on core 1", flush=True)

    measured = throughput(rounds, seconds)
    for op, path in (("get", "GET /payments/{id}"), ("instant", "POST /payments/{id}/instant")):
        (fp, fp_cpu), (bare, bare_cpu) = measured[f"{op} fakepay"], measured[f"{op} bare"]
        target = TARGETS[op]
        rows.append((f"throughput {path}", f"{fp:,.0f} req/s", f"bare aiohttp {bare:,.0f} req/s", f"{fp / bare:.2f} (>= {target})"))
        rows.append(("  the same, as CPU per request", f"{fp_cpu:.0f} us", f"bare aiohttp {bare_cpu:.0f} us", f"{bare_cpu / fp_cpu:.2f} (>= {target})"))
    (sandbox, sandbox_cpu), (fp, fp_cpu) = measured["get sandbox"], measured["get fakepay"]
    rows.append(("throughput GET /payments/{id} in a sandbox", f"{sandbox:,.0f} req/s, {sandbox_cpu:.0f} us",
                 f"default sandbox {fp:,.0f} req/s, {fp_cpu:.0f} us", f"{sandbox / fp:.2f}, {fp_cpu / sandbox_cpu:.2f} (>= {SANDBOX_TARGET})"))
    (parsing, parsing_cpu), (bare, bare_cpu) = measured["instant parsing"], measured["instant bare"]
    rows.append(("  reference: bare app that also parses the body", f"{parsing:,.0f} req/s, {parsing_cpu:.0f} us", f"bare aiohttp {bare:,.0f} req/s", f"{parsing / bare:.2f}, {bare_cpu / parsing_cpu:.2f}"))
    progress("in process", f"{rounds + 2} rounds of the socket-free stack")
    stack = in_process(rounds + 2, 1000 if args.quick else 3000)
    for op, path in (("get", "GET /payments/{id}"), ("post", "POST /payments/{id}/instant")):
        fp, bare = stack[f"{op} fakepay"], stack[f"{op} bare"]
        rows.append((f"  {path} in process, no sockets", f"{fp:.1f} us", f"bare aiohttp {bare:.1f} us", f"{bare / fp:.2f}"))
    in_sandbox, fp = stack["get sandbox fakepay"], stack["get fakepay"]
    rows.append(("  GET /payments/{id} in a sandbox, in process", f"{in_sandbox:.1f} us", f"default sandbox {fp:.1f} us",
                 f"{fp / in_sandbox:.2f} (>= {SANDBOX_TARGET})"))
    for op, name in (("get", "getPayment"), ("post", "payInstantly")):
        portone, ceos = stack[f"{op} portone"], stack[f"{op} fakepay"]
        rows.append((f"  PortOne {name}, in process", f"{portone:.1f} us", f"CEOS {op} {ceos:.1f} us",
                     f"{ceos / portone:.2f} (>= {PORTONE_TARGET})"))
    if args.throughput_only:
        return print_table(rows)

    progress("latency", f"fakepay and the bare app, {seconds * 2} s each at 1,000 req/s")
    port = free_port()
    with process(fakepay_command(port), port):
        prepare(port)
        p50, p99 = latency(port, 1000, seconds * 2)
    port = free_port()
    with process(bare_command(port), port):
        bare50, bare99 = latency(port, 1000, seconds * 2)
    rows.append(("latency at 1,000 req/s (p50 / p99)", f"{p50:.2f} / {p99:.2f} ms", f"bare {bare50:.2f} / {bare99:.2f} ms", f"p99 <= 5 ms: {'met' if p99 <= 5 else 'missed'}"))

    progress("start-up", f"{rounds * 3} starts of each")
    fp_start, bare_start = startups(rounds * 3)
    rows.append(("start-up to 200 on /__fakepay/health", f"{fp_start * 1000:.0f} ms", f"bare aiohttp {bare_start * 1000:.0f} ms", f"+{(fp_start - bare_start) * 1000:.0f} ms (<= +100)"))

    progress("pytest suites", f"{rounds} runs of each")
    fp_suite, hs_suite = pytest_suites(rounds)
    rows.append(("500-test pytest suite", f"{fp_suite:.2f} s", f"pytest-httpserver {hs_suite:.2f} s", f"{fp_suite / hs_suite:.2f} (<= 1.0)"))

    progress("reset")
    rows.append(("reset of a small state, in process", f"{small_reset() * 1e6:.0f} us", "", "<= 1000 us"))

    progress("stored payments", f"storing {count:,}")
    big = million(count, seconds)
    rows.append((f"{count:,} stored payments: RSS", f"{big['full_rss']:.0f} MiB", f"empty {big['empty_rss']:.0f} MiB", "<= 1024 MiB"))
    rows.append((f"{count:,} stored: GET p50 / p99 at 1,000 req/s", f"{big['full_p50']:.2f} / {big['full_p99']:.2f} ms", f"empty {big['empty_p50']:.2f} / {big['empty_p99']:.2f} ms", f"{big['full_p50'] / big['empty_p50']:.2f}"))
    rows.append((f"{count:,} stored: a full garbage collection", f"{big['full_gc_ms']:.1f} ms", f"empty {big['empty_gc_ms']:.1f} ms", "<= 20 ms"))
    rows.append((f"{count:,} stored: POST /__fakepay/reset", f"{big['full_reset'] * 1000:.0f} ms", f"empty {big['empty_reset'] * 1000:.1f} ms", "<= 1000 ms"))

    soaked = 20_000 if args.quick else 200_000
    progress("soak", f"{soaked:,} requests")
    before, after, rate = soak(soaked)
    rows.append(("soak: RSS before / after 200,000 requests" if not args.quick else "soak (quick)", f"{before:.0f} / {after:.0f} MiB", f"{rate:,.0f} req/s", f"+{after - before:.1f} MiB"))

    print_table(rows)


def print_table(rows: list[tuple[str, str, str, str]],
                heading: tuple[str, str, str, str] = ("what", "fakepay", "baseline", "ratio / target")) -> None:
    widths = [max(len(row[i]) for row in [*rows, heading]) for i in range(4)]
    for row in [heading, tuple("-" * w for w in widths), *rows]:
        print("| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()

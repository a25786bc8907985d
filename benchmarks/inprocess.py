"""The cost of a request through the whole aiohttp server stack without sockets: the HTTP parser,
the handler and the response writer, fed one request at a time over a transport that only
counts writes. Steadier than a load test on a shared machine (no kernel, no load generator),
so that small changes to fakepay's request path can be compared.

    python benchmarks/inprocess.py [ROUNDS] [REQUESTS]

Prints JSON: the best microseconds per request of each server and request over ``ROUNDS``
alternating rounds of ``REQUESTS`` requests, of fakepay's look-up in a sandbox
(docs/sandboxes.md) by its own secret, and of a fakepay serving PortOne V2 (docs/portone.md):
its getPayment and payInstantly.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import bare
import run
from aiohttp import web

from fakepay import PaymentService, issue_secret, parse_scenario
from fakepay.server import Front

AUTH = f"Bearer {issue_secret('alice')}"
BODY = json.dumps(run.BODY, separators=(",", ":")).encode()
PORTONE_AUTH = "PortOne alice"
#: PortOne's pay instantly, as its Python SDK sends it.
PORTONE_BODY = json.dumps({"method": {"card": {"credential": {"number": "4242424242424242", "expiryYear": "30",
                                                                "expiryMonth": "12"}}},
                           "orderName": "order", "amount": {"total": 1000}, "currency": "KRW"}).encode()


class CountingTransport(asyncio.Transport):
    """A transport that takes whatever is written and counts the writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.closing = False

    def write(self, data: Any) -> None:
        self.writes += 1

    def writelines(self, data: Any) -> None:
        self.writes += 1

    def pause_reading(self) -> None:
        """Flow control, as a socket's transport has it (aiohttp asks for it as it reads a body)."""

    def resume_reading(self) -> None:
        pass

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default


def get(auth: str = AUTH) -> Callable[[str], bytes]:
    """The requests of a look-up of p1 with ``auth``."""
    request = f"GET /payments/p1 HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n".encode()
    return lambda _: request


def post(auth: str = AUTH, payment_id: str | None = None, body: bytes = BODY) -> Callable[[str], bytes]:
    """The requests of a payment with ``auth``, of ``payment_id`` (each of its own unless given)."""
    def request(name: str) -> bytes:
        return (f"POST /payments/{payment_id or name}/instant HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    return request


async def per_request(server: web.Server, make: Callable[[str], bytes], count: int, tag: str) -> float:
    """Microseconds per request, each sent when the previous one was answered."""
    protocol = server()
    transport = CountingTransport()
    protocol.connection_made(transport)
    requests = [make(f"{tag}-{i}") for i in range(count)]
    started = time.perf_counter()
    for data in requests:
        before = transport.writes
        protocol.data_received(data)
        while transport.writes == before:
            await asyncio.sleep(0)
    elapsed = time.perf_counter() - started
    protocol.connection_lost(None)
    return elapsed / count * 1e6


async def main(rounds: int, count: int) -> None:
    app = web.Application()
    app.router.add_get("/payments/{paymentId}", bare.canned(bare.PAYMENT))
    app.router.add_post("/payments/{paymentId}/instant", bare.canned(bare.RECEIPT))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    assert runner.server is not None
    fakepay = Front(PaymentService(parse_scenario({"version": 1, "failure": {"rate": 0}, "seed": 1})))
    portone = Front(PaymentService(parse_scenario({"version": 1, "api": "portone", "failure": {"rate": 0}, "seed": 1})))
    servers = {"bare": runner.server, "fakepay": web.Server(fakepay.handle, access_log=None),
               "portone": web.Server(portone.handle, access_log=None)}
    in_sandbox = f"Bearer {fakepay.sandboxes.create().instance.state.secret('alice')}"
    for auth in (AUTH, in_sandbox):
        await per_request(servers["fakepay"], post(auth, "p1"), 1, "seed")
    await per_request(servers["portone"], post(PORTONE_AUTH, "p1", PORTONE_BODY), 1, "seed")
    requests = {
        "bare": [("get", get()), ("post", post())],
        "fakepay": [("get", get()), ("post", post()), ("get sandbox", get(in_sandbox))],
        "portone": [("get", get(PORTONE_AUTH)), ("post", post(PORTONE_AUTH, body=PORTONE_BODY))],
    }
    best: dict[str, float] = {}
    for round_ in range(rounds):
        for name, server in servers.items():
            for kind, make in requests[name]:
                key = f"{kind} {name}"
                best[key] = min(best.get(key, float("inf")), await per_request(server, make, count, f"r{round_}"))
    print(json.dumps(best))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5, int(sys.argv[2]) if len(sys.argv) > 2 else 3000))

"""The baseline: a bare aiohttp app answering fakepay's routes with canned JSON, nothing else.

Run as ``python bare.py PORT [--parse]``; it serves until killed. With ``--parse`` it also reads
and parses the JSON body of a payment (a second reference: the least a real server must do).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable

from aiohttp import web

PAYMENT = (
    b'{"paymentId":"p1","paymentStatus":"PAID","orderName":"order","pgProvider":"CEOS_PAY",'
    b'"currency":"KRW","customData":null,"paidAt":"2025-10-22T20:21:35.529482"}'
)
RECEIPT = b'{"paymentId":"p1","paidAt":"2025-10-22T20:21:35.529482"}'


def canned(body: bytes, parse: bool = False) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        if parse:
            json.loads(await request.read())
        return web.Response(body=body, content_type="application/json")

    return handler


async def main(port: int, parse: bool) -> None:
    app = web.Application()
    app.router.add_get("/payments/{paymentId}", canned(PAYMENT))
    app.router.add_post("/payments/{paymentId}/instant", canned(RECEIPT, parse))
    app.router.add_get("/__fakepay/health", canned(b'{"status":"ok"}'))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"bare aiohttp serving http://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), "--parse" in sys.argv))

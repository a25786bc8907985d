"""Running a front on a socket: ``Runner`` starts and stops aiohttp's low-level server for it, in
the caller's event loop, closing idle and slow connections."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from .answers import ConnectionActivity

__all__ = ["Front", "Runner"]

#: How long stopping waits for requests in flight; requests held by faults are then dropped.
SHUTDOWN_TIMEOUT = 0.25
#: A connection is closed when it has not sent a whole request's headers this many seconds
#: after it opened or after its last answer (slow or idle clients cannot hold sockets for long).
IDLE_TIMEOUT = 15.0


class Front(Protocol):
    """What a runner serves: a handler of every request, the activity of its connections, and
    what to end when it stops."""

    activity: ConnectionActivity

    def handle(self, request: web.BaseRequest) -> Awaitable[web.StreamResponse]: ...

    async def close(self) -> None: ...


class Runner:
    """``front`` served on ``host:port`` (port 0: a free one, see ``port`` once started)."""

    def __init__(self, front: Front, host: str = "127.0.0.1", port: int = 8080, *,
                 idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.front = front
        self.host = host
        self.port = port
        self.idle_timeout = idle_timeout
        self._runner: web.ServerRunner | None = None
        self._sweeper: asyncio.Task[None]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and serve; ``OSError`` when the address is in use or cannot be bound."""
        server = _LowLevelServer(
            self.front.handle,
            self.front.activity,
            access_log=None,
            keepalive_timeout=self.idle_timeout,
            auto_decompress=False,  # bodies are read as sent; compressed ones are refused
        )
        runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        self._sweeper = asyncio.get_running_loop().create_task(self._close_idle(server))

    async def _close_idle(self, server: web.Server) -> None:
        """Close connections idle, or still sending headers, for over ``idle_timeout`` seconds
        (aiohttp itself closes only idle ones, and before 3.14 only after a first answer)."""
        activity = self.front.activity
        while True:
            await asyncio.sleep(min(1.0, self.idle_timeout / 2))
            activity.close_idle(server.connections, self.idle_timeout)

    async def stop(self) -> None:
        """Stop serving; requests held by faults are dropped, not waited for."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            assert runner.server is not None
            transports = [c.transport for c in runner.server.connections if c.transport is not None]
            await self.front.close()
            await runner.cleanup()
            for transport in transports:  # a client that stopped reading keeps no socket open
                transport.abort()


class _LowLevelServer(web.Server):
    """aiohttp's low-level server, telling ``activity`` at once of each connection that closes."""

    def __init__(self, handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]], activity: ConnectionActivity,
                 **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._activity = activity

    def connection_lost(self, handler: web.RequestHandler, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self._activity.lost(handler)

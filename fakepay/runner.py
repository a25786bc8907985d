"""Running fakepay on a socket: ``Server`` starts and stops one, in the caller's event loop."""

from __future__ import annotations

from aiohttp import web

from .server import create_app
from .service import PaymentService

__all__ = ["Server"]

#: How long stopping waits for requests in flight; requests held by faults are then dropped.
SHUTDOWN_TIMEOUT = 0.25


class Server:
    """A fakepay server listening on ``host:port`` (port 0: a free one, see ``port`` once started)."""

    def __init__(
        self,
        service: PaymentService,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        control: bool = True,
        control_token: str | None = None,
    ) -> None:
        self.service = service
        self.host = host
        self.port = port
        #: Whether the control API (and its dashboard) is served.
        self.control = control
        self.app = create_app(service, control=control, control_token=control_token)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and serve; ``OSError`` when the address is in use or cannot be bound."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop serving; requests held by faults are dropped, not waited for."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

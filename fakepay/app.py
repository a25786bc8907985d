"""A fakepay server's way in: every request, whatever runs it, goes through one ``Front`` to
the public API or the control API under ``/__fakepay``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import unquote

from aiohttp import web

from .control import PREFIX, ControlApi
from .hosts import AllowedHosts
from .public import PublicApi
from .responses import ConnectionActivity, raw_path
from .service import PaymentService

__all__ = ["Front", "create_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


#: The first path segment of the control API.
_CONTROL = PREFIX.removeprefix("/")


class Front:
    """The request handler of a fakepay server: the control API for paths under ``/__fakepay``,
    the public API for the rest. ``runner.Server`` runs it as aiohttp's low-level
    server; ``create_app`` wraps it in an ``Application``."""

    def __init__(self, service: PaymentService, *, control: bool = True, control_token: str | None = None,
                 allowed_hosts: AllowedHosts | None = None) -> None:
        self.service = service
        #: Which connections are answering a request, for ``Server`` to close idle ones.
        self.activity = ConnectionActivity()
        self._public = PublicApi(service, self.activity)
        self._control = ControlApi(service, self.activity, enabled=control, token=control_token,
                                   allowed_hosts=allowed_hosts)

    def handle(self, request: web.BaseRequest) -> Awaitable[web.StreamResponse]:
        """The answer to any request (the API's coroutine itself, so that a request costs one)."""
        path = raw_path(request)
        if path.startswith(PREFIX) or "%" in path:
            first = path[1:].partition("/")[0]
            if first == _CONTROL or unquote(first) == _CONTROL:  # percent-encoded, as any literal may be
                return self._control.handle(request, path)
        return self._public.handle(request, path)

    def close(self) -> None:
        """End the event streams, so that stopping need not wait for them."""
        self.service.events.close()


def create_app(
    service: PaymentService | None = None,
    *,
    control: bool = True,
    control_token: str | None = None,
    allow_hosts: str | Iterable[str] = (),
) -> web.Application:
    """A fakepay application (for aiohttp's test tools): the public API, and the control API
    under ``/__fakepay`` (only ``health`` with ``control=False``; every call but ``health`` and
    the dashboard's files needs ``control_token`` when one is given). Without a token, control
    calls must name an IP address, ``localhost``, this machine or one of ``allow_hosts`` in their
    ``Host`` (docs/control-api.md, "Who may call it"). Event streams end when the app shuts down."""
    front = Front(service or PaymentService(), control=control, control_token=control_token,
                  allowed_hosts=AllowedHosts(allow_hosts))

    async def handle(request: web.Request) -> web.StreamResponse:
        return await front.handle(request)

    @web.middleware
    async def targets_without_a_path(request: web.Request, handler: Handler) -> web.StreamResponse:
        """``OPTIONS *`` and ``GET http://host`` match no route of aiohttp's: the front answers them too."""
        if request.match_info.http_exception is not None:
            return await front.handle(request)
        return await handler(request)

    app = web.Application(middlewares=[targets_without_a_path])
    # Every path, a newline in it included: the front answers even what it does not know.
    app.router.add_route("*", r"/{path:[\s\S]*}", handle, expect_handler=_leave_expect_to_the_front)

    async def end_event_streams(app: web.Application) -> None:
        front.close()

    app.on_shutdown.append(end_event_streams)
    return app


async def _leave_expect_to_the_front(request: web.Request) -> None:
    """``Expect: 100-continue`` is answered when a body is read, as in the low-level server."""

"""A fakepay server put together: an instance of the API a scenario names (``PaymentService``), and
its way in, where every request, whatever runs it, goes through one ``Front`` to the API or to the
control API under ``/__fakepay``, served on a socket (``Server``) or as an aiohttp application
(``create_app``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TextIO
from urllib.parse import unquote

from aiohttp import hdrs, web

from .control.api import PREFIX, ControlApi
from .control.views import JournalFile
from .core.config import DEFAULT_API, Scenario
from .core.errors import SandboxNotFound
from .core.instance import Instance
from .core.sandboxes import DEFAULT, DEFAULT_IDLE_S, DEFAULT_LIMIT, Sandbox, Sandboxes
from .core.text import show
from .core.webhooks import DEFAULT_RETRY, RetryPolicy
from .dialects import DIALECTS, dialect
from .http.answers import ConnectionActivity, raw_path, refusal
from .http.hosts import AllowedHosts
from .http.pipeline import PublicApi
from .http.runner import IDLE_TIMEOUT, Runner
from .http.webhooks import Outbox, journaling
from .scenario import patched

__all__ = ["Front", "PaymentService", "Server", "create_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


#: The header that names the sandbox a request is for, where its credentials do not (``GET /auth/{githubId}``).
SANDBOX_HEADER = "Fakepay-Sandbox"
#: How many ``Authorization`` headers' sandboxes are remembered (then forgotten all at once).
_NAMED_KEPT = 4096
_UNSEEN = ""
#: The first path segment of the control API.
_CONTROL = PREFIX.removeprefix("/")


class PaymentService(Instance):
    """A fake payment server's core for ``scenario`` (default: the CEOS server's defaults), of the
    API it names; with ``journal_sink``, every journaled request is also appended to that file
    as a JSON line."""

    def __init__(self, scenario: Scenario | None = None, *, journal_sink: TextIO | None = None,
                 sandbox: str | None = None) -> None:
        super().__init__(dialect(scenario.api if scenario is not None else DEFAULT_API), scenario, sandbox)
        if journal_sink is not None:
            JournalFile(self, journal_sink)

    def configure(self, patch: dict[str, Any]) -> None:
        """Change part of the configuration in force (until the next reset), as ``PATCH
        /__fakepay/config`` does; ``ScenarioError`` (nothing changed) when the patch is invalid."""
        self.apply_config(patched(self.config, patch), set(patch))


class Front:
    """The request handler of a fakepay server: the control API for paths under ``/__fakepay``,
    its API for the rest. ``Server`` runs it as aiohttp's low-level server; ``create_app`` wraps it
    in an ``Application``."""

    def __init__(self, service: Instance, *, control: bool = True, control_token: str | None = None,
                 allowed_hosts: AllowedHosts | None = None, sandboxes: int = DEFAULT_LIMIT,
                 sandbox_idle_s: float = DEFAULT_IDLE_S, webhooks: RetryPolicy = DEFAULT_RETRY) -> None:
        self.service = service
        self._webhooks = webhooks
        #: The webhook messages on their way, of each live sandbox (the default one's included).
        self._outboxes: dict[str, Outbox] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._send_webhooks(service, DEFAULT)
        #: Which connections are answering a request, for ``Server`` to close idle ones.
        self.activity = ConnectionActivity()
        self.sandboxes = Sandboxes(service, self._make_sandbox, limit=sandboxes, idle_s=sandbox_idle_s)
        self.sandboxes.gone_listeners.append(self._forget)
        self._public = PublicApi(service, self.activity, PREFIX)
        #: Every API a sandbox may be of, the server's first: their credentials name sandboxes.
        self._dialects = [service.dialect, *(dialect(name) for name in DIALECTS if name != service.dialect.name)]
        #: The API of each live sandbox, the default one's included (each pipeline made with its sandbox).
        self._publics: dict[str, PublicApi] = {DEFAULT: self._public}
        #: The sandbox each ``Authorization`` header seen lately names.
        self._named: dict[str, str | None] = {}
        self._control = ControlApi(service, self.activity, enabled=control, token=control_token,
                                   allowed_hosts=allowed_hosts, sandboxes=self.sandboxes, api_of=self._api_of)

    def _make_sandbox(self, scenario: Scenario | None, sandbox_id: str) -> Instance:
        instance = PaymentService(scenario or self.service.scenario, sandbox=sandbox_id)
        self._publics[sandbox_id] = PublicApi(instance, self.activity, PREFIX)
        self._send_webhooks(instance, sandbox_id)
        return instance

    def _send_webhooks(self, instance: Instance, sandbox_id: str) -> None:
        """Give ``instance`` an outbox of its own for its webhooks, journaled as they are tried,
        and emptied when it is reset."""
        outbox = self._outboxes[sandbox_id] = Outbox(self._webhooks, [journaling(instance.journal)],
                                                     retried=instance.webhook_delivery)
        instance.sender = outbox.submit

        def forget_pending(owner: str | None) -> None:
            if owner is None:
                outbox.clear()

        instance.reset_listeners.append(forget_pending)

    def _api_of(self, sandbox_id: str | None) -> PublicApi:
        """The API of the server (None), or of the live sandbox ``sandbox_id``."""
        return self._public if sandbox_id is None else self._publics[self.sandboxes.get(sandbox_id).id]

    def _forget(self, sandbox: Sandbox) -> None:
        """A sandbox is gone: its requests held are let go, its event streams end."""
        self._publics.pop(sandbox.id, None)
        sandbox.instance.reset()
        outbox = self._outboxes.pop(sandbox.id, None)
        if outbox is None:
            return
        try:
            task = asyncio.get_running_loop().create_task(outbox.close())
        except RuntimeError:  # no loop runs: no webhook was ever on its way
            outbox.clear()
            return
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def handle(self, request: web.BaseRequest) -> Awaitable[web.StreamResponse]:
        """The answer to any request (the API's coroutine itself, so that a request costs one):
        the control API's, or the API's of the sandbox its ``Fakepay-Sandbox`` header names (``404
        SANDBOX_NOT_FOUND`` when it is not live), else of the one its credentials name (the default
        one when they name none; the default one, which refuses them, when the sandbox named is gone)."""
        path = raw_path(request)
        if path.startswith(PREFIX) or "%" in path:
            first = path[1:].partition("/")[0]
            if first == _CONTROL or unquote(first) == _CONTROL:  # percent-encoded, as any literal may be
                return self._control.handle(request, path)
        headers = request.headers
        named = headers.get(SANDBOX_HEADER)
        if named is not None:
            if self.sandboxes.find(named) is None:
                return self._not_found(request, path, named)
            return self._publics[named].handle(request, path)
        sandbox_id = self._sandbox_of(headers)
        if sandbox_id is not None and self.sandboxes.find(sandbox_id) is not None:
            return self._publics[sandbox_id].handle(request, path)
        return self._public.handle(request, path)

    async def _not_found(self, request: web.BaseRequest, path: str, sandbox_id: str) -> web.StreamResponse:
        """``404 SANDBOX_NOT_FOUND`` for a request that names a sandbox not live, journaled in none."""
        return refusal(request, SandboxNotFound(show(sandbox_id)), f"{request.method} {path}")

    def _sandbox_of(self, headers: Mapping[str, str]) -> str | None:
        """The sandbox the credentials in ``headers`` name (None: none)."""
        authorization = headers.get(hdrs.AUTHORIZATION)
        if authorization is None:
            return None
        named = self._named.get(authorization, _UNSEEN)
        if named is _UNSEEN:
            if len(self._named) >= _NAMED_KEPT:
                self._named = {}
            named = self._named[authorization] = next(
                filter(None, (served.sandbox_of(authorization) for served in self._dialects)), None)
        return named

    async def close(self) -> None:
        """End the event streams, so that stopping need not wait for them, and the webhooks on their way."""
        self._control.close()
        await asyncio.gather(*(outbox.close() for outbox in self._outboxes.values()), *self._closing)


def create_app(
    service: PaymentService | None = None,
    *,
    control: bool = True,
    control_token: str | None = None,
    allow_hosts: str | Iterable[str] = (),
    sandboxes: int = DEFAULT_LIMIT,
    sandbox_idle_s: float = DEFAULT_IDLE_S,
    webhooks: RetryPolicy = DEFAULT_RETRY,
) -> web.Application:
    """A fakepay application (for aiohttp's test tools): the public API, and the control API
    under ``/__fakepay`` (only ``health`` with ``control=False``; every call but ``health`` and
    the dashboard's files needs ``control_token`` when one is given). Without a token, control
    calls must name an IP address, ``localhost``, this machine or one of ``allow_hosts`` in their
    ``Host`` (docs/control-api.md, "Who may call it"). At most ``sandboxes`` sandboxes live at
    once, each for ``sandbox_idle_s`` seconds without a call (docs/sandboxes.md). Webhooks are
    tried again as ``webhooks`` says (docs/webhooks.md). Event streams and webhooks on their way
    end when the app shuts down."""
    front = Front(service or PaymentService(), control=control, control_token=control_token,
                  sandboxes=sandboxes, sandbox_idle_s=sandbox_idle_s, webhooks=webhooks,
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
        await front.close()

    app.on_shutdown.append(end_event_streams)
    return app


async def _leave_expect_to_the_front(request: web.Request) -> None:
    """``Expect: 100-continue`` is answered when a body is read, as in the low-level server."""


class Server(Runner):
    """A fakepay server listening on ``host:port`` (port 0: a free one, see ``port`` once started).
    Without ``control_token``, control calls must name an IP address, ``localhost``, this machine,
    ``host`` or one of ``allow_hosts`` in their ``Host`` (docs/control-api.md, "Who may call it").
    At most ``sandboxes`` sandboxes live at once, each for ``sandbox_idle_s`` seconds without a
    call (docs/sandboxes.md)."""

    def __init__(
        self,
        service: PaymentService,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        control: bool = True,
        control_token: str | None = None,
        allow_hosts: str | Iterable[str] = (),
        idle_timeout: float = IDLE_TIMEOUT,
        sandboxes: int = DEFAULT_LIMIT,
        sandbox_idle_s: float = DEFAULT_IDLE_S,
        webhooks: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        front = Front(service, control=control, control_token=control_token,
                      allowed_hosts=AllowedHosts(allow_hosts, served=host), sandboxes=sandboxes,
                      sandbox_idle_s=sandbox_idle_s, webhooks=webhooks)
        super().__init__(front, host, port, idle_timeout=idle_timeout)
        self.service = service
        #: Whether the control API (and its dashboard) is served.
        self.control = control

"""A fakepay application: the public API and the control API on one aiohttp app."""

from __future__ import annotations

from aiohttp import web

from .control import add_control_routes
from .public import PublicApi
from .responses import ACTIVITY, MAX_BODY, ConnectionActivity
from .service import PaymentService

__all__ = ["create_app"]


def create_app(
    service: PaymentService | None = None,
    *,
    control: bool = True,
    control_token: str | None = None,
) -> web.Application:
    """A fakepay application: the public API, and the control API under ``/__fakepay``
    (only ``health`` with ``control=False``; every call but ``health`` and the dashboard's files
    needs ``control_token`` when one is given). Event streams end when the app shuts down."""
    service = service or PaymentService()
    app = web.Application(client_max_size=MAX_BODY + 1)  # read_body refuses MAX_BODY + 1 itself
    activity = app[ACTIVITY] = ConnectionActivity()
    add_control_routes(app.router, service, activity, enabled=control, token=control_token)
    PublicApi(service, activity).add_routes(app.router)

    async def end_event_streams(app: web.Application) -> None:
        service.events.close()

    app.on_shutdown.append(end_event_streams)
    return app

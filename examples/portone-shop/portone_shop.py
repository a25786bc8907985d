"""A small shop that takes payments through PortOne V2, completing an order as PortOne's own sample does.

The shop prices an order itself. The browser pays it in PortOne's payment window (``PortOne.requestPayment``
with the order's id as ``paymentId``) and then POSTs ``{"paymentId"}`` to ``/payment/complete``. The shop
never trusts the browser: it asks PortOne for the payment and marks the order paid only if the payment is
paid and its amount, order name and custom data are the order's. A payment that does not match is cancelled.
PortOne's webhooks, verified with the shop's webhook secret, make it ask too: an order is paid even when the
browser never comes back.

Run it with ``python portone_shop.py`` (the folder's README.md tells how, against fakepay).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import os
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeAlias, TypeVar

import httpx
from aiohttp import web
from portone_server_sdk import PaymentClient
from portone_server_sdk.errors import PaymentNotFoundError, PgProviderError, UnknownError
from portone_server_sdk.payment import (
    CancelledPayment,
    CancelPaymentError,
    FailedPayment,
    PaidPayment,
    PartialCancelledPayment,
    VirtualAccountIssuedPayment,
)
from portone_server_sdk.webhook import WebhookVerificationError, verify

#: What the shop sells: product id → (name, price in KRW).
PRODUCTS = {"notebook": ("노트북", 1_500_000), "mouse": ("마우스", 30_000), "pad": ("마우스패드", 9_000)}

_T = TypeVar("_T")
_log = logging.getLogger("portone_shop")
#: A payment with money in it, or on its way: what the shop checks against its order.
Charged: TypeAlias = PaidPayment | PartialCancelledPayment | CancelledPayment | VirtualAccountIssuedPayment


class ShopError(Exception):
    """What the shop answers instead of an order: an HTTP status and a message for the browser."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Order:
    id: str
    name: str
    amount: int
    items: dict[str, int]
    currency: str = "KRW"
    status: str = "PENDING"  # PENDING, WAITING_FOR_DEPOSIT, PAID, FAILED, REFUNDED, or REFUSED (paid wrongly, cancelled)
    refunded: int = 0

    def custom_data(self) -> dict[str, Any]:
        """What the browser passes to ``requestPayment`` as ``customData``, and PortOne keeps as its JSON."""
        return {"items": self.items}

    def mismatch(self, payment: Charged) -> str | None:
        """How ``payment`` differs from this order, or None."""
        try:
            custom = json.loads(payment.custom_data or "null")
        except ValueError:
            custom = payment.custom_data
        for what, paid, ordered in (("amount", payment.amount.total, self.amount), ("currency", payment.currency, self.currency),
                                    ("order name", payment.order_name, self.name), ("custom data", custom, self.custom_data())):
            if paid != ordered:
                return f"its {what} is {paid!r}, the order's {ordered!r}"
        return None


class Shop:
    """The shop's orders, kept in step with PortOne's payments through ``payments``; PortOne signs its
    webhooks to the shop with ``webhook_secret`` (``whsec_...``, from PortOne's console)."""

    def __init__(self, payments: PaymentClient, *, webhook_secret: str, timeout: float = 10.0) -> None:
        self.payments = payments
        self.webhook_secret = webhook_secret
        self.timeout = timeout
        self.orders: dict[str, Order] = {}
        self._numbers = itertools.count(1)
        #: One sync of an order at a time: the webhook and the browser may come at once.
        self._syncing: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def order(self, order_id: str) -> Order:
        if order_id not in self.orders:
            raise ShopError(404, f"no order {order_id!r}")
        return self.orders[order_id]

    def create_order(self, items: dict[str, int]) -> Order:
        """An order of ``items`` (product id → quantity), priced by the shop."""
        if not items or any(product not in PRODUCTS or type(n) is not int or n < 1 for product, n in items.items()):
            raise ShopError(400, f"items are product ids ({', '.join(PRODUCTS)}) and quantities of 1 or more")
        first, *others = (PRODUCTS[product][0] for product in items)
        name = f"{first} 외 {len(others)}건" if others else first
        order = Order(f"order-{next(self._numbers)}", name, sum(PRODUCTS[p][1] * n for p, n in items.items()), dict(items))
        self.orders[order.id] = order
        return order

    async def sync(self, payment_id: str) -> Order:
        """Bring the order paid with ``payment_id`` in step with PortOne's payment, and return it.

        The one place the shop learns how a payment went: ``/payment/complete`` and the webhook call it, as
        often as they come; a sync that finds what the last one found changes nothing.
        """
        order = self.order(payment_id)
        async with self._syncing[payment_id]:
            return await self._sync(order)

    async def _sync(self, order: Order) -> Order:
        payment_id = order.id
        try:
            payment = await self._portone(self.payments.get_payment_async(payment_id=payment_id))
        except PaymentNotFoundError:
            raise ShopError(404, f"PortOne has no payment {payment_id!r}") from None
        if isinstance(payment, FailedPayment):
            order.status = "FAILED"
        elif isinstance(payment, Charged):
            mismatch = order.mismatch(payment)
            if mismatch:
                order.status = "REFUSED"
                if isinstance(payment, PaidPayment):
                    await self._portone(self.payments.cancel_payment_async(
                        payment_id=payment_id, reason="the payment does not match the order"))
                raise ShopError(409, f"payment {payment_id!r} does not match its order ({mismatch}): it is cancelled")
            if isinstance(payment, VirtualAccountIssuedPayment):
                order.status = "WAITING_FOR_DEPOSIT"
            else:
                order.refunded = payment.amount.cancelled
                order.status = "REFUNDED" if isinstance(payment, CancelledPayment) else "PAID"
        return order  # any other payment (ready, pending) leaves the order as it was

    async def refund(self, order_id: str, amount: int, reason: str) -> Order:
        """Give back ``amount`` of a paid order: a partial cancel of its payment, then a sync."""
        order = self.order(order_id)
        left = order.amount - order.refunded
        if order.status != "PAID" or not 0 < amount <= left:
            raise ShopError(409, f"order {order_id!r} is {order.status} with {left} left to refund: cannot refund {amount}")
        try:
            await self._portone(self.payments.cancel_payment_async(
                payment_id=order.id, amount=amount, reason=reason, current_cancellable_amount=left))
        except CancelPaymentError as error:
            raise ShopError(409, f"PortOne refuses the refund: {error.message}") from None
        return await self.sync(order.id)

    async def _portone(self, call: Awaitable[_T]) -> _T:
        """What PortOne answers ``call``. PortOne failing, or slower than the timeout, is an error of
        the shop's (502, 504) that leaves the order as it was, to be tried again."""
        try:
            return await asyncio.wait_for(call, self.timeout)
        except asyncio.TimeoutError:
            raise ShopError(504, f"PortOne did not answer within {self.timeout} s; the order is unchanged: try again") from None
        except (httpx.HTTPError, PgProviderError, UnknownError) as error:
            raise ShopError(502, f"PortOne failed ({type(error).__name__}); the order is unchanged: try again") from None


# -- HTTP ---------------------------------------------------------------------------------------------------------

SHOP = web.AppKey("shop", Shop)
_dumps = functools.partial(json.dumps, ensure_ascii=False)


def _json(order: Order) -> web.Response:
    return web.json_response(asdict(order), dumps=_dumps)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ShopError(400, "the body is a JSON object")
    return body


async def create_order(request: web.Request) -> web.Response:
    """``{"items": {"notebook": 1}}`` → the order; its ``id``, ``name``, ``amount``, ``currency`` and
    custom data (``{"items": ...}``) are what the browser then passes to ``PortOne.requestPayment``."""
    items = (await _body(request)).get("items")
    if not isinstance(items, dict):
        raise ShopError(400, 'items is an object of product ids and quantities: {"notebook": 1}')
    return _json(request.app[SHOP].create_order(items))


async def get_order(request: web.Request) -> web.Response:
    return _json(request.app[SHOP].order(request.match_info["order_id"]))


async def complete_payment(request: web.Request) -> web.Response:
    """The browser's word that ``{"paymentId"}`` went through the payment window: checked with PortOne."""
    payment_id = (await _body(request)).get("paymentId")
    if not isinstance(payment_id, str):
        raise ShopError(400, "paymentId is a string")
    return _json(await request.app[SHOP].sync(payment_id))


async def payment_webhook(request: web.Request) -> web.Response:
    """PortOne's word that a payment changed: believed only with its signature, then checked with PortOne
    (``Shop.sync``), however often and in whatever order it comes. A 2xx tells PortOne it need not send it
    again, so the shop answers 2xx unless asking PortOne failed (502, 504), when PortOne's retry may succeed."""
    shop = request.app[SHOP]
    # The SDK looks up webhook-id, webhook-timestamp and webhook-signature by these lower-case names.
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        event = verify(shop.webhook_secret, await request.text(), headers)
    except WebhookVerificationError as error:
        _log.warning("refused a webhook that is not PortOne's: %s", error.reason)
        raise ShopError(400, f"not a webhook of PortOne's: {error.reason}") from None
    # Transaction.* events name a payment; BillingKey.* ones do not, nor does one the SDK cannot read (a dict).
    payment_id = None if isinstance(event, dict) else getattr(event.data, "payment_id", None)
    if isinstance(payment_id, str):
        try:
            await shop.sync(payment_id)
        except ShopError as error:
            if error.status >= 500:
                raise
            # A payment of no order of the shop's, or one refused (and cancelled): done with; sending it again changes nothing.
    return web.Response(status=204)


async def refund(request: web.Request) -> web.Response:
    """``{"amount", "reason"}``: give back part of a paid order."""
    body = await _body(request)
    amount, reason = body.get("amount"), body.get("reason") or "refund"
    if type(amount) is not int or not isinstance(reason, str):
        raise ShopError(400, "amount is an integer, reason a string")
    return _json(await request.app[SHOP].refund(request.match_info["order_id"], amount, reason))


@web.middleware
async def _errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    try:
        return await handler(request)
    except ShopError as error:
        return web.json_response({"error": str(error)}, status=error.status, dumps=_dumps)


def create_app(shop: Shop) -> web.Application:
    app = web.Application(middlewares=[_errors])
    app[SHOP] = shop
    app.add_routes([
        web.post("/orders", create_order),
        web.get("/orders/{order_id}", get_order),
        web.post("/orders/{order_id}/refund", refund),
        web.post("/payment/complete", complete_payment),
        web.post("/payment/webhook", payment_webhook),
    ])
    return app


if __name__ == "__main__":
    client = PaymentClient(secret=os.environ["PORTONE_API_SECRET"],
                           base_url=os.environ.get("PORTONE_API_URL", "https://api.portone.io"))
    web.run_app(create_app(Shop(client, webhook_secret=os.environ["PORTONE_WEBHOOK_SECRET"])), host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))

"""PortOne V2's requests, their fields declared once (what each route checks, and their schemas),
and how each body is read: every problem named with its path (``amount.total: is required``),
unknown fields ignored as PortOne ignores them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NamedTuple, TypeVar

from ...core.document import Document, Reader
from ...core.errors import InvalidRequest
from ...core.fields import PATH_VALUE, Boolean, Choice, Field, FieldKind, Group, Integer, Invalid, Json, ListOf, Model, Text
from ...core.text import describe

__all__ = [
    "AMOUNT",
    "CHECKOUT",
    "CURRENCY",
    "MAX_AMOUNT",
    "MAX_PAGE_SIZE",
    "OUTCOMES",
    "PAYMENT_STATUSES",
    "Instant",
    "Timestamp",
    "format_timestamp",
    "parse_timestamp",
    "reading",
]

#: The largest amount: JavaScript's largest safe integer, as PortOne's JavaScript SDK reads numbers.
MAX_AMOUNT = 2**53 - 1
#: The most payments a page of ``GET /payments`` (or the cursor's) holds.
MAX_PAGE_SIZE = 1000
#: A payment's statuses, as ``Payment.status`` says them.
PAYMENT_STATUSES = ("READY", "PAY_PENDING", "VIRTUAL_ACCOUNT_ISSUED", "PAID", "FAILED", "PARTIAL_CANCELLED", "CANCELLED")
#: What a checkout may come to: the customer pays, the gateway declines, a virtual account is
#: issued for a later deposit, the payment awaits approval, or the customer closes the window.
OUTCOMES = ("PAID", "FAILED", "VIRTUAL_ACCOUNT_ISSUED", "PAY_PENDING", "CLOSED")
_CURRENCY = re.compile("[A-Z]{3}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def parse_timestamp(text: str) -> datetime | None:
    """An RFC 3339 date-time with an offset (``2024-04-25T10:00:00.000Z``), or None."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    fraction = (match.group(1) or ".")[1:7].ljust(6, "0")
    offset = "+00:00" if match.group(2) in "Zz" else match.group(2)
    try:
        return datetime.fromisoformat(f"{text[:10]}T{text[11:19]}.{fraction}{offset}")
    except ValueError:  # a day or an hour that does not exist
        return None


def format_timestamp(value: datetime) -> str:
    """An instant as PortOne writes it: RFC 3339 in UTC, to the millisecond (``2024-04-25T10:00:00.000Z``)."""
    utc = value.astimezone(timezone.utc)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Timestamp(FieldKind):
    """An RFC 3339 date-time with its offset, read as an aware ``datetime``."""

    def problem(self, value: Any) -> str | None:
        if type(value) is str and parse_timestamp(value) is not None:
            return None
        return f"must be an RFC 3339 date-time such as '2024-04-25T10:00:00.000Z', got {describe(value)}"

    def read(self, value: Any) -> datetime | None:
        return parse_timestamp(value)

    def shape(self, written: bool) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}


def _currency(value: Any) -> str | None:
    if type(value) is str and _CURRENCY.fullmatch(value):
        return None
    return f"must be a currency code of three capital letters such as 'KRW', got {describe(value)}"


@dataclass(frozen=True)
class _Currency(FieldKind):
    def problem(self, value: Any) -> str | None:
        return _currency(value)

    def shape(self, written: bool) -> dict[str, Any]:
        return {"type": "string", "pattern": "^[A-Z]{3}$"}


CURRENCY = _Currency()
TEXT = Text(max_length=2000)
NAME = Text(max_length=2000, blank=False)
AMOUNT_KIND = Integer(0, MAX_AMOUNT, request=True)
POSITIVE = Integer(1, MAX_AMOUNT, request=True)
URLS = ListOf(TEXT, max_items=10)

#: An amount to pay: its total, and of it the tax-free part and the VAT.
AMOUNT = Model("PaymentAmountInput", (
    Field("total", AMOUNT_KIND, required=True),
    Field("taxFree", AMOUNT_KIND),
    Field("vat", AMOUNT_KIND),
), open=True)
CUSTOMER_NAME = Model("CustomerNameInput", (Field("full", TEXT), Field("separated", Json())), open=True)
#: Who pays: every field optional, as in PortOne.
CUSTOMER = Model("CustomerInput", (
    Field("id", TEXT),
    Field("name", Group(CUSTOMER_NAME)),
    Field("email", TEXT),
    Field("phoneNumber", TEXT),
), open=True)
CARD_CREDENTIAL = Model("CardCredential", (
    Field("number", NAME, required=True),
    Field("expiryYear", NAME, required=True),
    Field("expiryMonth", NAME, required=True),
    Field("birthOrBusinessRegistrationNumber", TEXT),
    Field("passwordTwoDigits", TEXT),
), open=True)
CARD = Model("CardInput", (
    Field("credential", Group(CARD_CREDENTIAL), required=True),
    Field("installmentMonth", Integer(0, 60, request=True)),
), open=True)
VIRTUAL_ACCOUNT = Model("VirtualAccountInput", (Field("bank", TEXT),), open=True)
INSTANT_METHOD = Model("InstantPaymentMethodInput", (
    Field("card", Group(CARD)),
    Field("virtualAccount", Group(VIRTUAL_ACCOUNT)),
), open=True)
_PAYMENT_COMMON = (
    Field("storeId", TEXT),
    Field("channelKey", TEXT),
    Field("orderName", NAME, required=True),
    Field("customer", Group(CUSTOMER)),
    Field("customData", TEXT, description="Any text kept with the payment (by convention, JSON)."),
    Field("amount", Group(AMOUNT), required=True),
    Field("currency", CURRENCY, required=True),
    Field("noticeUrls", URLS, description="Where this payment's webhooks go, in place of the server's."),
    Field("skipWebhook", Boolean()),
)
#: ``POST /payments/{paymentId}/instant``.
PAY_INSTANTLY = Model("InstantPaymentInput", (Field("method", Group(INSTANT_METHOD), required=True), *_PAYMENT_COMMON),
                      open=True)
#: ``POST /payments/{paymentId}/billing-key``.
PAY_WITH_BILLING_KEY = Model("BillingKeyPaymentInput", (Field("billingKey", NAME, required=True), *_PAYMENT_COMMON),
                             open=True)
#: ``POST /payments/{paymentId}/cancel``.
CANCEL = Model("CancelPaymentBody", (
    Field("storeId", TEXT),
    Field("amount", POSITIVE, description="Default: all that is left to cancel."),
    Field("taxFreeAmount", AMOUNT_KIND),
    Field("vatAmount", AMOUNT_KIND),
    Field("reason", NAME, required=True),
    Field("requester", Choice(("CUSTOMER", "ADMIN"), request=True)),
    Field("currentCancellableAmount", AMOUNT_KIND, description="Must be what is left to cancel, when given."),
    Field("skipWebhook", Boolean()),
), open=True)
#: ``POST /payments/{paymentId}/pre-register``.
PRE_REGISTER = Model("PreRegisterPaymentBody", (
    Field("storeId", TEXT),
    Field("totalAmount", AMOUNT_KIND),
    Field("taxFreeAmount", AMOUNT_KIND),
    Field("currency", CURRENCY),
), open=True)
#: ``POST /payments/{paymentId}/confirm``.
CONFIRM = Model("ConfirmPaymentBody", (
    Field("storeId", TEXT),
    Field("paymentToken", NAME, required=True),
    Field("txId", TEXT),
    Field("totalAmount", AMOUNT_KIND),
    Field("currency", CURRENCY),
    Field("isTest", Boolean()),
    Field("skipWebhook", Boolean()),
), open=True)
BILLING_METHOD = Model("InstantBillingKeyPaymentMethodInput", (Field("card", Group(CARD), required=True),), open=True)
#: ``POST /billing-keys``.
ISSUE_BILLING_KEY = Model("IssueBillingKeyBody", (
    Field("method", Group(BILLING_METHOD), required=True),
    Field("storeId", TEXT),
    Field("channelKey", TEXT),
    Field("customer", Group(CUSTOMER)),
    Field("customData", TEXT),
    Field("noticeUrls", URLS),
    Field("skipWebhook", Boolean()),
), open=True)
#: ``GET /payments/{paymentId}`` and ``DELETE /billing-keys/{billingKey}``: their query.
STORE_QUERY = Model("StoreQuery", (Field("storeId", TEXT),), open=True)
PAGE = Model("PageInput", (
    Field("number", Integer(0, 10**9, request=True)),
    Field("size", Integer(1, MAX_PAGE_SIZE, request=True)),
), open=True)
#: The statuses a filter names (``PENDING`` is ``PAY_PENDING``, as PortOne's filter spells it).
FILTER_STATUSES = ("READY", "PENDING", "VIRTUAL_ACCOUNT_ISSUED", "PAID", "FAILED", "PARTIAL_CANCELLED", "CANCELLED")
FILTER = Model("PaymentFilterInput", (
    Field("storeId", TEXT),
    Field("timestampType", Choice(("CREATED_AT", "STATUS_CHANGED_AT"), request=True)),
    Field("from", Timestamp()),
    Field("until", Timestamp()),
    Field("status", ListOf(Choice(FILTER_STATUSES, request=True), max_items=len(FILTER_STATUSES))),
    Field("isTest", Boolean()),
    Field("currency", CURRENCY),
), open=True)
#: ``GET /payments``: the JSON of its ``requestBody`` query parameter.
GET_PAYMENTS = Model("GetPaymentsBody", (Field("page", Group(PAGE)), Field("filter", Group(FILTER))), open=True)
#: ``GET /payments-by-cursor``.
GET_BY_CURSOR = Model("GetAllPaymentsByCursorBody", (
    Field("storeId", TEXT),
    Field("from", Timestamp()),
    Field("until", Timestamp()),
    Field("cursor", TEXT),
    Field("size", Integer(1, MAX_PAGE_SIZE, request=True)),
), open=True)
#: ``POST /payments/{paymentId}/resend-webhook``.
RESEND = Model("ResendWebhookBody", (
    Field("storeId", TEXT),
    Field("webhookId", TEXT, description="Default: the payment's latest webhook."),
), open=True)
#: ``POST /__fakepay/portone/resend-webhook``: the same, for a payment of the secret ``owner``.
REDELIVER = Model("Redeliver", (
    Field("owner", NAME, required=True),
    Field("paymentId", PATH_VALUE, required=True),
    Field("webhookId", TEXT, description="Default: the payment's latest webhook."),
), open=True)
#: ``POST /login/api-secret``.
LOGIN = Model("LoginViaApiSecretBody", (Field("apiSecret", NAME, required=True),), open=True)
#: ``POST /token/refresh``.
REFRESH = Model("RefreshTokenBody", (Field("refreshToken", NAME, required=True),), open=True)
#: ``POST /__fakepay/portone/checkout``: what the browser SDK's ``requestPayment`` takes, whose
#: secret it is, and what the customer's payment comes to.
CHECKOUT = Model("Checkout", (
    Field("owner", NAME, required=True, description="The API secret whose payment it is."),
    Field("paymentId", PATH_VALUE, required=True),
    Field("storeId", TEXT),
    Field("channelKey", TEXT),
    Field("orderName", NAME, required=True),
    Field("totalAmount", AMOUNT_KIND, required=True),
    Field("taxFreeAmount", AMOUNT_KIND),
    Field("vatAmount", AMOUNT_KIND),
    Field("currency", CURRENCY, required=True),
    Field("payMethod", Choice(("CARD", "VIRTUAL_ACCOUNT", "TRANSFER", "MOBILE", "EASY_PAY"), request=True),
          description="Default CARD."),
    Field("customData", Json(), description="Any JSON value, kept as its JSON text (as the browser SDK keeps it)."),
    Field("customer", Group(CUSTOMER)),
    Field("noticeUrls", URLS),
    Field("isTest", Boolean(), description="Default true: a test channel's payment."),
    Field("manualConfirm", Boolean(),
          description="The checkout answers a paymentToken, and the payment waits READY for POST /payments/{id}/confirm."),
    Field("outcome", Choice(OUTCOMES, request=True), description="What the customer's payment comes to; default PAID."),
), open=True)
#: ``POST /__fakepay/portone/deposit``: a deposit into a virtual account issued.
DEPOSIT = Model("Deposit", (
    Field("owner", NAME, required=True),
    Field("paymentId", PATH_VALUE, required=True),
), open=True)
#: ``POST /__fakepay/portone/billing-key``: a billing key issued in the payment window.
WINDOW_BILLING_KEY = Model("WindowBillingKey", (
    Field("owner", NAME, required=True),
    Field("billingKey", PATH_VALUE, description="Default: a new key."),
    Field("storeId", TEXT),
    Field("channelKey", TEXT),
    Field("customer", Group(CUSTOMER)),
    Field("isTest", Boolean()),
    Field("outcome", Choice(("ISSUED", "FAILED"), request=True), description="Default ISSUED."),
), open=True)

Read = TypeVar("Read")


def reading(model: Model, build: Callable[[dict[str, Any]], Read]) -> Callable[[Any], tuple[Read, tuple[()]]]:
    """The parser of a body by ``model``: every problem at once (``InvalidRequest``), else what
    ``build`` makes of the fields read (absent and null ones left out)."""

    def parse(body: Any) -> tuple[Read, tuple[()]]:
        try:
            read = model.read(body)
        except Invalid:  # read again, slowly, to name every problem
            if type(body) is not dict:
                raise InvalidRequest(f"request body must be a JSON object, got {describe(body)}") from None
            reader = Reader(Document(body))
            read = reader.values(model, body, ())
            reader.check(model.name)
        return build(read), ()

    return parse


class Instant(NamedTuple):
    """A payment asked for (instantly, with a billing key, or at the checkout), as rules match it."""

    store_id: str | None
    order_name: str
    total: int
    tax_free: int
    vat: int | None
    currency: str
    custom_data: str | None
    customer: Mapping[str, Any]
    channel_key: str | None
    notice_urls: tuple[str, ...]
    method: str
    billing_key: str | None = None
    is_test: bool = True
    skip_webhook: bool = False

    @classmethod
    def of(cls, read: Mapping[str, Any], method: str) -> Instant:
        """The payment a body of ``PAY_INSTANTLY`` or ``PAY_WITH_BILLING_KEY`` asks for."""
        amount = read["amount"]
        return cls(read.get("storeId"), read["orderName"], amount["total"], amount.get("taxFree", 0), amount.get("vat"),
                   read["currency"], read.get("customData"), read.get("customer", {}), read.get("channelKey"),
                   read.get("noticeUrls", ()), method, read.get("billingKey"), skip_webhook=read.get("skipWebhook", False))

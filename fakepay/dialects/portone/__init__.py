"""PortOne V2 (docs/portone.md): its payments, cancellations, billing keys and tokens over
``PortOne <API secret>``, its JSON as its OpenAPI document types it, its errors, the customer's
step in the payment window as control calls, and its part of a scenario."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...core.calls import Call, Decision
from ...core.dialect import Column, Dialect, Operation, Reply
from ...core.errors import InvalidRequest, PaymentNotFound, Unauthorized
from ...core.fields import PATH_VALUE, Field, Integer, Model, Stated, Text
from ...core.jsontext import dumps
from ...core.rules import Attempt, Matcher
from ...core.webhooks import ATTEMPT
from .errors import (
    AlreadyPaid,
    BillingKeyAlreadyDeleted,
    BillingKeyNotFound,
    CancelAmountExceedsCancellableAmount,
    CancellableAmountConsistencyBroken,
    CancelTaxFreeAmountExceedsCancellableTaxFreeAmount,
    InformationMismatch,
    InvalidPaymentToken,
    PaymentAlreadyCancelled,
    PaymentNotPaid,
    PgProvider,
    SumOfPartsExceedsCancelAmount,
    SumOfPartsExceedsTotalAmount,
)
from .models import (
    CANCEL,
    CHECKOUT,
    CONFIRM,
    DEPOSIT,
    GET_BY_CURSOR,
    GET_PAYMENTS,
    ISSUE_BILLING_KEY,
    LOGIN,
    PAY_INSTANTLY,
    PAY_WITH_BILLING_KEY,
    PRE_REGISTER,
    REDELIVER,
    REFRESH,
    RESEND,
    STORE_QUERY,
    WINDOW_BILLING_KEY,
    Instant,
    format_timestamp,
    reading,
)
from .payments import FAILED, Key, Payment
from .scenario import SECTION, SEED
from .state import DECLINED, Page, PortOneState, sandbox_of
from .webhooks import WebhookNotFound, sent_data
from .wire import billing_key_data, cancellation_data, channel_data, payment_data

__all__ = ["PORTONE"]

Encoder = Callable[[PortOneState, Call, Decision], Reply]


def _failed(call: Call) -> PgProvider:
    what = OPERATIONS[call.operation or ""].asked.format(call.path_value)
    return PgProvider(f"{what} failed: the payment gateway declined it (simulated failure)",
                      DECLINED.pg_code, DECLINED.pg_message)


def _replying(body: Callable[[PortOneState, Any], Any]) -> Encoder:
    """An operation's encoding: the JSON of ``body`` of what it came to, or ``PG_PROVIDER``."""

    def reply(state: PortOneState, call: Call, decision: Decision) -> Reply:
        if decision.failed:
            raise _failed(call)
        return Reply(200, dumps(body(state, decision.value)))

    return reply


def _summary(state: PortOneState, payment: Payment) -> dict[str, Any]:
    assert payment.paid_at is not None and payment.pg_tx_id is not None
    return {"pgTxId": payment.pg_tx_id, "paidAt": format_timestamp(payment.paid_at)}


_resent = _replying(lambda state, sent: {"webhook": sent_data(sent)})
_paid_reply = _replying(lambda state, payment: {"payment": _summary(state, payment)})


def _window(transaction: str, decision: Decision, done: dict[str, Any], closed: bool = False) -> Reply:
    """What the browser SDK answers a step in the payment window: ``done``, or its failure."""
    if decision.failed:
        done = {**done, "code": "FAILURE_TYPE_PG", "message": DECLINED.reason, "pgCode": DECLINED.pg_code,
                "pgMessage": DECLINED.pg_message}
    elif closed:
        done = {**done, "code": "FAILURE_TYPE_PG", "message": "the customer closed the payment window"}
    return Reply(200, dumps({"transactionType": transaction, **done}))


def _checkout_reply(state: PortOneState, call: Call, decision: Decision) -> Reply:
    payment: Payment = decision.value
    done = {"paymentId": payment.payment_id, "txId": payment.transaction_id}
    if payment.payment_token is not None:
        done["paymentToken"] = payment.payment_token
    return _window("PAYMENT", decision, done, closed=call.request["outcome"] == "CLOSED")


def _window_key_reply(state: PortOneState, call: Call, decision: Decision) -> Reply:
    key = call.path_value if decision.value is None else decision.value.billing_key
    return _window("ISSUE_BILLING_KEY", decision, {"billingKey": key})


def _page(state: PortOneState, page: Page) -> dict[str, Any]:
    return {"items": [payment_data(p) for p in page.items],
            "page": {"number": page.number, "size": page.size, "totalCount": page.total}}


def _issued(state: PortOneState, key: Key) -> dict[str, Any]:
    return {"billingKeyInfo": {"billingKey": key.billing_key, "issuedAt": format_timestamp(key.issued_at),
                               "channels": [channel_data(key.owner, key.channel_key, key.is_test)]}}


def _payment_reply(state: PortOneState, call: Call, decision: Decision) -> Reply:
    if decision.failed:
        raise _failed(call)
    return Reply(200, state.encoded(decision.value))


def _by_card(read: dict[str, Any]) -> Instant:
    """The card payment a body asks for."""
    return Instant.of(read, "CARD")


def _checkout(read: dict[str, Any]) -> dict[str, Any]:
    read.setdefault("outcome", "PAID")
    return read


def _owned(call: Call) -> tuple[str, str]:
    assert call.owner is not None and call.path_value is not None
    return call.owner, call.path_value


def _control_owner(state: PortOneState, call: Call) -> str:
    """The owner a control step names (by its secret, or by itself), and the payment or key it is about."""
    call.owner = state.owner_named(call.request["owner"])
    call.path_value = call.request.get("paymentId") or call.request.get("billingKey")
    return call.owner


def _carry_checkout(state: PortOneState, call: Call) -> Decision:
    owner, read = _control_owner(state, call), call.request
    payment_id = read["paymentId"]
    state.checked_registration(owner, payment_id, read["totalAmount"], read.get("taxFreeAmount", 0), read["currency"])
    custom = read.get("customData")
    asked = Instant(read.get("storeId"), read["orderName"], read["totalAmount"], read.get("taxFreeAmount", 0),
                    read.get("vatAmount"), read["currency"], None if custom is None else dumps(custom).decode(),
                    read.get("customer", {}), read.get("channelKey"), read.get("noticeUrls", ()),
                    read.get("payMethod", "VIRTUAL_ACCOUNT" if read["outcome"] == "VIRTUAL_ACCOUNT_ISSUED" else "CARD"),
                    is_test=read.get("isTest", True))
    return state.pay("checkout", owner, payment_id, asked, "PC", read["outcome"], read.get("manualConfirm", False))


def _carry_deposit(state: PortOneState, call: Call) -> Decision:
    return state.deposit(_control_owner(state, call), call.request["paymentId"])


def _carry_window_key(state: PortOneState, call: Call) -> Decision:
    read = call.request
    return state.issue_key("issueBillingKeyInWindow", _control_owner(state, call), read, read.get("billingKey"),
                           failed=read.get("outcome") == FAILED)


def _carry_issue_key(state: PortOneState, call: Call) -> Decision:
    assert call.owner is not None
    return state.issue_key("issueBillingKey", call.owner, call.request)


def _carry_login(state: PortOneState, call: Call) -> Decision:
    call.owner = state.owner_of(call.request["apiSecret"])
    return state.login(call.owner)


def _carry_refresh(state: PortOneState, call: Call) -> Decision:
    return state.refresh(call.request["refreshToken"])


def _store_id(call: Call) -> str | None:
    return None if call.request is None else call.request.get("storeId")


_ERRORS_OF_PAYING = (SumOfPartsExceedsTotalAmount, AlreadyPaid, PgProvider)
_MAYBE_TEXT = Text()
_ANY = Stated({"type": "object", "description": "As PortOne's OpenAPI document types it."})
OPERATIONS: dict[str, Operation] = {
    op.name: op for op in (
        Operation("getPayment", "paymentId", "lookup of payment '{}'",
                  lambda s, c: s.get(*_owned(c), _store_id(c)), _payment_reply,
                  "Look a payment up (the Payment of its status)", _ANY, (PaymentNotFound, PgProvider),
                  body=STORE_QUERY, parse=reading(STORE_QUERY, dict), query=True),
        Operation("getPayments", "", "listing of payments",
                  lambda s, c: s.page(c.owner, c.request), _replying(_page),
                  "A page of payments, newest first, as a filter lets them through", _ANY, (PgProvider,),
                  body=GET_PAYMENTS, parse=reading(GET_PAYMENTS, dict), query=True),
        Operation("getAllPaymentsByCursor", "", "listing of payments by cursor",
                  lambda s, c: s.by_cursor(c.owner, c.request),
                  _replying(lambda s, items: {"items": [{"payment": payment_data(p), "cursor": cursor} for p, cursor in items]}),
                  "Payments after a cursor, oldest first", _ANY, (PgProvider,),
                  body=GET_BY_CURSOR, parse=reading(GET_BY_CURSOR, dict), query=True),
        Operation("payInstantly", "paymentId", "payment '{}'",
                  lambda s, c: s.pay("payInstantly", *_owned(c), c.request), _paid_reply,
                  "Pay at once with card credentials", _ANY, _ERRORS_OF_PAYING,
                  body=PAY_INSTANTLY, changes=True, parse=reading(PAY_INSTANTLY, _by_card), json_only=False),
        Operation("payWithBillingKey", "paymentId", "payment '{}' with a billing key",
                  lambda s, c: s.pay_with_billing_key(*_owned(c), c.request), _paid_reply,
                  "Pay with a billing key", _ANY, (*_ERRORS_OF_PAYING, BillingKeyNotFound, BillingKeyAlreadyDeleted),
                  body=PAY_WITH_BILLING_KEY, changes=True, parse=reading(PAY_WITH_BILLING_KEY, _by_card),
                  json_only=False),
        Operation("cancelPayment", "paymentId", "cancel of payment '{}'",
                  lambda s, c: s.cancel(*_owned(c), c.request),
                  _replying(lambda s, cancellation: {"cancellation": cancellation_data(cancellation)}),
                  "Cancel all that is left of a paid payment, or part of it", _ANY,
                  (PaymentNotFound, PaymentNotPaid, PaymentAlreadyCancelled, CancelAmountExceedsCancellableAmount,
                   CancellableAmountConsistencyBroken, SumOfPartsExceedsCancelAmount,
                   CancelTaxFreeAmountExceedsCancellableTaxFreeAmount, PgProvider),
                  body=CANCEL, changes=True, parse=reading(CANCEL, dict), json_only=False),
        Operation("preRegisterPayment", "paymentId", "pre-registration of payment '{}'",
                  lambda s, c: s.pre_register(*_owned(c), c.request), _replying(lambda s, value: value),
                  "Note the amount the payment window must then ask", _ANY, (AlreadyPaid, PgProvider),
                  body=PRE_REGISTER, changes=True, parse=reading(PRE_REGISTER, dict), json_only=False),
        Operation("confirmPayment", "paymentId", "confirm of payment '{}'",
                  lambda s, c: s.confirm(*_owned(c), c.request),
                  _replying(lambda s, p: {"paymentId": p.payment_id, **_summary(s, p)}),
                  "Confirm a payment the window left for a manual confirm", _ANY,
                  (PaymentNotFound, AlreadyPaid, InvalidPaymentToken, InformationMismatch, PgProvider),
                  body=CONFIRM, changes=True, parse=reading(CONFIRM, dict), json_only=False),
        Operation("resendWebhook", "paymentId", "resend of a webhook of payment '{}'",
                  lambda s, c: s.resend_webhook(*_owned(c), c.request), _resent,
                  "Send a payment's latest webhook again (or the one webhookId names), as a new message", _ANY,
                  (PaymentNotFound, WebhookNotFound, PgProvider),
                  body=RESEND, changes=True, parse=reading(RESEND, dict), json_only=False),
        Operation("issueBillingKey", "", "issuing a billing key", _carry_issue_key, _replying(_issued),
                  "Issue a billing key with card credentials", _ANY, (PgProvider,),
                  body=ISSUE_BILLING_KEY, changes=True, parse=reading(ISSUE_BILLING_KEY, dict), json_only=False),
        Operation("getBillingKeyInfo", "billingKey", "lookup of billing key '{}'",
                  lambda s, c: s.get_key(*_owned(c)), _replying(lambda s, key: billing_key_data(key)),
                  "Look a billing key up", _ANY, (BillingKeyNotFound, PgProvider)),
        Operation("deleteBillingKey", "billingKey", "delete of billing key '{}'",
                  lambda s, c: s.delete_key(*_owned(c)),
                  _replying(lambda s, key: {"deletedAt": format_timestamp(key.deleted_at)}),
                  "Delete a billing key", _ANY, (BillingKeyNotFound, BillingKeyAlreadyDeleted, PgProvider), changes=True),
        Operation("loginViaApiSecret", "", "login", _carry_login, _replying(lambda s, tokens: tokens),
                  "An access token (and a refresh token) for an API secret", _ANY, (Unauthorized, PgProvider),
                  body=LOGIN, authenticated=False, parse=reading(LOGIN, dict), json_only=False, answers_secret=True),
        Operation("refreshToken", "", "token refresh", _carry_refresh, _replying(lambda s, tokens: tokens),
                  "New tokens for a refresh token", _ANY, (Unauthorized, PgProvider),
                  body=REFRESH, authenticated=False, parse=reading(REFRESH, dict), json_only=False, answers_secret=True),
        Operation("checkout", "paymentId", "checkout of payment '{}'", _carry_checkout, _checkout_reply,
                  "The customer pays in the payment window (the browser SDK's requestPayment); answers its PaymentResponse",
                  _ANY, (Unauthorized, SumOfPartsExceedsTotalAmount, AlreadyPaid, InformationMismatch),
                  body=CHECKOUT, authenticated=False, changes=True, parse=reading(CHECKOUT, _checkout), json_only=False),
        Operation("deposit", "paymentId", "deposit for payment '{}'", _carry_deposit, _payment_reply,
                  "The customer deposits into the virtual account a payment was issued", _ANY,
                  (Unauthorized, PaymentNotFound, PgProvider),
                  body=DEPOSIT, authenticated=False, changes=True, parse=reading(DEPOSIT, dict), json_only=False),
        Operation("redeliverWebhook", "paymentId", "resend of a webhook of payment '{}'",
                  lambda s, c: s.resend_webhook(_control_owner(s, c), c.request["paymentId"], c.request), _resent,
                  "Send a payment's latest webhook again (or the one webhookId names), as resendWebhook does", _ANY,
                  (Unauthorized, PaymentNotFound, WebhookNotFound),
                  body=REDELIVER, authenticated=False, changes=True, parse=reading(REDELIVER, dict), json_only=False),
        Operation("issueBillingKeyInWindow", "billingKey", "issuing billing key '{}' in the window", _carry_window_key,
                  _window_key_reply, "The customer has a billing key issued in the payment window "
                  "(the browser SDK's requestIssueBillingKey); answers its IssueBillingKeyResponse", _ANY,
                  (Unauthorized, InvalidRequest),
                  body=WINDOW_BILLING_KEY, authenticated=False, changes=True, parse=reading(WINDOW_BILLING_KEY, dict),
                  json_only=False),
    )
}

ROUTES: tuple[tuple[str, Mapping[str, str]], ...] = (
    ("/payments/{paymentId}", {"GET": "getPayment"}),
    ("/payments", {"GET": "getPayments"}),
    ("/payments-by-cursor", {"GET": "getAllPaymentsByCursor"}),
    ("/payments/{paymentId}/instant", {"POST": "payInstantly"}),
    ("/payments/{paymentId}/billing-key", {"POST": "payWithBillingKey"}),
    ("/payments/{paymentId}/cancel", {"POST": "cancelPayment"}),
    ("/payments/{paymentId}/pre-register", {"POST": "preRegisterPayment"}),
    ("/payments/{paymentId}/confirm", {"POST": "confirmPayment"}),
    ("/payments/{paymentId}/resend-webhook", {"POST": "resendWebhook"}),
    ("/billing-keys", {"POST": "issueBillingKey"}),
    ("/billing-keys/{billingKey}", {"GET": "getBillingKeyInfo", "DELETE": "deleteBillingKey"}),
    ("/login/api-secret", {"POST": "loginViaApiSecret"}),
    ("/token/refresh", {"POST": "refreshToken"}),
)
CONTROL_ROUTES: tuple[tuple[str, Mapping[str, str]], ...] = (
    ("/portone/checkout", {"POST": "checkout"}),
    ("/portone/deposit", {"POST": "deposit"}),
    ("/portone/billing-key", {"POST": "issueBillingKeyInWindow"}),
    ("/portone/resend-webhook", {"POST": "redeliverWebhook"}),
)


def _subject(name: str) -> Callable[[Attempt], Any]:
    def read(attempt: Attempt) -> Any:
        return getattr(attempt.subject, name, None)

    return read


def _valued(param: str) -> Callable[[Attempt], Any]:
    def read(attempt: Attempt) -> Any:
        operation = OPERATIONS.get(attempt.operation)
        return attempt.path_value if (operation.param if operation else "paymentId") == param else None

    return read


MATCHERS = (
    Matcher("paymentId", "glob", _valued("paymentId"), description="The payment's id."),
    Matcher("billingKey", "glob", _valued("billingKey"), description="The billing key (of a billing key's operation)."),
    Matcher("type", "glob", _subject("type"), description="A webhook's event type, such as Transaction.Paid."),
    ATTEMPT,
    Matcher("storeId", "text", _subject("store_id")),
    Matcher("orderName", "glob", _subject("order_name")),
    Matcher("currency", "text", _subject("currency")),
    Matcher("amount.total", "amount", _subject("total"), description="The payment's total amount."),
)

#: A stored payment, as the control API shows it.
STORED = Model("StoredPayment", (
    SEED["owner"],
    Field("paymentId", PATH_VALUE),
    Field("status", Stated({"type": "string"})),
    SEED["storeId"],
    SEED["orderName"],
    Field("totalAmount", Integer(0, 2**53 - 1)),
    Field("cancelledAmount", Integer(0, 2**53 - 1)),
    SEED["currency"],
    Field("paidAt", Stated({"type": ["string", "null"], "format": "date-time"})),
    Field("attempts", Stated({"type": "integer", "minimum": 1}), description="How many payments asked for it."),
    Field("payment", Stated({"type": "object"}), description="The payment as GET /payments/{paymentId} answers it."),
))


def _stored_data(payment: Payment) -> dict[str, Any]:
    return {
        "owner": payment.owner,
        "paymentId": payment.payment_id,
        "status": payment.status,
        "storeId": payment.store_id,
        "orderName": payment.order_name,
        "totalAmount": payment.total,
        "cancelledAmount": payment.cancelled,
        "currency": payment.currency,
        "paidAt": None if payment.paid_at is None else format_timestamp(payment.paid_at),
        "attempts": payment.attempts,
        "payment": payment_data(payment),
    }


COLUMNS = (
    Column("paymentId", "payment id", "id"),
    Column("status", "status", "status"),
    Column("totalAmount", "amount", "amount", unit="currency"),
    Column("cancelledAmount", "cancelled", "amount", unit="currency"),
    Column("orderName", "order name"),
    Column("attempts", "attempts", "count"),
    Column("paidAt", "paidAt", "time"),
)

#: PortOne V2.
PORTONE = Dialect(
    name="portone",
    title="PortOne V2 API",
    operations=OPERATIONS,
    routes=ROUTES,
    matchers=MATCHERS,
    section=SECTION,
    state=PortOneState,
    payment_data=_stored_data,
    stored=STORED,
    statuses=("PAID", "READY", "PAY_PENDING", "VIRTUAL_ACCOUNT_ISSUED", "FAILED", "PARTIAL_CANCELLED", "CANCELLED"),
    columns=COLUMNS,
    format_time=format_timestamp,
    sandbox_of=sandbox_of,
    control_routes=CONTROL_ROUTES,
    webhooks=True,
)

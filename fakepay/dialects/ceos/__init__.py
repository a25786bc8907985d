"""The CEOS payment server (docs/api.md): four operations over HS512-signed secrets, its JSON
byte for byte, its errors, and its part of a scenario."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...core.calls import Call, Decision
from ...core.clock import format_local_datetime
from ...core.dialect import Column, Dialect, Operation, Reply
from ...core.errors import PaymentNotFound
from ...core.fields import Choice, Field, LocalDateTime, Model, Stated, String
from ...core.rules import Attempt, Matcher
from .errors import AlreadyCancelled, AlreadyPaid, PaymentFailed, PaymentNotPaid
from .models import CURRENCIES, INSTANT, parse_instant_request
from .payments import STATUSES, Payment
from .scenario import GITHUB_ID, SECTION, SEED, seed_payment_data
from .secrets import sandbox_of
from .state import CeosState
from .wire import PAID_AT, PAYMENT, RECEIPT, encode_receipt

__all__ = ["CEOS"]

#: How an operation encodes what it came to.
Encoder = Callable[[CeosState, Call, Decision], Reply]


def _failed(state: CeosState, call: Call) -> PaymentFailed:
    what = OPERATIONS[call.operation or ""].asked.format(call.path_value)
    return PaymentFailed(f"{what} failed: the payment system declined it (simulated failure)",
                         state.failure_status)


def _replying(body: Callable[[CeosState, Any], bytes], content_type: str = "application/json") -> Encoder:
    """An operation's encoding: ``body`` of what it came to, or the simulated failure's error."""

    def reply(state: CeosState, call: Call, decision: Decision) -> Reply:
        if decision.failed:
            raise _failed(state, call)
        return Reply(200, body(state, decision.value), content_type)

    return reply


def _secret(state: CeosState, secret: str) -> bytes:
    return secret.encode("ascii")


def _receipt(state: CeosState, payment: Payment) -> bytes:
    return encode_receipt(payment)


_payment_reply = _replying(CeosState.encoded)
_receipt_reply = _replying(_receipt)
_secret_reply = _replying(_secret, "text/plain; charset=utf-8")


def _issue(state: CeosState, call: Call) -> Decision:
    assert call.path_value is not None
    return state.issue_secret(call.path_value)


def _pay(state: CeosState, call: Call) -> Decision:
    assert call.owner is not None and call.path_value is not None
    return state.pay(call.owner, call.path_value, call.request)


def _cancel(state: CeosState, call: Call) -> Decision:
    assert call.owner is not None and call.path_value is not None
    return state.cancel(call.owner, call.path_value)


def _get(state: CeosState, call: Call) -> Decision:
    assert call.owner is not None and call.path_value is not None
    return state.get(call.owner, call.path_value)


OPERATIONS = {
    "auth": Operation("auth", "githubId", "issuing the secret of '{}'", _issue, _secret_reply,
                      "Issue the API secret of a githubId (the same every time)", String(), (PaymentFailed,),
                      path_value=GITHUB_ID, answer_type="text/plain", authenticated=False, answers_secret=True),
    "instant": Operation("instant", "paymentId", "payment '{}'", _pay, _receipt_reply, "Pay", RECEIPT,
                         (AlreadyPaid, PaymentFailed), body=INSTANT, changes=True, parse=parse_instant_request),
    "cancel": Operation("cancel", "paymentId", "cancel of payment '{}'", _cancel, _payment_reply,
                        "Cancel a paid payment (any body is ignored)", PAYMENT,
                        (PaymentNotFound, AlreadyCancelled, PaymentNotPaid, PaymentFailed), changes=True),
    "get": Operation("get", "paymentId", "lookup of payment '{}'", _get, _payment_reply, "Look a payment up", PAYMENT,
                     (PaymentNotFound, PaymentFailed)),
}

ROUTES = (
    ("/payments/{paymentId}", {"GET": "get"}),
    ("/payments/{paymentId}/instant", {"POST": "instant"}),
    ("/payments/{paymentId}/cancel", {"POST": "cancel"}),
    ("/auth/{githubId}", {"GET": "auth"}),
)


def _field(name: str) -> Any:
    def read(attempt: Attempt) -> Any:
        return None if attempt.subject is None else getattr(attempt.subject, name)

    return read


MATCHERS = (
    Matcher("paymentId", "glob", lambda attempt: attempt.path_value, description="The payment's id."),
    Matcher("storeId", "text", _field("store_id")),
    Matcher("orderName", "glob", _field("order_name")),
    Matcher("currency", "choice", _field("currency"), CURRENCIES),
    Matcher("totalPayAmount", "amount", _field("total_pay_amount")),
)


#: A stored payment, as the control API shows it.
STORED = Model("StoredPayment", (
    SEED["owner"],
    SEED["paymentId"],
    *INSTANT.fields,
    Field("status", Choice(STATUSES)),
    PAID_AT,
    Field("attempts", Stated({"type": "integer", "minimum": 1}), description="How many instant payments asked for it."),
    Field("createdAt", LocalDateTime()),
    Field("updatedAt", LocalDateTime()),
))


def _payment_data(payment: Payment) -> dict[str, Any]:
    return {
        **seed_payment_data(payment),
        "attempts": payment.attempts,
        "createdAt": format_local_datetime(payment.created_at),
        "updatedAt": format_local_datetime(payment.updated_at),
    }


COLUMNS = (
    Column("paymentId", "payment id", "id"),
    Column("status", "status", "status"),
    Column("totalPayAmount", "amount", "amount", unit="currency"),
    Column("orderName", "order name"),
    Column("attempts", "attempts", "count"),
    Column("paidAt", "paidAt", "time"),
)

#: The CEOS payment server.
CEOS = Dialect(
    name="ceos",
    title="CEOS payment server",
    operations=OPERATIONS,
    routes=ROUTES,
    matchers=MATCHERS,
    section=SECTION,
    state=CeosState,
    payment_data=_payment_data,
    stored=STORED,
    statuses=STATUSES,
    columns=COLUMNS,
    format_time=format_local_datetime,
    sandbox_of=sandbox_of,
)

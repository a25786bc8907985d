"""PortOne V2 through PortOne's own Python SDK (``portone-server-sdk``), as a shop's server calls
it: every route fakepay serves, each sync and ``_async``, every answer parsed into the SDK's types
and every error raised as the SDK's class of it (never ``UnknownError`` or ``ValueError``)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import requests
from portone_server_sdk import PaymentClient, PortOneClient
from portone_server_sdk.common import CardCredential, CustomerInput, CustomerNameInput, PageInput, PaymentAmountInput
from portone_server_sdk.errors import (
    AlreadyPaidError,
    BillingKeyAlreadyDeletedError,
    BillingKeyNotFoundError,
    CancelAmountExceedsCancellableAmountError,
    CancellableAmountConsistencyBrokenError,
    CancelTaxFreeAmountExceedsCancellableTaxFreeAmountError,
    InformationMismatchError,
    InvalidPaymentTokenError,
    InvalidRequestError,
    PaymentAlreadyCancelledError,
    PaymentNotFoundError,
    PaymentNotPaidError,
    PgProviderError,
    SumOfPartsExceedsCancelAmountError,
    SumOfPartsExceedsTotalAmountError,
    UnauthorizedError,
)
from portone_server_sdk.payment import (
    CancelledPayment,
    FailedPayment,
    InstantPaymentMethodInput,
    InstantPaymentMethodInputCard,
    PaidPayment,
    PartialCancelledPayment,
    Payment,
    PaymentCancellation,
    PaymentFilterInput,
    PaymentMethodCard,
    PaymentMethodVirtualAccount,
    PayPendingPayment,
    ReadyPayment,
    SucceededPaymentCancellation,
    VirtualAccountIssuedPayment,
)
from portone_server_sdk.payment.billing_key import (
    DeletedBillingKeyInfo,
    InstantBillingKeyPaymentMethodInput,
    InstantBillingKeyPaymentMethodInputCard,
    IssuedBillingKeyInfo,
)

from fakepay import FakePay, FakePayControlError

#: One event loop for the module, on which the cached clients' async HTTP clients live.
pytestmark = pytest.mark.asyncio(loop_scope="module")
T = TypeVar("T")
KnownPayment = (ReadyPayment | PayPendingPayment | VirtualAccountIssuedPayment | PaidPayment | FailedPayment
                | PartialCancelledPayment | CancelledPayment)
CREDENTIAL = CardCredential(number="4242424242424242", expiry_year="30", expiry_month="12")
CARD = InstantPaymentMethodInput(card=InstantPaymentMethodInputCard(credential=CREDENTIAL))
KEY_CARD = InstantBillingKeyPaymentMethodInput(card=InstantBillingKeyPaymentMethodInputCard(credential=CREDENTIAL))
CUSTOM = '{"item":"노트북","quantity":1}'


class Sdk:
    """Calls of the SDK the way a test parameter says: its sync method, or the ``_async`` twin."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    async def __call__(self, operation: Callable[..., T], /, **kwargs: Any) -> T:
        if self.mode == "sync":
            return operation(**kwargs)
        twin: Callable[..., Any] = getattr(operation.__self__, f"{operation.__name__}_async")  # type: ignore[attr-defined]
        result: T = await twin(**kwargs)
        return result


def typed(payment: Payment) -> KnownPayment:
    """A payment of one of the SDK's seven types, never the dict it gives for a status it does not know."""
    assert not isinstance(payment, dict), payment
    return payment


def succeeded(cancellation: PaymentCancellation) -> SucceededPaymentCancellation:
    assert isinstance(cancellation, SucceededPaymentCancellation), cancellation
    return cancellation


def ids(payments: list[Any]) -> list[str]:
    return [typed(payment).id for payment in payments]


@pytest.fixture(params=["sync", "async"])
def sdk(request: pytest.FixtureRequest) -> Sdk:
    return Sdk(request.param)


@functools.cache
def _client(url: str, secret: str, store_id: str | None) -> PaymentClient:
    return PaymentClient(secret=secret, base_url=url, store_id=store_id)


def client(fakepay: FakePay, owner: str = "alice", store_id: str | None = None) -> PaymentClient:
    """The SDK's client of ``owner``'s secret; one for the module, as each costs seconds to make
    (it builds many HTTP clients) and its ``_async`` calls live on the module's event loop."""
    return _client(fakepay.url, fakepay.secret(owner), store_id)


@functools.cache
def _portone(url: str, secret: str) -> PortOneClient:
    """The SDK's client of every API (its ``auth`` among them)."""
    return PortOneClient(secret=secret, base_url=url)


@pytest.fixture
def portone(fakepay_portone: FakePay) -> PaymentClient:
    return client(fakepay_portone)


async def pay(sdk: Sdk, portone: PaymentClient, payment_id: str, total: int = 1000, **fields: Any) -> None:
    await sdk(portone.pay_instantly, payment_id=payment_id, method=CARD, order_name="노트북외 1건",
              amount=PaymentAmountInput(total=total, tax_free=fields.pop("tax_free", None)), currency="KRW", **fields)


# -- paying and looking up ---------------------------------------------------------------------------


async def test_a_payment_paid_at_once_is_looked_up_paid(sdk: Sdk, portone: PaymentClient) -> None:
    paid = await sdk(portone.pay_instantly, payment_id="order-1", method=CARD, order_name="노트북외 1건",
                     amount=PaymentAmountInput(total=1500000), currency="KRW", custom_data=CUSTOM,
                     customer=CustomerInput(id="c1", name=CustomerNameInput(full="홍길동"), email="a@b.c"))
    payment = await sdk(portone.get_payment, payment_id="order-1")
    assert isinstance(payment, PaidPayment)
    assert (payment.id, payment.order_name, payment.currency, payment.custom_data) == (
        "order-1", "노트북외 1건", "KRW", CUSTOM)
    assert (payment.amount.total, payment.amount.paid, payment.amount.cancelled) == (1500000, 1500000, 0)
    assert (payment.pg_tx_id, payment.paid_at) == (paid.payment.pg_tx_id, paid.payment.paid_at)
    assert (payment.customer.id, payment.customer.name, payment.customer.email) == ("c1", "홍길동", "a@b.c")
    assert isinstance(payment.method, PaymentMethodCard)
    assert (payment.channel.type, payment.version, payment.origin.platform_type, payment.disputes) == (
        "TEST", "V2", "API", [])
    with pytest.raises(AlreadyPaidError):
        await pay(sdk, portone, "order-1")


async def test_an_unknown_payment_is_not_found(sdk: Sdk, portone: PaymentClient) -> None:
    with pytest.raises(PaymentNotFoundError) as raised:
        await sdk(portone.get_payment, payment_id="nothing here")
    assert raised.value.message == "payment 'nothing here' not found"


async def test_ids_with_spaces_and_korean_travel_percent_encoded(sdk: Sdk, portone: PaymentClient) -> None:
    await pay(sdk, portone, "주문 1?#")
    assert typed(await sdk(portone.get_payment, payment_id="주문 1?#")).id == "주문 1?#"


async def test_a_payment_of_parts_beyond_its_total_is_refused(sdk: Sdk, portone: PaymentClient) -> None:
    with pytest.raises(SumOfPartsExceedsTotalAmountError):
        await pay(sdk, portone, "p", total=1000, tax_free=1001)
    with pytest.raises(PaymentNotFoundError):
        await sdk(portone.get_payment, payment_id="p")


async def test_a_bad_field_is_an_invalid_request(sdk: Sdk, portone: PaymentClient) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        await pay(sdk, portone, "p", total=-1)
    assert "amount.total" in str(raised.value.message)
    with pytest.raises(InvalidRequestError):
        await sdk(portone.get_payments, page=PageInput(size=0))


async def test_a_secret_fakepay_cannot_take_is_unauthorized(sdk: Sdk, fakepay_portone: FakePay) -> None:
    stranger = _client(fakepay_portone.url, "two words", None)
    with pytest.raises(UnauthorizedError):
        await sdk(stranger.get_payment, payment_id="p")


async def test_two_secrets_never_see_each_others_payments_or_keys(sdk: Sdk, fakepay_portone: FakePay) -> None:
    alice, bob = client(fakepay_portone, "alice"), client(fakepay_portone, "bob")
    await pay(sdk, alice, "same-id")
    key = (await sdk(alice.billing_key.issue_billing_key, method=KEY_CARD)).billing_key_info.billing_key
    with pytest.raises(PaymentNotFoundError):
        await sdk(bob.get_payment, payment_id="same-id")
    with pytest.raises(BillingKeyNotFoundError):
        await sdk(bob.billing_key.get_billing_key_info, billing_key=key)
    assert (await sdk(bob.get_payments)).page.total_count == 0
    await pay(sdk, bob, "same-id", total=5)
    assert typed(await sdk(alice.get_payment, payment_id="same-id")).amount.total == 1000


async def test_a_store_id_finds_only_that_stores_payments(sdk: Sdk, fakepay_portone: FakePay) -> None:
    shop = client(fakepay_portone, store_id="store-a")
    await pay(sdk, shop, "p")
    assert typed(await sdk(shop.get_payment, payment_id="p")).store_id == "store-a"
    with pytest.raises(PaymentNotFoundError):
        await sdk(client(fakepay_portone, store_id="store-b").get_payment, payment_id="p")


# -- every status parses ----------------------------------------------------------------------------


async def test_every_status_of_a_checkout_parses(sdk: Sdk, portone: PaymentClient, fakepay_portone: FakePay) -> None:
    for outcome in ("PAID", "FAILED", "VIRTUAL_ACCOUNT_ISSUED", "PAY_PENDING", "CLOSED"):
        fakepay_portone.checkout("alice", outcome, order_name="o", total_amount=1000, outcome=outcome,
                                 custom_data={"sku": 1})
    get = portone.get_payment
    paid = await sdk(get, payment_id="PAID")
    assert isinstance(paid, PaidPayment)
    assert (paid.custom_data, paid.origin.platform_type) == ('{"sku":1}', "PC")
    failed = await sdk(get, payment_id="FAILED")
    assert isinstance(failed, FailedPayment)
    assert (failed.failure.pg_code, failed.amount.paid) == ("FAKEPAY_DECLINED", 0)
    issued = await sdk(get, payment_id="VIRTUAL_ACCOUNT_ISSUED")
    assert isinstance(issued, VirtualAccountIssuedPayment)
    assert isinstance(issued.method, PaymentMethodVirtualAccount)
    assert issued.method.account_number
    assert isinstance(await sdk(get, payment_id="PAY_PENDING"), PayPendingPayment)
    assert isinstance(await sdk(get, payment_id="CLOSED"), ReadyPayment)
    fakepay_portone.deposit("alice", "VIRTUAL_ACCOUNT_ISSUED")
    deposited = await sdk(get, payment_id="VIRTUAL_ACCOUNT_ISSUED")
    assert isinstance(deposited, PaidPayment)
    assert deposited.amount.paid == 1000


async def test_every_status_seeded_parses(sdk: Sdk, portone: PaymentClient, fakepay_portone: FakePay) -> None:
    def seed(payment_id: str, **fields: Any) -> dict[str, Any]:
        return {"owner": "alice", "paymentId": payment_id, "orderName": "o", "amount": {"total": 1000},
                "currency": "KRW", **fields}

    fakepay_portone.seed_payments(
        *(seed(status, status=status) for status in ("READY", "PAY_PENDING", "VIRTUAL_ACCOUNT_ISSUED", "PAID", "FAILED")),
        seed("PARTIAL_CANCELLED", cancellations=[{"amount": 300, "reason": "r"}]),
        seed("CANCELLED", cancellations=[{"amount": 400, "reason": "r"}, {"amount": 600, "reason": "r"}]),
    )
    kinds = {"READY": ReadyPayment, "PAY_PENDING": PayPendingPayment, "VIRTUAL_ACCOUNT_ISSUED": VirtualAccountIssuedPayment,
             "PAID": PaidPayment, "FAILED": FailedPayment, "PARTIAL_CANCELLED": PartialCancelledPayment,
             "CANCELLED": CancelledPayment}
    for payment_id, kind in kinds.items():
        assert isinstance(await sdk(portone.get_payment, payment_id=payment_id), kind), payment_id
    partial = await sdk(portone.get_payment, payment_id="PARTIAL_CANCELLED")
    assert isinstance(partial, PartialCancelledPayment)
    assert (partial.amount.cancelled, succeeded(partial.cancellations[0]).total_amount) == (300, 300)
    listed = await sdk(portone.get_payments, page=PageInput(size=100))
    assert sorted(type(p).__name__ for p in listed.items) == sorted(kind.__name__ for kind in kinds.values())


# -- lists ------------------------------------------------------------------------------------------


async def test_a_page_of_payments_as_a_filter_lets_them_through(sdk: Sdk, portone: PaymentClient,
                                                                 fakepay_portone: FakePay) -> None:
    fakepay_portone.freeze_time("2025-10-22T10:00:00")
    for index in range(5):
        await pay(sdk, portone, f"p{index}")
        fakepay_portone.advance_time(60_000)
    fakepay_portone.checkout("alice", "pending", order_name="o", total_amount=1, outcome="PAY_PENDING", store_id="other")
    payments = portone.get_payments
    first = await sdk(payments, page=PageInput(number=0, size=2))
    assert ids(first.items) == ["pending", "p4"]
    assert (first.page.number, first.page.size, first.page.total_count) == (0, 2, 6)
    second = await sdk(payments, page=PageInput(number=1, size=2))
    assert ids(second.items) == ["p3", "p2"]
    pending = await sdk(payments, filter=PaymentFilterInput(status=["PENDING"]))
    assert [(typed(p).id, type(p)) for p in pending.items] == [("pending", PayPendingPayment)]
    paid = await sdk(payments, filter=PaymentFilterInput(status=["PAID", "FAILED"], store_id=typed(pending.items[0]).store_id))
    assert paid.items == []
    other = await sdk(payments, filter=PaymentFilterInput(store_id="other"))
    assert ids(other.items) == ["pending"]
    # p1 was asked at 01:01:00Z (10:01 in Seoul), p3 at 01:03:00Z; until is exclusive
    window = await sdk(payments, filter=PaymentFilterInput(timestamp_type="CREATED_AT", from_="2025-10-22T01:01:00Z",
                                                           until="2025-10-22T01:03:00.000Z"))
    assert ids(window.items) == ["p2", "p1"]
    changed = await sdk(payments, filter=PaymentFilterInput(timestamp_type="STATUS_CHANGED_AT",
                                                            from_="2025-10-22T10:04:00+09:00"))
    assert ids(changed.items) == ["pending", "p4"]


async def test_all_payments_by_cursor_oldest_first(sdk: Sdk, portone: PaymentClient, fakepay_portone: FakePay) -> None:
    fakepay_portone.freeze_time("2025-10-22T10:00:00")
    for index in range(5):
        await pay(sdk, portone, f"p{index}")
        fakepay_portone.advance_time(60_000)
    by_cursor = portone.get_all_payments_by_cursor
    first = await sdk(by_cursor, size=2)
    assert ids([item.payment for item in first.items]) == ["p0", "p1"]
    rest = await sdk(by_cursor, cursor=first.items[-1].cursor, size=10)
    assert ids([item.payment for item in rest.items]) == ["p2", "p3", "p4"]
    assert all(isinstance(item.payment, PaidPayment) for item in rest.items)
    window = await sdk(by_cursor, from_="2025-10-22T01:01:00Z", until="2025-10-22T01:03:00Z")
    assert ids([item.payment for item in window.items]) == ["p1", "p2"]
    with pytest.raises(InvalidRequestError):
        await sdk(by_cursor, cursor="not a cursor")


# -- cancelling -------------------------------------------------------------------------------------


async def test_a_partial_cancel_then_the_rest(sdk: Sdk, portone: PaymentClient) -> None:
    await pay(sdk, portone, "p", total=1000, tax_free=500)
    cancel = portone.cancel_payment
    first = await sdk(cancel, payment_id="p", reason="반품", amount=300, tax_free_amount=100)
    assert isinstance(first.cancellation, SucceededPaymentCancellation)
    assert (first.cancellation.total_amount, first.cancellation.tax_free_amount, first.cancellation.reason) == (
        300, 100, "반품")
    payment = await sdk(portone.get_payment, payment_id="p")
    assert isinstance(payment, PartialCancelledPayment)
    assert (payment.amount.cancelled, payment.amount.cancelled_tax_free) == (300, 100)
    assert succeeded(payment.cancellations[0]).total_amount == 300
    with pytest.raises(CancellableAmountConsistencyBrokenError):
        await sdk(cancel, payment_id="p", reason="r", current_cancellable_amount=1000)
    with pytest.raises(CancelAmountExceedsCancellableAmountError):
        await sdk(cancel, payment_id="p", reason="r", amount=701)
    with pytest.raises(CancelTaxFreeAmountExceedsCancellableTaxFreeAmountError):
        await sdk(cancel, payment_id="p", reason="r", amount=500, tax_free_amount=401)
    with pytest.raises(SumOfPartsExceedsCancelAmountError):
        await sdk(cancel, payment_id="p", reason="r", amount=100, tax_free_amount=101)
    rest = await sdk(cancel, payment_id="p", reason="r", current_cancellable_amount=700)
    assert (succeeded(rest.cancellation).total_amount, succeeded(rest.cancellation).tax_free_amount) == (700, 400)
    cancelled = await sdk(portone.get_payment, payment_id="p")
    assert isinstance(cancelled, CancelledPayment)
    assert (cancelled.amount.cancelled, [succeeded(c).total_amount for c in cancelled.cancellations]) == (1000, [300, 700])
    with pytest.raises(PaymentAlreadyCancelledError):
        await sdk(cancel, payment_id="p", reason="r")


async def test_a_whole_cancel(sdk: Sdk, portone: PaymentClient) -> None:
    await pay(sdk, portone, "p")
    cancelled = await sdk(portone.cancel_payment, payment_id="p", reason="r", requester="CUSTOMER")
    assert succeeded(cancelled.cancellation).total_amount == 1000
    assert isinstance(await sdk(portone.get_payment, payment_id="p"), CancelledPayment)


async def test_what_is_not_paid_cannot_be_cancelled(sdk: Sdk, portone: PaymentClient, fakepay_portone: FakePay) -> None:
    for outcome in ("FAILED", "VIRTUAL_ACCOUNT_ISSUED", "PAY_PENDING", "CLOSED"):
        fakepay_portone.checkout("alice", outcome, order_name="o", total_amount=1000, outcome=outcome)
        with pytest.raises(PaymentNotPaidError):
            await sdk(portone.cancel_payment, payment_id=outcome, reason="r")
    with pytest.raises(PaymentNotFoundError):
        await sdk(portone.cancel_payment, payment_id="unknown", reason="r")


# -- billing keys -----------------------------------------------------------------------------------


async def test_a_billing_key_pays_until_it_is_deleted(sdk: Sdk, portone: PaymentClient) -> None:
    keys = portone.billing_key
    issued = await sdk(keys.issue_billing_key, method=KEY_CARD, customer=CustomerInput(id="c1"))
    key = issued.billing_key_info.billing_key
    assert issued.billing_key_info.channels and issued.billing_key_info.channels[0].type == "TEST"
    info = await sdk(keys.get_billing_key_info, billing_key=key)
    assert isinstance(info, IssuedBillingKeyInfo)
    assert (info.billing_key, info.customer.id, info.issued_at) == (key, "c1", issued.billing_key_info.issued_at)
    paid = await sdk(portone.pay_with_billing_key, payment_id="sub-1", billing_key=key, order_name="월 구독",
                     amount=PaymentAmountInput(total=9900), currency="KRW", custom_data=CUSTOM)
    payment = await sdk(portone.get_payment, payment_id="sub-1")
    assert isinstance(payment, PaidPayment)
    assert (payment.billing_key, payment.pg_tx_id, payment.custom_data) == (key, paid.payment.pg_tx_id, CUSTOM)
    with pytest.raises(AlreadyPaidError):
        await sdk(portone.pay_with_billing_key, payment_id="sub-1", billing_key=key, order_name="o",
                  amount=PaymentAmountInput(total=1), currency="KRW")
    deleted = await sdk(keys.delete_billing_key, billing_key=key, reason="해지", requester="CUSTOMER")
    info = await sdk(keys.get_billing_key_info, billing_key=key)
    assert isinstance(info, DeletedBillingKeyInfo)
    assert info.deleted_at == deleted.deleted_at
    with pytest.raises(BillingKeyAlreadyDeletedError):
        await sdk(keys.delete_billing_key, billing_key=key)
    with pytest.raises(BillingKeyAlreadyDeletedError):
        await sdk(portone.pay_with_billing_key, payment_id="sub-2", billing_key=key, order_name="o",
                  amount=PaymentAmountInput(total=1), currency="KRW")


async def test_an_unknown_billing_key_is_not_found(sdk: Sdk, portone: PaymentClient) -> None:
    keys = portone.billing_key
    with pytest.raises(BillingKeyNotFoundError):
        await sdk(keys.get_billing_key_info, billing_key="nope")
    with pytest.raises(BillingKeyNotFoundError):
        await sdk(keys.delete_billing_key, billing_key="nope")
    with pytest.raises(BillingKeyNotFoundError):
        await sdk(portone.pay_with_billing_key, payment_id="p", billing_key="nope", order_name="o",
                  amount=PaymentAmountInput(total=1), currency="KRW")


async def test_a_billing_key_of_the_window_pays(sdk: Sdk, portone: PaymentClient, fakepay_portone: FakePay) -> None:
    key = fakepay_portone.issue_billing_key("alice", "my-key")["billingKey"]
    assert isinstance(await sdk(portone.billing_key.get_billing_key_info, billing_key=key), IssuedBillingKeyInfo)
    await sdk(portone.pay_with_billing_key, payment_id="p", billing_key=key, order_name="o",
              amount=PaymentAmountInput(total=1), currency="KRW")
    assert isinstance(await sdk(portone.get_payment, payment_id="p"), PaidPayment)


# -- the payment window, pre-registered and confirmed --------------------------------------------------


async def test_a_pre_registered_amount_is_what_the_checkout_must_ask(sdk: Sdk, portone: PaymentClient,
                                                                     fakepay_portone: FakePay) -> None:
    await sdk(portone.pre_register_payment, payment_id="p", total_amount=1000, currency="KRW")
    with pytest.raises(FakePayControlError) as raised:
        fakepay_portone.checkout("alice", "p", order_name="o", total_amount=2000)
    assert (raised.value.status, raised.value.type) == (409, "INFORMATION_MISMATCH")
    assert fakepay_portone.payment("alice", "p") is None
    fakepay_portone.checkout("alice", "p", order_name="o", total_amount=1000)
    assert isinstance(await sdk(portone.get_payment, payment_id="p"), PaidPayment)
    with pytest.raises(AlreadyPaidError):
        await sdk(portone.pre_register_payment, payment_id="p", total_amount=1000)


async def test_a_manual_confirm_pays_with_the_checkouts_token(sdk: Sdk, portone: PaymentClient,
                                                              fakepay_portone: FakePay) -> None:
    token = fakepay_portone.checkout("alice", "p", order_name="o", total_amount=1000, manual_confirm=True)["paymentToken"]
    assert isinstance(await sdk(portone.get_payment, payment_id="p"), ReadyPayment)
    confirm = portone.confirm_payment
    with pytest.raises(InvalidPaymentTokenError):
        await sdk(confirm, payment_id="p", payment_token="not-the-token")
    with pytest.raises(InformationMismatchError):
        await sdk(confirm, payment_id="p", payment_token=token, total_amount=999)
    with pytest.raises(PaymentNotFoundError):
        await sdk(confirm, payment_id="other", payment_token=token)
    confirmed = await sdk(confirm, payment_id="p", payment_token=token, total_amount=1000, currency="KRW")
    payment = await sdk(portone.get_payment, payment_id="p")
    assert isinstance(payment, PaidPayment)
    assert (payment.pg_tx_id, payment.paid_at) == (confirmed.pg_tx_id, confirmed.paid_at)
    with pytest.raises(AlreadyPaidError):
        await sdk(confirm, payment_id="p", payment_token=token)


# -- the gateway declining --------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["payInstantly", "payWithBillingKey", "cancelPayment", "confirmPayment"])
async def test_a_rule_that_fails_is_a_pg_provider_error(sdk: Sdk, portone: PaymentClient, fakepay_portone: FakePay,
                                                        operation: str) -> None:
    key = fakepay_portone.issue_billing_key("alice")["billingKey"]
    await pay(sdk, portone, "paid")
    token = fakepay_portone.checkout("alice", "manual", order_name="o", total_amount=1, manual_confirm=True)["paymentToken"]
    fakepay_portone.add_rule("fail", {"operation": operation})
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "payInstantly": lambda: pay(sdk, portone, "new"),
        "payWithBillingKey": lambda: sdk(portone.pay_with_billing_key, payment_id="new", billing_key=key,
                                         order_name="o", amount=PaymentAmountInput(total=1), currency="KRW"),
        "cancelPayment": lambda: sdk(portone.cancel_payment, payment_id="paid", reason="r"),
        "confirmPayment": lambda: sdk(portone.confirm_payment, payment_id="manual", payment_token=token),
    }
    with pytest.raises(PgProviderError) as raised:
        await calls[operation]()
    assert (raised.value.pg_code, raised.value.pg_message) == (
        "FAKEPAY_DECLINED", "declined by fakepay's simulated payment gateway")
    assert raised.value.message
    failed = {"payInstantly": "new", "payWithBillingKey": "new", "confirmPayment": "manual"}.get(operation)
    if failed is not None:
        assert isinstance(await sdk(portone.get_payment, payment_id=failed), FailedPayment)
    else:
        assert isinstance(await sdk(portone.get_payment, payment_id="paid"), PaidPayment)


async def test_a_random_failure_is_a_pg_provider_error(sdk: Sdk, portone: PaymentClient, fakepay_portone: FakePay) -> None:
    fakepay_portone.set_failure_rate(1.0)
    with pytest.raises(PgProviderError):
        await pay(sdk, portone, "p")
    payment = await sdk(portone.get_payment, payment_id="p")
    assert isinstance(payment, FailedPayment)
    fakepay_portone.set_failure_rate(0.0)
    await pay(sdk, portone, "p")  # a failed id may be paid again
    assert isinstance(await sdk(portone.get_payment, payment_id="p"), PaidPayment)


# -- tokens -----------------------------------------------------------------------------------------


async def test_tokens_from_the_secret_and_refreshed(sdk: Sdk, portone: PaymentClient, fakepay_portone: FakePay) -> None:
    await pay(sdk, portone, "p")
    auth = _portone(fakepay_portone.url, fakepay_portone.secret("alice")).auth
    tokens = await sdk(auth.login_via_api_secret, api_secret=fakepay_portone.secret("alice"))
    url = f"{fakepay_portone.url}/payments/p"
    answer = requests.get(url, headers={"Authorization": f"Bearer {tokens.access_token}"}, timeout=10)
    assert (answer.status_code, answer.json()["id"]) == (200, "p")
    renewed = await sdk(auth.refresh_token, refresh_token=tokens.refresh_token)
    assert renewed.access_token != tokens.access_token
    answer = requests.get(url, headers={"Authorization": f"Bearer {renewed.access_token}"}, timeout=10)
    assert answer.status_code == 200
    with pytest.raises(UnauthorizedError):
        await sdk(auth.refresh_token, refresh_token=tokens.refresh_token)
    with pytest.raises(UnauthorizedError):
        await sdk(auth.refresh_token, refresh_token=renewed.access_token)
    with pytest.raises(UnauthorizedError):
        await sdk(auth.login_via_api_secret, api_secret="two words")
    with pytest.raises(InvalidRequestError):
        await sdk(auth.login_via_api_secret, api_secret="")

import pytest
from portone_server_sdk import PaymentClient
from portone_server_sdk.common import PaymentAmountInput
from portone_server_sdk.errors import PgProviderError
from portone_server_sdk.payment import PaidPayment


def test_a_paid_checkout_is_verified_and_refunded(fakepay_portone):
    secret = fakepay_portone.secret("shop")                 # the API secret your server is given
    client = PaymentClient(secret=secret, base_url=fakepay_portone.url)

    # the customer pays in the payment window (what the browser SDK's requestPayment does)
    fakepay_portone.checkout(secret, "order-1", order_name="노트북", total_amount=1500000)

    payment = client.get_payment(payment_id="order-1")      # your server verifies the payment
    assert isinstance(payment, PaidPayment) and payment.amount.total == 1500000

    client.cancel_payment(payment_id="order-1", reason="고객 변심")
    assert fakepay_portone.payment("shop", "order-1")["status"] == "CANCELLED"


def test_a_declined_billing_key_payment_can_be_paid_again(fakepay_portone):
    secret = fakepay_portone.secret("shop")
    client = PaymentClient(secret=secret, base_url=fakepay_portone.url)
    key = fakepay_portone.issue_billing_key(secret)["billingKey"]
    fakepay_portone.add_rule("fail", {"operation": "payWithBillingKey"}, times=1)   # the gateway declines once

    def pay():
        return client.pay_with_billing_key(payment_id="sub-1", billing_key=key, order_name="월간 구독",
                                           amount=PaymentAmountInput(total=9900), currency="KRW")

    with pytest.raises(PgProviderError) as declined:
        pay()
    assert declined.value.pg_code == "FAKEPAY_DECLINED"
    assert fakepay_portone.payment("shop", "sub-1")["status"] == "FAILED"
    pay()
    assert fakepay_portone.payment("shop", "sub-1")["status"] == "PAID"

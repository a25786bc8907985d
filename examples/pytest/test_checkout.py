import requests

BODY = {"storeId": "my_store_001", "orderName": "노트북외 1건", "totalPayAmount": 1500000, "currency": "KRW"}


def test_checkout_retries_a_failed_payment(fakepay):
    headers = {"Authorization": f"Bearer {fakepay.secret('alice')}"}
    fakepay.fail_next(1)                                   # the next payment fails with 500

    first = requests.post(f"{fakepay.url}/payments/order-1/instant", json=BODY, headers=headers)
    retry = requests.post(f"{fakepay.url}/payments/order-1/instant", json=BODY, headers=headers)

    assert (first.status_code, retry.status_code) == (500, 200)
    assert fakepay.payment("alice", "order-1")["attempts"] == 2
    assert [e["status"] for e in fakepay.requests(operation="instant")] == [500, 200]

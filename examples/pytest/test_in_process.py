from fakepay import issue_secret


async def test_pay_in_process(aiohttp_client, fakepay_app):
    client = await aiohttp_client(fakepay_app)
    body = {"storeId": "my_store_001", "orderName": "order", "totalPayAmount": 1000, "currency": "KRW"}
    response = await client.post("/payments/order-1/instant", json=body,
                                 headers={"Authorization": f"Bearer {issue_secret('alice')}"})
    assert response.status == 200

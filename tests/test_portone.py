"""PortOne V2 over plain HTTP, as PortOne answers it: the exact JSON of a payment of each status on a
frozen clock (its random ids by their shape), every error's status and body, routes and methods
that do not exist, bodies whatever their media type, the query's ``requestBody``, the secret and
the tokens, what two secrets see of each other, and a sandbox's secrets."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import requests
from aiohttp import ClientResponse

from fakepay import FakePay, PaymentService, create_app
from fakepay.dialects.portone.state import ACCESS_TOKEN_S

from .support import Client, exchange, exchange_async, raw_request, scenario

#: The secret's own ids (the same every run), and the frozen clock (2025-10-22T20:21:35.529482 in Seoul).
MERCHANT = "merchant-e85a015d-0f77-5da6-9618-7d189c6247dc"
STORE = "store-e85a015d-0f77-5da6-9618-7d189c6247dc"
CHANNEL = {"type": "TEST", "id": "channel-c96814ac-c458-54b6-9efc-689ad5bcd426",
           "key": "channel-key-e85a015d-0f77-5da6-9618-7d189c6247dc", "name": "fakepay", "pgProvider": "TOSSPAYMENTS",
           "pgMerchantId": "fakepay"}
AT = "2025-10-22T11:21:35.529Z"
LATER = "2025-10-22T11:22:35.529Z"
ALICE = {"Authorization": "PortOne alice"}
CARD: dict[str, Any] = {"card": {"credential": {"number": "4242424242424242", "expiryYear": "30", "expiryMonth": "12"}}}
PAY: dict[str, Any] = {"method": CARD, "orderName": "노트북외 1건", "amount": {"total": 1000, "taxFree": 500}, "currency": "KRW"}
#: An id made by fakepay: its kind and a UUID (4 when made at random, 5 when derived from what was
#: seeded); a virtual account's number.
_RANDOM = re.compile(r"\b(transaction|pg|cancellation|billing-key)-[0-9a-f]{8}-[0-9a-f]{4}-[45][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\b")
_ACCOUNT = re.compile(r'"accountNumber":"[0-9a-f]{12}"')
DECLINED = {"reason": "the payment gateway declined the payment (simulated)", "pgCode": "FAKEPAY_DECLINED",
            "pgMessage": "declined by fakepay's simulated payment gateway"}


def masked(body: bytes) -> str:
    """The body's text with each random id as ``kind-*``, each virtual account's number as ``*``."""
    return _ACCOUNT.sub('"accountNumber":"*"', _RANDOM.sub(r"\1-*", body.decode()))


def text(value: Any) -> str:
    """JSON as fakepay writes it: compact, in UTF-8, keys in the order given."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[Client]]) -> Client:
    return await aiohttp_client(create_app(PaymentService(scenario(api="portone"))))


async def control(client: Client, path: str, body: Any) -> Any:
    response = await client.post(f"/__fakepay{path}", json=body)
    assert response.status == 200, await response.text()
    return await response.json()


async def checkout(client: Client, payment_id: str, outcome: str = "PAID", **fields: Any) -> Any:
    return await control(client, "/portone/checkout", {"owner": "alice", "paymentId": payment_id, "orderName": "o",
                                                       "totalAmount": 1000, "currency": "KRW", "outcome": outcome,
                                                       **fields})


async def answer(response: ClientResponse) -> tuple[int, str]:
    assert response.headers["Content-Type"] == "application/json"
    return response.status, masked(await response.read())


def payment(status: str, payment_id: str, **fields: Any) -> dict[str, Any]:
    """A payment of alice's of 1000 KRW paid in the window (at the frozen instant), with ``fields``
    in their place (None: left out) and those after them."""
    data: dict[str, Any] = {
        "status": status, "id": payment_id, "transactionId": "transaction-*", "merchantId": MERCHANT, "storeId": STORE,
        "method": {"type": "PaymentMethodCard"}, "channel": CHANNEL, "version": "V2", "requestedAt": AT,
        "updatedAt": AT, "statusChangedAt": AT, "orderName": "o",
        "amount": {"total": 1000, "taxFree": 0, "discount": 0, "paid": 0, "cancelled": 0, "cancelledTaxFree": 0},
        "currency": "KRW", "customer": {}, "origin": {"platformType": "PC", "ipAddress": "127.0.0.1"},
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


PAID_AMOUNT = {"total": 1000, "taxFree": 0, "discount": 0, "paid": 1000, "cancelled": 0, "cancelledTaxFree": 0}


# -- a payment of each status, exactly ----------------------------------------------------------------


async def test_a_payment_of_each_status_of_the_window(client: Client) -> None:
    await checkout(client, "paid", customData={"sku": 1}, customer={"id": "c1", "name": {"full": "홍길동"}})
    await checkout(client, "failed", "FAILED")
    await checkout(client, "issued", "VIRTUAL_ACCOUNT_ISSUED")
    await checkout(client, "pending", "PAY_PENDING")
    await checkout(client, "ready", "CLOSED")
    expected = {
        "paid": payment("PAID", "paid", amount=PAID_AMOUNT, customer={"id": "c1", "name": "홍길동"},
                        customData='{"sku":1}', pgTxId="pg-*", paidAt=AT, disputes=[]),
        "failed": payment("FAILED", "failed", failedAt=AT, failure=DECLINED),
        "issued": payment("VIRTUAL_ACCOUNT_ISSUED", "issued", method={"type": "PaymentMethodVirtualAccount",
                                                                      "accountNumber": "*"}, pgTxId="pg-*"),
        "pending": payment("PAY_PENDING", "pending", pgTxId="pg-*"),
        "ready": payment("READY", "ready", method=None),
    }
    for payment_id, data in expected.items():
        assert await answer(await client.get(f"/payments/{payment_id}", headers=ALICE)) == (200, text(data))


async def test_cancelled_in_part_then_in_full(client: Client) -> None:
    await checkout(client, "p", taxFreeAmount=100)
    await control(client, "/clock", {"advance_ms": 60_000})
    cancelled = await client.post("/payments/p/cancel", headers=ALICE, json={"reason": "반품", "amount": 300})
    one = {"status": "SUCCEEDED", "id": "cancellation-*", "pgCancellationId": "pg-*", "totalAmount": 300,
           "taxFreeAmount": 0, "vatAmount": 27, "reason": "반품", "cancelledAt": LATER, "requestedAt": LATER}
    assert await answer(cancelled) == (200, text({"cancellation": one}))
    amount = {**PAID_AMOUNT, "taxFree": 100, "cancelled": 300}
    partial = payment("PARTIAL_CANCELLED", "p", updatedAt=LATER, statusChangedAt=LATER, amount=amount, pgTxId="pg-*",
                      paidAt=AT, cancellations=[one], cancelledAt=LATER)
    assert await answer(await client.get("/payments/p", headers=ALICE)) == (200, text(partial))
    rest = await client.post("/payments/p/cancel", headers=ALICE, json={"reason": "r"})
    two = {**one, "totalAmount": 700, "taxFreeAmount": 100, "vatAmount": 54, "reason": "r"}
    assert await answer(rest) == (200, text({"cancellation": two}))
    whole = {**partial, "status": "CANCELLED", "amount": {**amount, "cancelled": 1000, "cancelledTaxFree": 100},
             "cancellations": [one, two]}
    assert await answer(await client.get("/payments/p", headers=ALICE)) == (200, text(whole))


async def test_a_seeded_payment_of_each_status(aiohttp_client: Callable[..., Awaitable[Client]]) -> None:
    seeds: list[dict[str, Any]] = [{"owner": "alice", "paymentId": status, "status": status, "orderName": "o", "amount": {"total": 1000},
              "currency": "KRW"} for status in ("READY", "PAY_PENDING", "VIRTUAL_ACCOUNT_ISSUED", "PAID", "FAILED")]
    seeds.append({"owner": "alice", "paymentId": "CANCELLED", "orderName": "o", "amount": {"total": 1000},
                  "currency": "KRW", "cancellations": [{"amount": 1000, "reason": "r"}]})
    client = await aiohttp_client(create_app(PaymentService(scenario(api="portone", payments=seeds))))
    api = {"platformType": "API", "ipAddress": "127.0.0.1"}
    seeded = {"reason": "seeded as FAILED", "pgCode": "FAKEPAY_SEEDED", "pgMessage": "seeded as FAILED by the scenario"}
    cancellation = {"status": "SUCCEEDED", "id": "cancellation-*", "pgCancellationId": "pg-*", "totalAmount": 1000,
                    "taxFreeAmount": 0, "vatAmount": 90, "reason": "r", "cancelledAt": AT, "requestedAt": AT}
    expected = {
        "READY": payment("READY", "READY", method=None, origin=api),
        "PAY_PENDING": payment("PAY_PENDING", "PAY_PENDING", origin=api, pgTxId="pg-*"),
        "VIRTUAL_ACCOUNT_ISSUED": payment("VIRTUAL_ACCOUNT_ISSUED", "VIRTUAL_ACCOUNT_ISSUED", origin=api, pgTxId="pg-*",
                                          method={"type": "PaymentMethodVirtualAccount", "accountNumber": "*"}),
        "PAID": payment("PAID", "PAID", amount=PAID_AMOUNT, origin=api, pgTxId="pg-*", paidAt=AT, disputes=[]),
        "FAILED": payment("FAILED", "FAILED", origin=api, failedAt=AT, failure=seeded),
        "CANCELLED": payment("CANCELLED", "CANCELLED", amount={**PAID_AMOUNT, "cancelled": 1000}, origin=api,
                             pgTxId="pg-*", paidAt=AT, cancellations=[cancellation], cancelledAt=AT),
    }
    for payment_id, data in expected.items():
        assert await answer(await client.get(f"/payments/{payment_id}", headers=ALICE)) == (200, text(data))


# -- every error, exactly --------------------------------------------------------------------------


@pytest.fixture
async def stocked(client: Client) -> Client:
    """alice's ``paid`` (1000, 500 of it tax-free), ``failed``, ``manual`` (awaiting a confirm), and
    her billing keys ``key`` and ``gone`` (deleted)."""
    assert (await client.post("/payments/paid/instant", headers=ALICE, json=PAY)).status == 200
    await checkout(client, "failed", "FAILED")
    await checkout(client, "manual", manualConfirm=True)
    for key in ("key", "gone"):
        await control(client, "/portone/billing-key", {"owner": "alice", "billingKey": key})
    assert (await client.delete("/billing-keys/gone", headers=ALICE)).status == 200
    return client


def error(kind: str, message: str) -> str:
    return text({"type": kind, "message": message})


ERRORS: list[tuple[str, str, Any, int, str]] = [
    ("POST", "/payments/paid/instant", PAY, 409, error("ALREADY_PAID", "payment 'paid' is already paid")),
    ("POST", "/payments/new/instant", {**PAY, "amount": {"total": 100, "taxFree": 60, "vat": 50}}, 409,
     error("SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT", "the tax-free and VAT parts (60 and 50) are more than the total 100")),
    ("POST", "/payments/new/instant", {**PAY, "amount": {"total": -1}}, 400,
     error("INVALID_REQUEST", "InstantPaymentInput is invalid (1 problem)\namount.total: must be an integer from 0 to 9007199254740991, got -1")),
    ("POST", "/payments/new/instant", {"orderName": "o"}, 400,
     error("INVALID_REQUEST", "InstantPaymentInput is invalid (3 problems)\nmethod: is required\namount: is required\ncurrency: is required")),
    ("GET", "/payments/nothing", None, 404, error("PAYMENT_NOT_FOUND", "payment 'nothing' not found")),
    ("GET", "/payments/paid?storeId=another", None, 404, error("PAYMENT_NOT_FOUND", "payment 'paid' not found")),
    ("POST", "/payments/failed/cancel", {"reason": "r"}, 409,
     error("PAYMENT_NOT_PAID", "payment 'failed' is not paid; there is nothing to cancel")),
    ("POST", "/payments/paid/cancel", {"reason": "r", "amount": 1001}, 409,
     error("CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT", "cannot cancel 1001 of payment 'paid': 1000 is left to cancel")),
    ("POST", "/payments/paid/cancel", {"reason": "r", "currentCancellableAmount": 999}, 409,
     error("CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
           "currentCancellableAmount 999 is not what is left to cancel of payment 'paid' (1000)")),
    ("POST", "/payments/paid/cancel", {"reason": "r", "amount": 600, "taxFreeAmount": 501}, 409,
     error("CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT",
           "cannot cancel a tax-free 501 of payment 'paid': 500 of it is left")),
    ("POST", "/payments/paid/cancel", {"reason": "r", "amount": 100, "taxFreeAmount": 90, "vatAmount": 11}, 409,
     error("SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT", "the tax-free and VAT parts (90 and 11) are more than the 100 cancelled")),
    ("POST", "/payments/nothing/cancel", {"reason": "r"}, 404, error("PAYMENT_NOT_FOUND", "payment 'nothing' not found")),
    ("POST", "/payments/manual/confirm", {"paymentToken": "wrong"}, 400,
     error("INVALID_PAYMENT_TOKEN", "the paymentToken is not the one the checkout of payment 'manual' gave")),
    ("POST", "/payments/paid/confirm", {"paymentToken": "t"}, 409, error("ALREADY_PAID", "payment 'paid' is already paid")),
    ("POST", "/payments/nothing/confirm", {"paymentToken": "t"}, 404,
     error("PAYMENT_NOT_FOUND", "payment 'nothing' not found")),
    ("POST", "/payments/paid/pre-register", {"totalAmount": 1}, 409, error("ALREADY_PAID", "payment 'paid' is already paid")),
    ("GET", "/billing-keys/nothing", None, 404, error("BILLING_KEY_NOT_FOUND", "billing key 'nothing' not found")),
    ("DELETE", "/billing-keys/nothing", None, 404, error("BILLING_KEY_NOT_FOUND", "billing key 'nothing' not found")),
    ("DELETE", "/billing-keys/gone", None, 409, error("BILLING_KEY_ALREADY_DELETED", "billing key 'gone' is already deleted")),
    ("POST", "/payments/new/billing-key", {**PAY, "billingKey": "gone"}, 409,
     error("BILLING_KEY_ALREADY_DELETED", "billing key 'gone' is already deleted")),
    ("POST", "/payments/new/billing-key", {**PAY, "billingKey": "nothing"}, 404,
     error("BILLING_KEY_NOT_FOUND", "billing key 'nothing' not found")),
    ("GET", "/nothing", None, 404, error("NOT_FOUND", "no route for GET /nothing")),
    ("PUT", "/payments/paid", None, 405,
     error("METHOD_NOT_ALLOWED", "method PUT is not allowed on /payments/paid; allowed: GET, HEAD")),
    ("GET", "/payments/paid/cancel", None, 405,
     error("METHOD_NOT_ALLOWED", "method GET is not allowed on /payments/paid/cancel; allowed: POST")),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "expected"), ERRORS, ids=[e[4][9:40] for e in ERRORS])
async def test_each_error_as_portone_answers_it(stocked: Client, method: str, path: str, body: Any, status: int,
                                                expected: str) -> None:
    response = await stocked.request(method, path, headers=ALICE, json=body)
    assert await answer(response) == (status, expected)


async def test_a_confirm_of_another_amount_is_a_mismatch(client: Client) -> None:
    token = (await checkout(client, "manual", manualConfirm=True))["paymentToken"]
    assert re.fullmatch(r"payment-token-[\w-]{22}", token)
    body = {"paymentToken": token, "totalAmount": 999}
    response = await client.post("/payments/manual/confirm", headers=ALICE, json=body)
    assert await answer(response) == (409, error("INFORMATION_MISMATCH", "totalAmount 999 is not the payment's 1000"))
    confirmed = await client.post("/payments/manual/confirm", headers=ALICE, json={"paymentToken": token, "totalAmount": 1000})
    assert await answer(confirmed) == (200, text({"paymentId": "manual", "pgTxId": "pg-*", "paidAt": AT}))


@pytest.mark.parametrize("operation", ["payInstantly", "cancelPayment", "getPayment"])
async def test_a_failure_is_a_pg_provider_error_with_its_codes(stocked: Client, operation: str) -> None:
    await control(stocked, "/rules", {"when": {"operation": operation}, "then": "fail"})
    method, path, body, asked = {
        "payInstantly": ("POST", "/payments/new/instant", PAY, "payment 'new'"),
        "cancelPayment": ("POST", "/payments/paid/cancel", {"reason": "r"}, "cancel of payment 'paid'"),
        "getPayment": ("GET", "/payments/paid", None, "lookup of payment 'paid'"),
    }[operation]
    response = await stocked.request(method, path, headers=ALICE, json=body)
    assert await answer(response) == (502, text({
        "type": "PG_PROVIDER",
        "message": f"{asked} failed: the payment gateway declined it (simulated failure)",
        "pgCode": "FAKEPAY_DECLINED", "pgMessage": "declined by fakepay's simulated payment gateway"}))


# -- what comes in ----------------------------------------------------------------------------------


async def test_success_is_exactly_200_with_json(stocked: Client) -> None:
    for method, path, body in [("POST", "/payments/p/pre-register", {"totalAmount": 1000}),
                               ("POST", "/billing-keys", {"method": CARD}),
                               ("POST", "/payments/new/instant", PAY),
                               ("POST", "/payments/new/cancel", {"reason": "r", "amount": 1}),
                               ("DELETE", "/billing-keys/key", None),
                               ("GET", "/payments?requestBody=%7B%7D", None)]:
        response = await stocked.request(method, path, headers=ALICE, json=body)
        assert (response.status, response.headers["Content-Type"]) == (200, "application/json"), path
        await response.json()
    response = await stocked.post("/payments/p2/pre-register", headers=ALICE, json={})
    assert await response.read() == b"{}"


async def test_a_json_body_is_read_whatever_its_media_type_says(client: Client) -> None:
    body = json.dumps(PAY).encode()
    plain = await client.post("/payments/a/instant", data=body,
                              headers={**ALICE, "Content-Type": "text/plain;charset=UTF-8"})
    assert plain.status == 200
    url = str(client.make_url(""))
    bare = await exchange_async(url, raw_request("POST", "/payments/b/instant", body, {**ALICE, "Content-Type": None},
                                                 owner=None))
    assert bare.status == 200, bare.body
    assert [p["id"] for p in (await (await client.get("/payments", headers=ALICE)).json())["items"]] == ["b", "a"]


@pytest.mark.parametrize(("query", "message"), [
    ("requestBody=%7Bbad", "malformed JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    ("requestBody=%5B%5D", "request body must be a JSON object, got an array"),
    ("requestBody=%7B%22page%22%3A%7B%22size%22%3A0%7D%7D",
     "GetPaymentsBody is invalid (1 problem)\npage.size: must be an integer from 1 to 1000, got 0"),
    ("requestBody=%7B%22filter%22%3A%7B%22status%22%3A%5B%22PAY_PENDING%22%5D%7D%7D",
     "GetPaymentsBody is invalid (1 problem)\nfilter.status[0]: must be 'READY', 'PENDING', 'VIRTUAL_ACCOUNT_ISSUED', 'PAID', "
     "'FAILED', 'PARTIAL_CANCELLED' or 'CANCELLED', got 'PAY_PENDING'"),
])
async def test_a_bad_request_body_in_the_query_is_an_invalid_request(client: Client, query: str, message: str) -> None:
    response = await client.get(f"/payments?{query}", headers=ALICE)
    assert await answer(response) == (400, error("INVALID_REQUEST", message))


async def test_a_query_without_request_body_is_an_empty_one(stocked: Client) -> None:
    response = await stocked.get("/payments", headers=ALICE)
    assert response.status == 200
    assert (await response.json())["page"] == {"number": 0, "size": 10, "totalCount": 3}


# -- who calls ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("authorization", "message"), [
    (None, "an API call needs 'Authorization: PortOne <API secret>' (or 'Bearer <access token>')"),
    ("Basic YWxpY2U6", "Authorization must be 'PortOne <API secret>' or 'Bearer <access token>', got the scheme 'basic'"),
    ("PortOne", "the API secret must be printable text without spaces"),
    ("PortOne ", "the API secret must be printable text without spaces"),
    ("PortOne a\tb", "the API secret must be printable text without spaces"),
    ("PortOne a\udcffb", "the API secret must be printable text without spaces"),  # the byte 0xFF, not UTF-8
    ("PortOne two words", "the API secret must be printable text without spaces"),
    ("Bearer made-up", "the access token is not one fakepay issued (POST /login/api-secret issues them)"),
])
async def test_a_call_without_a_secret_fakepay_takes_is_unauthorized(client: Client, authorization: str | None,
                                                                     message: str) -> None:
    url = str(client.make_url(""))
    got = await exchange_async(url, raw_request("GET", "/payments/p", headers={"Authorization": authorization}, owner=None))
    assert (got.status, got.headers["content-type"], got.body.decode()) == (
        401, "application/json", error("UNAUTHORIZED", message))


async def test_tokens_act_for_the_secret_for_a_day_and_refresh_once(client: Client) -> None:
    await checkout(client, "p")
    login = await client.post("/login/api-secret", json={"apiSecret": "alice"})
    tokens = await login.json()
    assert login.status == 200
    assert re.fullmatch(r"access-[\w-]{32}", tokens["accessToken"]) and re.fullmatch(r"refresh-[\w-]{32}", tokens["refreshToken"])
    bearer = {"Authorization": f"Bearer {tokens['accessToken']}"}
    assert (await client.get("/payments/p", headers=bearer)).status == 200
    await control(client, "/clock", {"advance_ms": ACCESS_TOKEN_S * 1000 - 1})
    assert (await client.get("/payments/p", headers=bearer)).status == 200
    await control(client, "/clock", {"advance_ms": 1})
    expired = await client.get("/payments/p", headers=bearer)
    assert await answer(expired) == (401, error(
        "UNAUTHORIZED", "the access token has expired; refresh it (POST /token/refresh) or log in again"))
    refreshed = await client.post("/token/refresh", json={"refreshToken": tokens["refreshToken"]})
    renewed = await refreshed.json()
    assert refreshed.status == 200 and renewed.keys() == tokens.keys() and renewed != tokens
    assert (await client.get("/payments/p", headers={"Authorization": f"Bearer {renewed['accessToken']}"})).status == 200
    spent = await client.post("/token/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert await answer(spent) == (401, error(
        "UNAUTHORIZED", "the refresh token is not one fakepay issued, was used already, or has expired"))
    as_access = await client.get("/payments/p", headers={"Authorization": f"Bearer {renewed['refreshToken']}"})
    assert as_access.status == 401


async def test_login_takes_only_a_secret_fakepay_takes(client: Client) -> None:
    bad = await client.post("/login/api-secret", json={"apiSecret": "two words"})
    assert await answer(bad) == (401, error("UNAUTHORIZED", "the API secret must be printable text without spaces"))
    missing = await client.post("/login/api-secret", json={})
    assert await answer(missing) == (400, error("INVALID_REQUEST", "LoginViaApiSecretBody is invalid (1 problem)\napiSecret: is required"))


async def test_two_secrets_never_see_each_others_payments_or_keys(stocked: Client) -> None:
    bob = {"Authorization": "PortOne bob"}
    assert (await stocked.get("/payments/paid", headers=bob)).status == 404
    assert (await stocked.get("/billing-keys/key", headers=bob)).status == 404
    assert (await (await stocked.get("/payments", headers=bob)).json())["items"] == []
    assert (await stocked.post("/payments/paid/instant", headers=bob, json=PAY)).status == 200
    assert (await stocked.post("/payments/paid/cancel", headers=bob, json={"reason": "r"})).status == 200
    alices = await (await stocked.get("/payments/paid", headers=ALICE)).json()
    assert (alices["status"], alices["amount"]["cancelled"]) == ("PAID", 0)


async def test_a_store_id_in_the_query_finds_only_that_stores_payment(stocked: Client) -> None:
    assert (await stocked.get(f"/payments/paid?storeId={STORE}", headers=ALICE)).status == 200
    assert (await stocked.get("/payments/paid?storeId=", headers=ALICE)).status == 404


# -- sandboxes ------------------------------------------------------------------------------------


def test_a_sandboxs_secret_reaches_that_sandbox_alone(fakepay_portone: FakePay) -> None:
    with fakepay_portone.sandbox(scenario={"api": "portone"}, failure_rate=0) as box:
        secret = box.secret("x")
        assert secret == f"sbx_{box.sandbox_id}_x"
        boxed = {"Authorization": f"PortOne {secret}"}
        assert requests.post(f"{box.url}/payments/p/instant", json=PAY, headers=boxed, timeout=10).status_code == 200
        assert requests.get(f"{box.url}/payments/p", headers=boxed, timeout=10).status_code == 200
        assert box.payment("x", "p") is not None and fakepay_portone.payment("x", "p") is None
        own = requests.get(f"{fakepay_portone.url}/payments/p", headers={"Authorization": "PortOne x"}, timeout=10)
        assert own.status_code == 404
        # as the SDKs log in: with the secret in the header too, which routes the call to the sandbox
        tokens = requests.post(f"{box.url}/login/api-secret", json={"apiSecret": secret}, headers=boxed, timeout=10).json()
        bearer = {"Authorization": f"Bearer {tokens['accessToken']}"}
        assert requests.get(f"{box.url}/payments/p", headers=bearer, timeout=10).status_code == 200
    gone = exchange(fakepay_portone.url, raw_request("GET", "/payments/p", headers=boxed, owner=None))
    assert (gone.status, gone.body.decode()) == (401, error(
        "UNAUTHORIZED", "the API secret names a sandbox that is gone (deleted, or expired after being idle)"))
    gone_token = requests.get(f"{fakepay_portone.url}/payments/p", headers=bearer, timeout=10)
    assert gone_token.status_code == 401

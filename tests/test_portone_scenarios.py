"""PortOne scenarios: payments seeded in every status, billing keys and secrets, checked with
positions by ``fakepay validate`` and the schema alike, written back whole by the control API;
and rules, faults and the seeded failure rate on PortOne's operations, through real HTTP."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
import yaml
from pytest_aiohttp import AiohttpClient

from fakepay import PaymentService, ScenarioError, create_app, parse_scenario, parse_scenario_text
from fakepay.scenario import scenario_data

from .support import FAKEPAY, SCHEMA, Client

SECRET = {"Authorization": "PortOne test-secret"}
SHOP = """\
api: portone
version: 1
seed: 7
failure: {rate: 0}
clock: {frozen_at: "2025-10-22T20:21:35"}
secrets: [test-secret, other-secret]
payments:
  - {owner: test-secret, paymentId: paid, orderName: 노트북, amount: {total: 1500000}, currency: KRW, customData: '{"a":1}'}
  - {owner: test-secret, paymentId: failed, status: FAILED, orderName: o, amount: {total: 1000}, currency: KRW}
  - {owner: test-secret, paymentId: ready, status: READY, orderName: o, amount: {total: 1000}, currency: KRW}
  - {owner: test-secret, paymentId: issued, status: VIRTUAL_ACCOUNT_ISSUED, orderName: o, amount: {total: 1000}, currency: KRW}
  - {owner: test-secret, paymentId: pending, status: PAY_PENDING, orderName: o, amount: {total: 1000}, currency: KRW}
  - owner: test-secret
    paymentId: partial
    orderName: 티셔츠
    amount: {total: 10000, taxFree: 1000}
    currency: KRW
    paidAt: 2025-10-20T10:00:00Z
    cancellations:
      - {amount: 3000, taxFreeAmount: 500, reason: size, cancelledAt: "2025-10-21T10:00:00.000Z"}
  - owner: test-secret
    paymentId: cancelled
    orderName: o
    amount: {total: 5000}
    currency: USD
    cancellations: [{amount: 2000, reason: a}, {amount: 3000, reason: b}]
  - {owner: other-secret, paymentId: paid, orderName: 남의 것, amount: {total: 1}, currency: KRW}
billingKeys:
  - {owner: test-secret, billingKey: key-issued}
  - {owner: test-secret, billingKey: key-deleted, status: DELETED}
"""
CARD = {"card": {"credential": {"number": "4242424242424242", "expiryYear": "30", "expiryMonth": "12"}}}


def pay_body(total: int = 1000, **more: Any) -> dict[str, Any]:
    return {"orderName": "노트북", "amount": {"total": total}, "currency": "KRW", "method": CARD, **more}


async def serve(aiohttp_client: AiohttpClient, text: str = SHOP) -> Client:
    return await aiohttp_client(create_app(PaymentService(parse_scenario_text(text, "shop.yaml"))))


async def payment(client: Client, payment_id: str, headers: dict[str, str] = SECRET) -> dict[str, Any]:
    response = await client.get(f"/payments/{payment_id}", headers=headers)
    assert response.status == 200, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def control(client: Client, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    response = await client.request(method, f"/__fakepay{path}", json=body)
    return response.status, await response.json()


# -- seeding ------------------------------------------------------------------------------------

SEEDED = {  # id: status, amount's paid and cancelled, whether it has paidAt, failedAt, cancelledAt
    "paid": ("PAID", 1500000, 0, True, False, False),
    "failed": ("FAILED", 0, 0, False, True, False),
    "ready": ("READY", 0, 0, False, False, False),
    "issued": ("VIRTUAL_ACCOUNT_ISSUED", 0, 0, False, False, False),
    "pending": ("PAY_PENDING", 0, 0, False, False, False),
    "partial": ("PARTIAL_CANCELLED", 10000, 3000, True, False, True),
    "cancelled": ("CANCELLED", 5000, 5000, True, False, True),
}


@pytest.mark.parametrize("payment_id", SEEDED)
async def test_a_payment_is_seeded_in_every_status_as_get_payment_answers_it(aiohttp_client: AiohttpClient,
                                                                             payment_id: str) -> None:
    client = await serve(aiohttp_client)
    data = await payment(client, payment_id)
    status, paid, cancelled, has_paid_at, has_failed_at, has_cancelled_at = SEEDED[payment_id]
    assert (data["status"], data["id"], data["version"]) == (status, payment_id, "V2")
    assert (data["amount"]["paid"], data["amount"]["cancelled"]) == (paid, cancelled)
    assert ("paidAt" in data, "failedAt" in data, "cancelledAt" in data) == (has_paid_at, has_failed_at, has_cancelled_at)
    assert ("method" in data) == (status != "READY")
    assert ("disputes" in data) == (status == "PAID")
    assert ("cancellations" in data) == (status in ("PARTIAL_CANCELLED", "CANCELLED"))


async def test_seeded_fields_come_back_as_written(aiohttp_client: AiohttpClient) -> None:
    client = await serve(aiohttp_client)
    paid = await payment(client, "paid")
    assert (paid["orderName"], paid["customData"], paid["currency"], paid["paidAt"]) == (
        "노트북", '{"a":1}', "KRW", "2025-10-22T11:21:35.000Z")  # the frozen clock, Asia/Seoul, in UTC
    partial = await payment(client, "partial")
    assert partial["amount"] == {"total": 10000, "taxFree": 1000, "discount": 0, "paid": 10000, "cancelled": 3000,
                                 "cancelledTaxFree": 500}
    [cancellation] = partial["cancellations"]
    assert (cancellation["totalAmount"], cancellation["taxFreeAmount"], cancellation["reason"]) == (3000, 500, "size")
    assert (partial["paidAt"], partial["cancelledAt"]) == ("2025-10-20T10:00:00.000Z", "2025-10-21T10:00:00.000Z")
    assert (await payment(client, "issued"))["method"]["type"] == "PaymentMethodVirtualAccount"
    failed = await payment(client, "failed")
    assert failed["failure"]["pgCode"] and "pgTxId" not in failed
    assert (await payment(client, "paid", {"Authorization": "PortOne other-secret"}))["orderName"] == "남의 것"


async def test_seeded_ids_are_the_same_after_a_reset(aiohttp_client: AiohttpClient) -> None:
    client = await serve(aiohttp_client)
    before = await payment(client, "partial")
    assert (await control(client, "POST", "/reset"))[0] == 200
    assert await payment(client, "partial") == before


async def test_seeded_billing_keys_and_what_they_allow(aiohttp_client: AiohttpClient) -> None:
    client = await serve(aiohttp_client)
    issued = await (await client.get("/billing-keys/key-issued", headers=SECRET)).json()
    deleted = await (await client.get("/billing-keys/key-deleted", headers=SECRET)).json()
    assert (issued["status"], "deletedAt" in issued) == ("ISSUED", False)
    assert (deleted["status"], deleted["deletedAt"]) == ("DELETED", deleted["issuedAt"])
    body = pay_body(billingKey="key-deleted")
    del body["method"]
    refused = await client.post("/payments/by-key/billing-key", json=body, headers=SECRET)
    assert (refused.status, (await refused.json())["type"]) == (409, "BILLING_KEY_ALREADY_DELETED")
    paid = await client.post("/payments/by-key/billing-key", json={**body, "billingKey": "key-issued"}, headers=SECRET)
    assert paid.status == 200
    assert (await payment(client, "by-key"))["billingKey"] == "key-issued"


async def test_seeded_payments_are_paid_again_cancelled_or_refused_as_their_status_says(aiohttp_client: AiohttpClient) -> None:
    client = await serve(aiohttp_client)
    for payment_id, status in (("failed", 200), ("ready", 200), ("paid", 409), ("issued", 409)):
        assert (await client.post(f"/payments/{payment_id}/instant", json=pay_body(), headers=SECRET)).status == status
    cancel = await client.post("/payments/partial/cancel", json={"reason": "r", "currentCancellableAmount": 7000},
                               headers=SECRET)
    assert cancel.status == 200
    assert (await payment(client, "partial"))["status"] == "CANCELLED"
    again = await client.post("/payments/cancelled/cancel", json={"reason": "r"}, headers=SECRET)
    assert (again.status, (await again.json())["type"]) == (409, "PAYMENT_ALREADY_CANCELLED")


async def test_a_secret_the_scenario_does_not_list_is_401(aiohttp_client: AiohttpClient) -> None:
    client = await serve(aiohttp_client)
    response = await client.get("/payments/paid", headers={"Authorization": "PortOne not-listed"})
    assert (response.status, await response.json()) == (401, {
        "type": "UNAUTHORIZED", "message": "the API secret is not one this server accepts (the scenario's 'secrets')"})


# -- what fakepay validate reports ----------------------------------------------------------------

PAYMENT = "{owner: s, paymentId: p, orderName: o, amount: {total: 1000}, currency: KRW"
BAD = {
    "wrong status": (f"payments:\n  - {PAYMENT}, status: REFUNDED}}\n",
                     "3:90: payments[0].status: must be one of 'READY', 'PAY_PENDING', 'VIRTUAL_ACCOUNT_ISSUED', 'PAID', "
                     "'FAILED', 'PARTIAL_CANCELLED', 'CANCELLED', got 'REFUNDED'"),
    "amount not an integer": ("payments:\n  - {owner: s, paymentId: p, orderName: o, amount: {total: 10.5}, currency: KRW}\n",
                              "3:60: payments[0].amount.total: must be an integer from 0 to 9007199254740991, "
                              "got a number with a fraction"),
    "amount a string": ("payments:\n  - {owner: s, paymentId: p, orderName: o, amount: {total: '100'}, currency: KRW}\n",
                        "3:60: payments[0].amount.total: must be an integer from 0 to 9007199254740991, got a string"),
    "unknown key": (f"payments:\n  - {PAYMENT}, bogus: 1}}\n", "3:82: payments[0].bogus: unknown key"),
    "unknown key in amount": ("payments:\n  - {owner: s, paymentId: p, orderName: o, amount: {total: 1, tax: 1}, currency: KRW}\n",
                              "3:63: payments[0].amount.tax: unknown key; did you mean 'taxFree'?"),
    "missing amount": ("payments:\n  - {owner: s, paymentId: p, orderName: o, currency: KRW}\n",
                       "3:5: payments[0].amount: is required"),
    "bad currency": ("payments:\n  - {owner: s, paymentId: p, orderName: o, amount: {total: 1}, currency: krw}\n",
                     "3:74: payments[0].currency: must be a currency code of three capital letters"),
    "cancellation of zero": (f"payments:\n  - {PAYMENT}, cancellations: [{{amount: 0, reason: r}}]}}\n",
                             "3:107: payments[0].cancellations[0].amount: must be an integer from 1"),
    "secret with a space": ("secrets: ['a b']\n",
                            "2:11: secrets[0]: must be printable text without spaces, as an API secret is"),
    "owner with a control character": ('payments:\n  - {owner: "s\\x01", paymentId: p, orderName: o, amount: {total: 1}, '
                                       "currency: KRW}\n", "3:13: payments[0].owner: must be printable text without spaces"),
    "bad billing key status": ("billingKeys:\n  - {owner: s, billingKey: k, status: GONE}\n",
                               "3:39: billingKeys[0].status: must be one of 'ISSUED', 'DELETED', got 'GONE'"),
    "CEOS key": ("auth: {mode: strict}\n", "2:1: auth: unknown key"),
    "CEOS operation": ("rules:\n  - when: {operation: instant}\n    then: fail\n",
                       "3:23: rules[0].when.operation: must be one of 'getPayment'"),
    "CEOS matcher": ("rules:\n  - when: {operation: payInstantly, totalPayAmount: {gte: 1}}\n    then: fail\n",
                     "3:37: rules[0].when.totalPayAmount: unknown key"),
    "amount range without bounds": ("rules:\n  - when: {amount.total: {}}\n    then: fail\n",
                                    "rules[0].when.amount.total: needs 'gte', 'lte' or both"),
}
#: What a JSON Schema cannot say: sums, one field against another, duplicates.
LOADER_ONLY = {
    "CANCELLED without cancellations": (f"payments:\n  - {PAYMENT}, status: CANCELLED}}\n",
                                        "3:90: payments[0].status: a CANCELLED payment needs its cancellations"),
    "bad timestamp": (f"payments:\n  - {PAYMENT}, paidAt: '2025-10-22 10'}}\n",
                      "3:90: payments[0].paidAt: must be an RFC 3339 date-time such as '2024-04-25T10:00:00.000Z', "
                      "got '2025-10-22 10'"),
    "cancellations over the total": (f"payments:\n  - {PAYMENT}, cancellations: [{{amount: 600, reason: r}}, "
                                     "{amount: 500, reason: r}]}\n",
                                     "3:97: payments[0].cancellations: cancel 1100 in all, more than the total 1000"),
    "cancellations on a FAILED payment": (f"payments:\n  - {PAYMENT}, status: FAILED, cancellations: [{{amount: 1, reason: r}}]}}\n",
                                          "3:113: payments[0].cancellations: a FAILED payment has no cancellations"),
    "FAILED with paidAt": (f"payments:\n  - {PAYMENT}, status: FAILED, paidAt: '2025-10-22T10:00:00Z'}}\n",
                           "3:106: payments[0].paidAt: a FAILED payment has no paidAt"),
    "READY with paidAt": (f"payments:\n  - {PAYMENT}, status: READY, paidAt: '2025-10-22T10:00:00Z'}}\n",
                          "3:105: payments[0].paidAt: a READY payment has no paidAt"),
    "status the cancellations contradict": (f"payments:\n  - {PAYMENT}, status: PARTIAL_CANCELLED, "
                                            "cancellations: [{amount: 1000, reason: r}]}\n",
                                            "3:90: payments[0].status: its cancellations (1000 of 1000) make it CANCELLED, "
                                            "not PARTIAL_CANCELLED; leave the status out"),
    "duplicate paymentId": (f"payments:\n  - {PAYMENT}}}\n  - {PAYMENT}}}\n",
                            "4:27: payments[1].paymentId: 'p' is already seeded for owner 's'"),
    "duplicate billing key": ("billingKeys:\n  - {owner: s, billingKey: k}\n  - {owner: s, billingKey: k}\n",
                              "4:28: billingKeys[1].billingKey: 'k' is already seeded for owner 's'"),
    "taxFree over the total": ("payments:\n  - {owner: s, paymentId: p, orderName: o, amount: {total: 1, taxFree: 2}, "
                               "currency: KRW}\n", "3:72: payments[0].amount.taxFree: 2 is more than the total 1"),
    "tax-free cancelled over the payment's": (f"payments:\n  - {PAYMENT}, cancellations: [{{amount: 10, taxFreeAmount: 5, "
                                              "reason: r}]}\n", "payments[0].cancellations[0].taxFreeAmount: cancels 5 "
                                              "tax-free in all, more than the payment's 0"),
    "cancelled before paid": (f"payments:\n  - {PAYMENT}, paidAt: '2025-10-22T10:00:00Z', cancellations: "
                              "[{amount: 1, reason: r, cancelledAt: '2025-10-21T10:00:00Z'}]}\n",
                              "payments[0].cancellations[0].cancelledAt: is before the payment was paid"),
    "timestamp without offset": (f"payments:\n  - {PAYMENT}, paidAt: 2025-10-22T10:00:00}}\n",
                                 "3:90: payments[0].paidAt: needs its offset ('Z' or '+09:00')"),
}


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario_text("api: portone\n" + text, "s.yaml")
    return caught.value.problems


def schema_accepts(text: str) -> bool:
    return jsonschema.Draft202012Validator(SCHEMA).is_valid(yaml.safe_load("api: portone\n" + text))


@pytest.mark.parametrize(("text", "expected"), BAD.values(), ids=BAD.keys())
def test_a_bad_portone_scenario_is_refused_by_loader_and_schema(text: str, expected: str) -> None:
    found = problems(text)
    assert any(problem.startswith(f"s.yaml:{expected}") or expected in problem for problem in found), found
    assert not schema_accepts(text)


@pytest.mark.parametrize(("text", "expected"), LOADER_ONLY.values(), ids=LOADER_ONLY.keys())
def test_what_only_the_loader_sees_in_a_portone_scenario(text: str, expected: str) -> None:
    found = problems(text)
    assert any(problem.startswith(f"s.yaml:{expected}") or expected in problem for problem in found), found


def test_the_schema_accepts_the_portone_scenarios_the_loader_accepts() -> None:
    quoted = SHOP.replace("paidAt: 2025-10-20T10:00:00Z", "paidAt: '2025-10-20T10:00:00Z'")
    for text in (quoted, Path("scenarios/portone-shop.yaml").read_text()):
        scenario = parse_scenario_text(text, "s.yaml")
        jsonschema.validate(yaml.safe_load(text), SCHEMA, cls=jsonschema.Draft202012Validator)
        jsonschema.validate(scenario_data(scenario), SCHEMA, cls=jsonschema.Draft202012Validator)
        assert parse_scenario(scenario_data(scenario)) == scenario


def test_a_portone_section_without_api_portone_is_refused() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario_text("secrets: [a]\n", "s.yaml")
    assert caught.value.problems == ["s.yaml:1:1: secrets: unknown key; did you mean 'stores'?"]


def test_validate_reports_every_bad_line_with_its_position_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("api: portone\n" + LOADER_ONLY["duplicate paymentId"][0] + "secrets: ['a b']\n")
    result = subprocess.run([*FAKEPAY, "validate", str(bad), "portone-shop"], capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout) == (2, "portone-shop: ok\n")
    assert result.stderr.splitlines() == [
        f"{bad}:4:27: payments[1].paymentId: 'p' is already seeded for owner 's'",
        f"{bad}:5:11: secrets[0]: must be printable text without spaces, as an API secret is",
    ]


# -- the control API ----------------------------------------------------------------------------

async def test_the_scenario_and_the_state_written_back_load_the_same_state(aiohttp_client: AiohttpClient) -> None:
    client = await serve(aiohttp_client)
    _, written = await control(client, "GET", "/scenario")
    assert written["secrets"] == ["test-secret", "other-secret"]
    assert [p["paymentId"] for p in written["payments"]] == [*SEEDED, "paid"]
    assert written["payments"][5]["paidAt"] == "2025-10-20T10:00:00.000Z"
    assert written["billingKeys"][1] == {"owner": "test-secret", "billingKey": "key-deleted", "status": "DELETED"}
    _, before = await control(client, "GET", "/state")
    assert before["config"]["secrets"] == ["test-secret", "other-secret"]
    assert (await control(client, "PUT", "/scenario", written))[0] == 200
    _, after = await control(client, "GET", "/state")
    assert after["payments"] == before["payments"] and after["config"] == before["config"]


async def test_control_seeds_portone_payments_and_refuses_bad_ones(aiohttp_client: AiohttpClient) -> None:
    client = await serve(aiohttp_client)
    seed = {"owner": "test-secret", "paymentId": "seeded", "orderName": "셔츠", "amount": {"total": 500},
            "currency": "KRW", "cancellations": [{"amount": 100, "reason": "r"}]}
    status, answer = await control(client, "POST", "/payments", {"payments": [seed]})
    assert status == 200
    [stored] = answer["payments"]
    assert (stored["status"], stored["totalAmount"], stored["cancelledAmount"]) == ("PARTIAL_CANCELLED", 500, 100)
    assert stored["payment"] == await payment(client, "seeded")
    status, error = await control(client, "POST", "/payments", [{**seed, "paymentId": "bad", "amount": {"total": 1.5}}])
    assert (status, error["type"]) == (400, "INVALID_REQUEST")
    assert "[0].amount.total: must be an integer from 0 to 9007199254740991, got a number with a fraction" in error["message"]
    assert (await client.get("/payments/bad", headers=SECRET)).status == 404


async def test_config_patches_the_secrets_allowed(aiohttp_client: AiohttpClient) -> None:
    client = await serve(aiohttp_client)
    status, config = await control(client, "PATCH", "/config", {"secrets": ["other-secret"]})
    assert (status, config["secrets"]) == (200, ["other-secret"])
    assert (await client.get("/payments/paid", headers=SECRET)).status == 401
    status, error = await control(client, "PATCH", "/config", {"secrets": ["a b"]})
    assert (status, error["type"]) == (400, "INVALID_REQUEST") and "secrets[0]: must be printable" in error["message"]
    assert (await control(client, "PATCH", "/config", {"secrets": []}))[0] == 200
    assert (await client.get("/payments/paid", headers={"Authorization": "PortOne anyone"})).status == 404
    await control(client, "POST", "/reset")
    assert (await client.get("/payments/paid", headers={"Authorization": "PortOne anyone"})).status == 401


# -- rules and faults ---------------------------------------------------------------------------

async def test_a_failing_rule_is_pg_provider_and_leaves_a_failed_payment_paid_again(aiohttp_client: AiohttpClient) -> None:
    client = await serve(aiohttp_client)
    rule = {"when": {"operation": "payInstantly", "amount.total": {"gte": 10000, "lte": 60000}}, "then": "fail", "times": 1}
    assert (await control(client, "POST", "/rules", rule))[0] == 200
    assert (await client.post("/payments/small/instant", json=pay_body(9999), headers=SECRET)).status == 200
    failed = await client.post("/payments/order/instant", json=pay_body(50000), headers=SECRET)
    assert (failed.status, await failed.json()) == (502, {
        "type": "PG_PROVIDER", "message": "payment 'order' failed: the payment gateway declined it (simulated failure)",
        "pgCode": "FAKEPAY_DECLINED", "pgMessage": "declined by fakepay's simulated payment gateway"})
    assert (await payment(client, "order"))["status"] == "FAILED"
    assert (await client.post("/payments/order/instant", json=pay_body(50000), headers=SECRET)).status == 200
    assert (await payment(client, "order"))["status"] == "PAID"
    _, journal = await control(client, "GET", "/requests?operation=payInstantly&paymentId=order")
    assert [(e["status"], e["outcome"], e["rule"]) for e in journal["requests"]] == [(502, "failed", 1), (200, "ok", None)]


async def test_a_lost_response_stores_the_payment(aiohttp_client: AiohttpClient) -> None:
    client = await serve(aiohttp_client)
    await control(client, "POST", "/rules", {"when": {"operation": "payInstantly", "paymentId": "lost-*"}, "then": "lost_response"})
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await client.post("/payments/lost-1/instant", json=pay_body(), headers=SECRET)
    assert (await payment(client, "lost-1"))["status"] == "PAID"
    retry = await client.post("/payments/lost-1/instant", json=pay_body(), headers=SECRET)
    assert (retry.status, (await retry.json())["type"]) == (409, "ALREADY_PAID")


@pytest.mark.parametrize(("then", "closes"), [("reset", True), ({"status": 503, "body": {"type": "X"}}, False)])
async def test_faults_on_cancel_leave_the_payment_as_it_was(aiohttp_client: AiohttpClient, then: Any, closes: bool) -> None:
    client = await serve(aiohttp_client)
    rule = {"when": {"operation": "cancelPayment", "orderName": "노*", "currency": "KRW"}, "then": then}
    await control(client, "POST", "/rules", rule)
    if closes:
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            await client.post("/payments/paid/cancel", json={"reason": "r"}, headers=SECRET)
    else:
        answer = await client.post("/payments/paid/cancel", json={"reason": "r"}, headers=SECRET)
        assert (answer.status, await answer.json()) == (503, {"type": "X"})
    assert (await payment(client, "paid"))["status"] == "PAID"
    assert (await client.post("/payments/partial/cancel", json={"reason": "r", "amount": 1}, headers=SECRET)).status == 200


async def test_rules_name_billing_keys_and_store_ids(aiohttp_client: AiohttpClient) -> None:
    client = await serve(aiohttp_client)
    await control(client, "POST", "/rules", {"when": {"operation": "getBillingKeyInfo", "billingKey": "key-i*"},
                                             "then": {"status": 500}})
    await control(client, "POST", "/rules", {"when": {"operation": "getPayment", "storeId": "store-x"},
                                             "then": {"delay_ms": 1}, "times": 1})
    assert (await client.get("/billing-keys/key-issued", headers=SECRET)).status == 500
    assert (await client.get("/billing-keys/key-deleted", headers=SECRET)).status == 200
    _, rules = await control(client, "GET", "/rules")
    assert [r["remaining"] for r in rules["rules"]] == [None, 1]


async def test_a_checkout_fails_by_rule_as_the_payment_window_says(aiohttp_client: AiohttpClient) -> None:
    client = await serve(aiohttp_client)
    await control(client, "POST", "/rules", {"when": {"operation": "checkout", "currency": "USD"}, "then": "fail"})
    body = {"owner": "test-secret", "paymentId": "co", "orderName": "o", "totalAmount": 10, "currency": "USD"}
    status, answer = await control(client, "POST", "/portone/checkout", body)
    assert (status, answer["code"], answer["pgCode"]) == (200, "FAILURE_TYPE_PG", "FAKEPAY_DECLINED")
    assert (await payment(client, "co"))["status"] == "FAILED"
    status, answer = await control(client, "POST", "/portone/checkout", {**body, "currency": "KRW"})
    assert (status, "code" in answer) == (200, False)
    assert (await payment(client, "co"))["status"] == "PAID"


async def test_rules_in_a_scenario_file_apply_to_portone_operations(aiohttp_client: AiohttpClient) -> None:
    text = SHOP + "rules:\n  - when: {operation: payInstantly, orderName: '*실패*'}\n    then: fail\n    times: 2\n"
    client = await serve(aiohttp_client, text)
    statuses = [(await client.post(f"/payments/p{i}/instant", json=pay_body(orderName="실패할 주문"), headers=SECRET)).status
                for i in range(3)]
    assert statuses == [502, 502, 200]


async def test_the_seeded_failure_rate_fails_the_same_payments_and_checkouts_every_run(aiohttp_client: AiohttpClient) -> None:
    text = SHOP.replace("failure: {rate: 0}", "failure: {rate: 0.5}")
    runs = []
    for _ in range(2):
        client = await serve(aiohttp_client, text)
        outcomes = []
        for i in range(20):
            outcomes.append((await client.post(f"/payments/r{i}/instant", json=pay_body(), headers=SECRET)).status)
            _, window = await control(client, "POST", "/portone/checkout", {
                "owner": "test-secret", "paymentId": f"c{i}", "orderName": "o", "totalAmount": 10, "currency": "KRW"})
            outcomes.append(window.get("code", "PAID"))
        runs.append(outcomes)
    assert runs[0] == runs[1]
    assert {502, 200, "FAILURE_TYPE_PG", "PAID"} == set(runs[0])

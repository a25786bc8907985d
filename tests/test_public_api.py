"""The public CEOS payment API through real HTTP: exact bytes, statuses, headers and state."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import ClientResponse
from pytest_aiohttp import AiohttpClient
from yarl import URL

from fakepay import PaymentService, create_app, issue_secret
from fakepay.control.views import StateSnapshot

from .support import BODY, Api, Client, bearer, scenario

PAYMENT = (
    '{"paymentId":"20251022_0001","paymentStatus":"PAID","orderName":"노트북외 1건","pgProvider":"CEOS_PAY",'
    '"currency":"KRW","customData":"{\\"item\\":\\"노트북\\",\\"quantity\\":1}","paidAt":"2025-10-22T20:21:35.529482"}'
)


async def error_of(response: ClientResponse) -> tuple[int, str, str]:
    assert response.headers["Content-Type"] == "application/json"
    body = await response.json()
    assert list(body) == ["type", "message"]
    return response.status, body["type"], body["message"]


# -- auth -----------------------------------------------------------------------------------


async def test_auth_returns_the_secret_as_plain_text(client: Client) -> None:
    response = await client.get("/auth/alice")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert await response.read() == issue_secret("alice").encode()


async def test_auth_secret_never_changes_and_differs_per_id(client: Client) -> None:
    first = await (await client.get("/auth/alice")).text()
    again = await (await client.get("/auth/alice")).text()
    other = await (await client.get("/auth/bob")).text()
    assert first == again != other


async def test_auth_path_value_is_percent_decoded(client: Client) -> None:
    assert await (await client.get(URL("/auth/al%69ce", encoded=True))).text() == issue_secret("alice")


@pytest.mark.parametrize("github_id", ["a" * 101, "al%20ice", "%ED%95%9C", "a%2Fb", "%ZZ"])
async def test_auth_rejects_bad_github_ids(client: Client, github_id: str) -> None:
    status, type_, _ = await error_of(await client.get(URL(f"/auth/{github_id}", encoded=True)))
    assert (status, type_) == (400, "INVALID_REQUEST")


# -- instant payment ------------------------------------------------------------------------


async def test_instant_payment_answers_payment_id_and_paid_at(api: Api) -> None:
    response = await api.pay("20251022_0001")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert await response.read() == b'{"paymentId":"20251022_0001","paidAt":"2025-10-22T20:21:35.529482"}'


async def test_paid_payment_reads_back_with_every_key_in_order(api: Api) -> None:
    await api.pay("20251022_0001")
    response = await api.get("20251022_0001")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert (await response.read()).decode() == PAYMENT


async def test_custom_data_is_optional_and_null_when_absent(api: Api) -> None:
    body = {k: v for k, v in BODY.items() if k != "customData"}
    assert (await api.pay("p1", body=body)).status == 200
    assert (await (await api.get("p1")).json())["customData"] is None


async def test_second_payment_of_a_paid_id_is_409_and_changes_nothing(api: Api) -> None:
    await api.pay("p1")
    status, type_, message = await error_of(await api.pay("p1", body={**BODY, "orderName": "other"}))
    assert (status, type_) == (409, "ALREADY_PAID")
    assert "p1" in message
    assert (await (await api.get("p1")).json())["orderName"] == BODY["orderName"]


async def test_payment_of_a_cancelled_id_is_409(api: Api) -> None:
    await api.pay("p1")
    await api.cancel("p1")
    assert (await error_of(await api.pay("p1")))[:2] == (409, "ALREADY_PAID")


async def test_unknown_fields_are_ignored(api: Api) -> None:
    response = await api.pay("p1", body={**BODY, "amount": 5, "extra": {"x": 1}})
    assert response.status == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"storeId": "s", "orderName": "o", "currency": "KRW", "amount": 5, "extra": 1},
            "invalid InstantPaymentRequest: totalPayAmount is required; unknown field 'amount' ignored; "
            "did you mean 'totalPayAmount'?",
        ),
        (
            {"storeId": "s", "orderName": "o", "totalPayAmount": 5, "Currency": "KRW", "currency": "EUR"},
            "invalid InstantPaymentRequest: currency must be 'KRW' or 'USD', got 'EUR'; unknown field 'Currency' "
            "ignored; did you mean 'currency'?",
        ),
        (  # a misspelling of a field that is fine is no hint on a 400
            {"storeId": "s", "orderName": "o", "totalPayAmount": 0, "currency": "KRW", "storeid": "s"},
            "invalid InstantPaymentRequest: totalPayAmount must be an integer from 1 to 2147483647, got 0",
        ),
    ],
)
async def test_a_400_names_the_unknown_field_that_looks_like_a_bad_one(api: Api, body: dict[str, Any], message: str) -> None:
    assert await error_of(await api.pay("p1", body=body)) == (400, "INVALID_REQUEST", message)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"storeId": None}, "storeId"),
        ({"storeId": ""}, "storeId"),
        ({"storeId": "   "}, "storeId"),
        ({"storeId": 7}, "storeId"),
        ({"storeId": "s" * 201}, "storeId"),
        ({"orderName": None}, "orderName"),
        ({"orderName": "\t"}, "orderName"),
        ({"orderName": ["a"]}, "orderName"),
        ({"orderName": "가" * 201}, "orderName"),
        ({"orderName": "😀" * 101}, "orderName"),
        ({"totalPayAmount": None}, "totalPayAmount"),
        ({"totalPayAmount": 0}, "totalPayAmount"),
        ({"totalPayAmount": -1}, "totalPayAmount"),
        ({"totalPayAmount": 2147483648}, "totalPayAmount"),
        ({"totalPayAmount": 1.5}, "totalPayAmount"),
        ({"totalPayAmount": 100.0}, "totalPayAmount"),
        ({"totalPayAmount": "100"}, "totalPayAmount"),
        ({"totalPayAmount": True}, "totalPayAmount"),
        ({"currency": None}, "currency"),
        ({"currency": "EUR"}, "currency"),
        ({"currency": "krw"}, "currency"),
        ({"currency": 1}, "currency"),
        ({"customData": {"item": "x"}}, "customData"),
        ({"customData": ["x"]}, "customData"),
        ({"customData": 3}, "customData"),
    ],
)
async def test_each_field_rule_gives_400_naming_the_field(api: Api, change: dict[str, Any], field: str) -> None:
    body = {**BODY, **change}
    body = {k: v for k, v in body.items() if not (v is None and k in change and k != "customData")}
    status, type_, message = await error_of(await api.pay("p1", body=body))
    assert (status, type_) == (400, "INVALID_REQUEST")
    assert field in message
    assert (await api.get("p1")).status == 404


async def test_limits_are_inclusive(api: Api) -> None:
    body = {**BODY, "storeId": "s" * 200, "orderName": "가" * 200, "totalPayAmount": 2147483647, "currency": "USD"}
    assert (await api.pay("p1", body=body)).status == 200
    assert (await api.pay("p2", body={**BODY, "totalPayAmount": 1})).status == 200


async def test_a_field_sent_as_null_is_missing(api: Api) -> None:
    status, _, message = await error_of(await api.pay("p1", body={**BODY, "storeId": None}))
    assert status == 400 and "storeId is required" in message


async def test_one_message_names_every_bad_field(api: Api) -> None:
    body = {"storeId": "", "totalPayAmount": "1", "currency": "EUR"}
    _, _, message = await error_of(await api.pay("p1", body=body))
    for field in ("storeId", "orderName", "totalPayAmount", "currency"):
        assert field in message


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[]", b'"text"', b"null", b"1", b"{'a': 1}", b"\xff\xfe", b"", b"   ", b'{"totalPayAmount": NaN}', b"[" * 100000],
)
async def test_malformed_json_is_400(client: Client, raw: bytes) -> None:
    response = await client.post(
        "/payments/p1/instant", data=raw, headers={**bearer("alice"), "Content-Type": "application/json"}
    )
    assert (await error_of(response))[:2] == (400, "INVALID_REQUEST")


async def test_json_content_type_with_charset_is_accepted(client: Client) -> None:
    response = await client.post(
        "/payments/p1/instant",
        data=json.dumps(BODY).encode(),
        headers={**bearer("alice"), "Content-Type": "Application/JSON; charset=UTF-8"},
    )
    assert response.status == 200


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"])
async def test_instant_without_json_content_type_is_415(client: Client, content_type: str | None) -> None:
    headers = bearer("alice")
    if content_type:
        headers["Content-Type"] = content_type
    response = await client.post("/payments/p1/instant", data=json.dumps(BODY).encode(), headers=headers)
    if content_type is None:  # aiohttp's client sends application/octet-stream for bytes
        assert response.request_info.headers.get("Content-Type") in (None, "application/octet-stream")
    assert (await error_of(response))[:2] == (415, "UNSUPPORTED_MEDIA_TYPE")


async def test_body_over_one_mebibyte_is_413_and_the_client_sees_it(client: Client) -> None:
    big = json.dumps({**BODY, "pad": "x" * (1024 * 1024)}).encode()
    response = await client.post(
        "/payments/p1/instant", data=big, headers={**bearer("alice"), "Content-Type": "application/json"}
    )
    assert (await error_of(response))[:2] == (413, "PAYLOAD_TOO_LARGE")


async def test_body_of_exactly_one_mebibyte_is_accepted(client: Client) -> None:
    base = json.dumps({**BODY, "pad": ""}).encode()
    body = base[:-2] + b"x" * (1024 * 1024 - len(base)) + b'"}'
    assert len(body) == 1024 * 1024
    response = await client.post(
        "/payments/p1/instant", data=body, headers={**bearer("alice"), "Content-Type": "application/json"}
    )
    assert response.status == 200


# -- check order ----------------------------------------------------------------------------


async def test_checks_run_in_the_documented_order(client: Client) -> None:
    bad_json = {"Content-Type": "application/json"}
    # route before anything
    assert (await client.put(URL("/payments/%ZZ/instant", encoded=True))).status == 405
    # path value before Authorization
    assert (await client.post(URL("/payments/%ZZ/instant", encoded=True), data=b"{")).status == 400
    # Authorization before content type
    assert (await client.post("/payments/p1/instant", data=b"{")).status == 401
    # content type before JSON
    assert (await client.post("/payments/p1/instant", data=b"{", headers=bearer("alice"))).status == 415
    # JSON syntax before fields
    assert (await client.post("/payments/p1/instant", data=b"{", headers={**bearer("alice"), **bad_json})).status == 400


async def test_fields_are_checked_before_state(api: Api) -> None:
    await api.pay("p1")
    assert (await api.pay("p1", body={**BODY, "currency": "EUR"})).status == 400


# -- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Basic YWxpY2U6c2VjcmV0",
        "Bearer",
        "Bearer ",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Token " + issue_secret("alice"),
        "Bearer " + issue_secret("alice")[:-2],
        "Bearer " + issue_secret("alice", "another-key"),
        "Bearer 한글.토큰.값",
    ],
)
async def test_bad_authorization_is_401(client: Client, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in (("GET", "/payments/p1"), ("POST", "/payments/p1/cancel"), ("POST", "/payments/p1/instant")):
        response = await client.request(method, path, headers=headers, json=BODY)
        assert (await error_of(response))[:2] == (401, "UNAUTHORIZED")


async def test_bearer_scheme_is_case_insensitive(client: Client) -> None:
    response = await client.get("/payments/p1", headers={"Authorization": "bearer " + issue_secret("alice")})
    assert (await error_of(response))[:2] == (404, "PAYMENT_NOT_FOUND")


async def test_owners_never_see_each_others_payments(api: Api) -> None:
    assert (await api.pay("shared", owner="alice")).status == 200
    assert (await api.get("shared", owner="bob")).status == 404
    assert (await api.cancel("shared", owner="bob")).status == 404
    assert (await api.pay("shared", owner="bob", body={**BODY, "orderName": "bob's"})).status == 200
    assert (await (await api.get("shared", owner="alice")).json())["orderName"] == BODY["orderName"]
    assert (await (await api.get("shared", owner="bob")).json())["orderName"] == "bob's"


async def test_store_id_need_not_match_the_owner(api: Api) -> None:
    assert (await api.pay("p1", body={**BODY, "storeId": "someone-elses-store"})).status == 200


# -- cancel and get -------------------------------------------------------------------------


async def test_cancel_answers_the_cancelled_payment_with_its_original_paid_at(api: Api, service: PaymentService) -> None:
    await api.pay("20251022_0001")
    service.move_clock(advance_ms=60_000)
    response = await api.cancel("20251022_0001")
    assert response.status == 200
    assert (await response.read()).decode() == PAYMENT.replace('"PAID"', '"CANCELLED"')
    assert (await (await api.get("20251022_0001")).json())["paymentStatus"] == "CANCELLED"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(b"", None), (b'{"reason":"changed my mind"}', "application/json"), (b"garbage{", "text/plain"), (b"x" * 2_000_000, "application/json")],
)
async def test_cancel_ignores_any_body(client: Client, api: Api, data: bytes, content_type: str | None) -> None:
    await api.pay("p1")
    headers = bearer("alice")
    if content_type:
        headers["Content-Type"] = content_type
    response = await client.post("/payments/p1/cancel", data=data, headers=headers)
    assert response.status == 200


async def test_cancel_errors(api: Api, service: PaymentService) -> None:
    assert (await error_of(await api.cancel("nope")))[:2] == (404, "PAYMENT_NOT_FOUND")
    await api.pay("p1")
    await api.cancel("p1")
    assert (await error_of(await api.cancel("p1")))[:2] == (409, "PAYMENT_ALREADY_CANCELLED")
    service.configure({"failure": {"rate": 1.0}})
    await api.pay("failed")
    assert (await error_of(await api.cancel("failed")))[:2] == (409, "PAYMENT_NOT_PAID")


async def test_get_unknown_payment_is_404_naming_it(api: Api) -> None:
    status, type_, message = await error_of(await api.get("nope"))
    assert (status, type_) == (404, "PAYMENT_NOT_FOUND")
    assert "nope" in message


async def test_head_on_a_payment_answers_like_get_without_body(client: Client, api: Api) -> None:
    await api.pay("p1")
    get = await client.get("/payments/p1", headers=bearer("alice"))
    response = await client.head("/payments/p1", headers=bearer("alice"))
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Content-Length"] == str(len(await get.read()))
    assert await response.read() == b""


# -- routing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/payments/p1", "GET,HEAD"),
        ("POST", "/payments/p1", "GET,HEAD"),
        ("GET", "/payments/p1/instant", "POST"),
        ("PUT", "/payments/p1/cancel", "POST"),
        ("POST", "/auth/alice", "GET,HEAD"),
        ("PATCH", "/auth/alice", "GET,HEAD"),
    ],
)
async def test_wrong_method_is_405_with_allow(client: Client, method: str, path: str, allow: str) -> None:
    response = await client.request(method, path, headers=bearer("alice"))
    assert response.headers["Allow"] == allow
    status, type_, message = await error_of(response)
    assert (status, type_) == (405, "METHOD_NOT_ALLOWED")
    assert method in message


@pytest.mark.parametrize(
    "path",
    ["/", "/payments", "/payments/", "/payments/p1/", "/payments/p1/instant/", "/auth/", "/auth/alice/", "/v2/payments/p1", "/payments/p1/refund", "/__fakepay/nope"],
)
async def test_unknown_route_is_json_404(client: Client, path: str) -> None:
    status, type_, _ = await error_of(await client.get(path, headers=bearer("alice")))
    assert (status, type_) == (404, "NOT_FOUND")


# -- path values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("20251022%20A", "20251022 A"),
        ("%EC%A3%BC%EB%AC%B8-1", "주문-1"),
        ("a+b", "a+b"),
        ("a%2Bb", "a+b"),
        ("%25", "%"),
        ("x" * 256, "x" * 256),
        ("%F0%9F%98%80", "😀"),
    ],
)
async def test_payment_ids_are_decoded_and_echoed(client: Client, api: Api, encoded: str, decoded: str) -> None:
    response = await client.post(URL(f"/payments/{encoded}/instant", encoded=True), json=BODY, headers=bearer("alice"))
    assert response.status == 200
    assert (await response.json())["paymentId"] == decoded
    lookup = await client.get(URL(f"/payments/{encoded}", encoded=True), headers=bearer("alice"))
    assert (await lookup.json())["paymentId"] == decoded
    assert decoded.encode() in await lookup.read()


@pytest.mark.parametrize(
    "encoded", ["%", "%Z1", "%ZZ", "%C3%28", "%E0%A4%A", "a%2Fb", "%2F", "%00", "%0A", "%7F", "%C2%85", "x" * 257, "%ED%A0%80"]
)
async def test_bad_payment_ids_are_400(client: Client, encoded: str) -> None:
    for method, path in (("GET", f"/payments/{encoded}"), ("POST", f"/payments/{encoded}/instant"), ("POST", f"/payments/{encoded}/cancel")):
        response = await client.request(method, URL(path, encoded=True), json=BODY, headers=bearer("alice"))
        assert (await error_of(response))[:2] == (400, "INVALID_REQUEST"), (method, path)


# -- the simulated failure ------------------------------------------------------------------


async def test_about_ten_percent_of_2000_payments_fail_reproducibly(aiohttp_client: AiohttpClient) -> None:
    outcomes = []
    for _ in range(2):
        service = PaymentService(scenario(failure={"rate": 0.1}, seed=7))
        client = await aiohttp_client(create_app(service))
        api = Api(client)
        run = []
        for i in range(2000):
            response = await api.pay(f"p{i}")
            run.append(response.status)
            if response.status == 500:
                assert (await error_of(response))[1] == "PAYMENT_FAILED"
        outcomes.append(run)
        failed = [i for i, status in enumerate(run) if status == 500]
        # Seed 7's draw, exact: a change to what is drawn, or in which order, changes this count and
        # with it every replay of a user's seed, which is what this test is to show.
        assert len(failed) == 170
        lookup = await (await api.get(f"p{failed[0]}")).json()
        assert lookup["paymentStatus"] == "FAILED" and lookup["paidAt"] is None
        await client.close()
    assert outcomes[0] == outcomes[1]


async def test_each_owner_has_its_own_stream(aiohttp_client: AiohttpClient) -> None:
    async def alice_outcomes(interleave: bool) -> list[int]:
        service = PaymentService(scenario(failure={"rate": 0.5}, seed=3))
        api = Api(await aiohttp_client(create_app(service)))
        statuses = []
        for i in range(40):
            if interleave:
                await api.pay(f"b{i}", owner="bob")
                await api.pay(f"c{i}", owner="carol")
            statuses.append((await api.pay(f"a{i}")).status)
        return statuses

    alone = await alice_outcomes(False)
    assert alone == await alice_outcomes(True)
    assert {200, 500} == set(alone)


async def test_a_failed_id_can_be_paid_again_and_counts_attempts(api: Api, service: PaymentService) -> None:
    service.configure({"failure": {"rate": 1.0}})
    assert (await api.pay("p1")).status == 500
    service.configure({"failure": {"rate": 0.0}})
    response = await api.pay("p1", body={**BODY, "orderName": "retry"})
    assert response.status == 200
    payment = await (await api.get("p1")).json()
    assert payment["paymentStatus"] == "PAID" and payment["orderName"] == "retry"
    assert StateSnapshot(service).data()["payments"][0]["attempts"] == 2


async def test_reuse_of_failed_ids_can_be_refused(api: Api, service: PaymentService) -> None:
    service.configure({"failure": {"rate": 1.0, "reuse_failed_payment_id": False}})
    assert (await api.pay("p1")).status == 500
    assert (await error_of(await api.pay("p1")))[:2] == (409, "ALREADY_PAID")


async def test_failure_status_is_configurable(api: Api, service: PaymentService) -> None:
    service.configure({"failure": {"rate": 1.0, "status": 503}})
    assert (await error_of(await api.pay("p1")))[:2] == (503, "PAYMENT_FAILED")


async def test_cancel_and_get_never_fail_randomly(api: Api, service: PaymentService) -> None:
    for i in range(20):
        await api.pay(f"p{i}")
    service.configure({"failure": {"rate": 1.0}})
    for i in range(20):
        assert (await api.get(f"p{i}")).status == 200
        assert (await api.cancel(f"p{i}")).status == 200


# -- concurrency ----------------------------------------------------------------------------


async def test_of_200_concurrent_payments_of_one_id_exactly_one_succeeds(api: Api) -> None:
    responses = await asyncio.gather(*(api.pay("same") for _ in range(200)))
    statuses = sorted(r.status for r in responses)
    assert statuses.count(200) == 1 and statuses.count(409) == 199
    assert (await api.get("same")).status == 200


async def test_of_200_concurrent_cancels_exactly_one_succeeds(api: Api) -> None:
    await api.pay("same")
    responses = await asyncio.gather(*(api.cancel("same") for _ in range(200)))
    statuses = [r.status for r in responses]
    assert statuses.count(200) == 1 and statuses.count(409) == 199


async def test_every_successful_concurrent_payment_is_readable(api: Api) -> None:
    responses = await asyncio.gather(*(api.pay(f"p{i % 50}") for i in range(200)))
    assert sum(r.status == 200 for r in responses) == 50
    for i in range(50):
        assert (await api.get(f"p{i}")).status == 200


# -- time -----------------------------------------------------------------------------------


async def test_paid_at_trims_fraction_zeros(aiohttp_client: AiohttpClient) -> None:
    for frozen, shown in (
        ("2025-10-22T20:21:35.529400", "2025-10-22T20:21:35.5294"),
        ("2025-10-22T20:21:35", "2025-10-22T20:21:35"),
        ("2025-10-22T20:21:00", "2025-10-22T20:21:00"),
        ("2025-10-22T20:21:00.000001", "2025-10-22T20:21:00.000001"),
    ):
        service = PaymentService(scenario(clock={"frozen_at": frozen}))
        api = Api(await aiohttp_client(create_app(service)))
        assert (await (await api.pay("p1")).json())["paidAt"] == shown


async def test_real_clock_gives_seoul_local_time(aiohttp_client: AiohttpClient) -> None:
    from datetime import datetime, timedelta, timezone

    service = PaymentService(scenario(clock={}))
    api = Api(await aiohttp_client(create_app(service)))
    paid_at = datetime.fromisoformat((await (await api.pay("p1")).json())["paidAt"])
    seoul_now = datetime.now(timezone(timedelta(hours=9))).replace(tzinfo=None)
    assert abs((seoul_now - paid_at).total_seconds()) < 5


async def test_no_5xx_for_odd_but_valid_http(client: Client) -> None:
    for method, path, headers, data in (
        ("GET", "/payments/p1", {"Authorization": "Bearer " + "a" * 5000}, None),
        ("POST", "/payments/p1/instant", {**bearer("alice"), "Content-Type": "application/json"}, b'{"storeId": "\\ud800"}'),
        ("POST", "/payments/p1/instant", {**bearer("alice"), "Content-Type": "application/json"}, b'{"totalPayAmount": 1e400}'),
        ("POST", "/payments/p1/instant", {**bearer("alice"), "Content-Type": "application/json"}, b'{"totalPayAmount": ' + b"9" * 5000 + b"}"),
        ("OPTIONS", "/payments/p1", {}, None),
        ("GET", "/auth/alice?x=%ZZ", {}, None),
    ):
        response = await client.request(method, URL(path, encoded=True), headers=headers, data=data)
        assert response.status < 500, (method, path, await response.text())
        if response.status >= 400:
            await error_of(response)


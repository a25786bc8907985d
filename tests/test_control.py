"""The control API under /__fakepay, through real HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from pytest_aiohttp import AiohttpClient
from yarl import URL

from fakepay import PaymentService, create_app, issue_secret, shipped_scenarios

from .support import BODY, FROZEN, ROOT, Api, Client, bearer, scenario


async def test_health(api: Api) -> None:
    assert await api.control("GET", "/health") == {"status": "ok"}


async def test_the_api_in_force_is_described_as_the_ceos_dialect_declares_it(api: Api) -> None:
    assert await api.control("GET", "/api") == {
        "name": "ceos",
        "title": "CEOS payment server",
        "operations": [
            {"name": "auth", "method": "GET", "path": "/auth/{githubId}", "param": "githubId", "changes": False},
            {"name": "instant", "method": "POST", "path": "/payments/{paymentId}/instant", "param": "paymentId", "changes": True},
            {"name": "cancel", "method": "POST", "path": "/payments/{paymentId}/cancel", "param": "paymentId", "changes": True},
            {"name": "get", "method": "GET", "path": "/payments/{paymentId}", "param": "paymentId", "changes": False},
        ],
        "matchers": [
            {"key": "paymentId", "kind": "glob", "choices": []},
            {"key": "storeId", "kind": "text", "choices": []},
            {"key": "orderName", "kind": "glob", "choices": []},
            {"key": "currency", "kind": "choice", "choices": ["KRW", "USD"]},
            {"key": "totalPayAmount", "kind": "amount", "choices": []},
        ],
        "payments": {
            "statuses": ["PAID", "CANCELLED", "FAILED"],
            "columns": [
                {"key": "paymentId", "title": "payment id", "kind": "id", "unit": None},
                {"key": "status", "title": "status", "kind": "status", "unit": None},
                {"key": "totalPayAmount", "title": "amount", "kind": "amount", "unit": "currency"},
                {"key": "orderName", "title": "order name", "kind": "text", "unit": None},
                {"key": "attempts", "title": "attempts", "kind": "count", "unit": None},
                {"key": "paidAt", "title": "paidAt", "kind": "time", "unit": None},
            ],
        },
        "webhooks": False,
    }


async def test_the_described_routes_and_columns_are_the_apis_own(api: Api) -> None:
    """Each operation described is journaled under its name when its route is called, and each
    column is a field of a payment."""
    described = await api.control("GET", "/api")
    for operation in described["operations"]:
        path = operation["path"].replace("{" + operation["param"] + "}", "p1")
        await api.client.request(operation["method"], path, headers=bearer("alice"), json=BODY)
    journal = (await api.control("GET", "/requests"))["requests"]
    assert [(e["operation"], e["params"]) for e in journal] == [
        (operation["name"], {operation["param"]: "p1"}) for operation in described["operations"]]
    payment = (await api.control("GET", "/state"))["payments"][0]
    assert payment["status"] in described["payments"]["statuses"]
    assert {column["key"] for column in described["payments"]["columns"]} <= set(payment)


async def test_state_shows_config_stores_and_every_payment_field(api: Api) -> None:
    await api.pay("p1")
    await api.pay("p2", owner="bob")
    state = await api.control("GET", "/state")
    assert state["scenario"] == "default" and state["seed"] == 42
    assert state["config"]["failure"] == {"rate": 0.0, "status": 500, "reuse_failed_payment_id": True}
    assert state["clock"] == {"now": FROZEN, "frozen": True, "timezone": "Asia/Seoul"}
    assert [s["githubId"] for s in state["stores"]] == ["alice", "bob"]
    assert state["payments"][0] == {
        "owner": "alice",
        "paymentId": "p1",
        "storeId": BODY["storeId"],
        "orderName": BODY["orderName"],
        "totalPayAmount": BODY["totalPayAmount"],
        "currency": "KRW",
        "customData": BODY["customData"],
        "status": "PAID",
        "paidAt": FROZEN,
        "attempts": 1,
        "createdAt": FROZEN,
        "updatedAt": FROZEN,
    }
    narrowed = await api.control("GET", "/state", params={"owner": "bob"})
    assert [p["paymentId"] for p in narrowed["payments"]] == ["p2"]


async def test_state_pages_its_payments_and_counts_every_store(api: Api) -> None:
    seeded = [{"owner": owner, "paymentId": f"{owner[0]}{i}", "storeId": "s", "orderName": "o", "totalPayAmount": 1,
               "currency": "KRW"} for owner, count in (("bob", 2), ("alice", 3)) for i in range(1, count + 1)]
    await api.control("POST", "/payments", json=seeded)
    stores = [{"githubId": "alice", "payments": 3, "attempts": 3}, {"githubId": "bob", "payments": 2, "attempts": 2}]

    async def listed(**query: str) -> list[str]:
        state = await api.control("GET", "/state", params=query)
        assert state["stores"] == [s for s in stores if query.get("owner", s["githubId"]) == s["githubId"]]
        return [p["paymentId"] for p in state["payments"]]

    assert await listed() == ["a1", "a2", "a3", "b1", "b2"]  # owner by owner, each in the order first stored
    assert await listed(limit="2") == ["a1", "a2"]
    assert await listed(limit="2", offset="2") == ["a3", "b1"]
    assert await listed(offset="4") == ["b2"]
    assert await listed(offset="5") == []
    assert await listed(limit="0") == []  # the configuration and the counts alone
    assert await listed(owner="bob", limit="1", offset="1") == ["b2"]


@pytest.mark.parametrize(("query", "message"), [
    ("limit=-1", "limit must be a whole number from 0 to 999999999, got '-1'"),
    ("limit=1000000000", "limit must be a whole number from 0 to 999999999, got '1000000000'"),
    ("offset=x", "offset must be a whole number from 0 to 999999999, got 'x'"),
    ("offset=1.5", "offset must be a whole number from 0 to 999999999, got '1.5'"),
])
async def test_state_paging_takes_whole_numbers(client: Client, query: str, message: str) -> None:
    response = await client.get(f"/__fakepay/state?{query}")
    assert (response.status, await response.json()) == (400, {"type": "INVALID_REQUEST", "message": message})


async def test_a_large_state_is_the_same_json_written_in_pieces(api: Api) -> None:
    seeded: list[dict[str, Any]] = [{"owner": f"owner{i % 3}", "paymentId": f"p{i}", "storeId": "s", "orderName": "노트북", "totalPayAmount": i + 1,
               "currency": "KRW", "customData": "x" * (i % 300)} for i in range(3000)]
    await api.control("POST", "/payments", json=seeded)
    response = await api.client.get("/__fakepay/state")
    assert (response.status, response.content_type) == (200, "application/json")
    state = await response.json()
    assert state["stores"] == [{"githubId": f"owner{o}", "payments": 1000, "attempts": 1000} for o in range(3)]
    by_owner = sorted(seeded, key=lambda p: p["owner"])  # a stable sort: each owner's in the order stored
    assert [(p["paymentId"], p["customData"], p["orderName"]) for p in state["payments"]] == [
        (p["paymentId"], p["customData"], "노트북") for p in by_owner]
    assert (await api.control("GET", "/state", params={"offset": "2999"}))["payments"] == state["payments"][-1:]
    assert (await api.client.head("/__fakepay/state")).status == 200


async def test_reset_drops_payments_journal_rules_and_config(api: Api) -> None:
    await api.pay("p1")
    await api.control("POST", "/rules", json={"then": "fail"})
    await api.control("PATCH", "/config", json={"failure": {"rate": 1.0}})
    await api.control("POST", "/clock", json={"advance_ms": 5000})
    assert await api.control("POST", "/reset") == {"reset": "all", "owner": None}
    state = await api.control("GET", "/state")
    assert state["payments"] == [] and state["rules"] == []
    assert state["config"]["failure"]["rate"] == 0.0
    assert state["clock"]["now"] == FROZEN
    assert (await api.control("GET", "/requests"))["requests"] == []
    assert (await api.pay("p1")).status == 200


async def test_reset_of_one_owner_leaves_the_others(api: Api) -> None:
    await api.pay("a1", owner="alice")
    await api.pay("b1", owner="bob")
    await api.control("POST", "/reset", params={"owner": "alice"})
    state = await api.control("GET", "/state")
    assert [(p["owner"], p["paymentId"]) for p in state["payments"]] == [("bob", "b1")]
    owners = {e["owner"] for e in (await api.control("GET", "/requests"))["requests"]}
    assert owners == {"bob"}
    await api.control("POST", "/reset", params={"owner": "nobody"})


async def test_reset_replays_the_same_random_outcomes(aiohttp_client: AiohttpClient) -> None:
    api = Api(await aiohttp_client(create_app(PaymentService(scenario(failure={"rate": 0.5}, seed=9)))))
    first = [(await api.pay(f"p{i}")).status for i in range(20)]
    await api.control("POST", "/reset")
    assert [(await api.pay(f"p{i}")).status for i in range(20)] == first
    await api.control("POST", "/reset", params={"owner": "alice"})
    assert [(await api.pay(f"p{i}")).status for i in range(20)] == first


async def test_reset_restores_seeded_payments_and_rule_counters(aiohttp_client: AiohttpClient) -> None:
    service = PaymentService(scenario(
        payments=[{"owner": "alice", "paymentId": "seeded", "storeId": "s", "orderName": "o", "totalPayAmount": 5, "currency": "KRW"}],
        rules=[{"when": {"operation": "instant"}, "then": "fail", "times": 1}],
    ))
    api = Api(await aiohttp_client(create_app(service)))
    assert (await api.cancel("seeded")).status == 200
    assert (await api.pay("x")).status == 500
    assert (await api.pay("y")).status == 200
    await api.control("POST", "/reset")
    assert (await (await api.get("seeded")).json())["paymentStatus"] == "PAID"
    assert (await api.pay("x")).status == 500
    await api.control("POST", "/reset", params={"owner": "alice"})
    assert (await (await api.get("seeded")).json())["paymentStatus"] == "PAID"


async def test_put_scenario_replaces_everything(api: Api) -> None:
    await api.pay("p1")
    text = (ROOT / "scenarios" / "seeded-payments.yaml").read_bytes()
    answer = await api.control("PUT", "/scenario", data=text, headers={"Content-Type": "application/yaml"})
    assert answer == {"scenario": "seeded-payments", "seed": 42}
    state = await api.control("GET", "/state")
    assert [p["paymentId"] for p in state["payments"]] == ["20251022_0001", "20251022_0002", "20251022_0003"]
    response = await api.client.get("/payments/20251022_0001", headers={"Authorization": "Bearer ci-secret-alice"})
    assert response.status == 200


async def test_put_scenario_as_json(api: Api) -> None:
    answer = await api.control("PUT", "/scenario", json={"version": 1, "name": "j", "seed": 5, "failure": {"rate": 1}})
    assert answer == {"scenario": "j", "seed": 5}
    assert (await api.pay("p1")).status == 500


async def test_invalid_scenario_is_400_listing_every_problem_and_changes_nothing(api: Api) -> None:
    await api.pay("p1")
    response = await api.client.put("/__fakepay/scenario", data=b"failure:\n  rate: 3\nseed: x\n")
    assert response.status == 400
    body = await response.json()
    assert body["type"] == "INVALID_REQUEST"
    assert body["message"].splitlines() == [
        "scenario is invalid (2 problems)",
        "<request>:2:9: failure.rate: must be a number from 0 to 1, got 3",
        "<request>:3:7: seed: must be an integer from 0 to 9223372036854775807, got 'x'",
    ]
    assert [p["paymentId"] for p in (await api.control("GET", "/state"))["payments"]] == ["p1"]


async def test_patch_config_changes_part_until_reset(api: Api) -> None:
    config = await api.control("PATCH", "/config", json={"failure": {"rate": 1.0}, "seed": 7})
    assert config["failure"] == {"rate": 1.0, "status": 500, "reuse_failed_payment_id": True}
    assert config["seed"] == 7
    assert (await api.pay("p1")).status == 500


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"failure": {"rate": 2}}, "failure.rate: must be a number from 0 to 1, got 2"),
        ({"payments": []}, "payments: unknown key"),
        ({"bogus": 1}, "bogus: unknown key"),
        ([1], "config patch must be a JSON object"),
    ],
)
async def test_bad_config_patch_is_400_and_changes_nothing(api: Api, patch: object, message: str) -> None:
    response = await api.client.patch("/__fakepay/config", json=patch)
    assert response.status == 400
    assert message in (await response.json())["message"]
    assert (await api.control("GET", "/state"))["config"]["failure"]["rate"] == 0.0


async def test_seed_payments(api: Api) -> None:
    seeded = {"owner": "alice", "paymentId": "s1", "storeId": "st", "orderName": "주문", "totalPayAmount": 10, "currency": "USD", "status": "CANCELLED", "paidAt": "2025-01-02T03:04:05.6"}
    answer = await api.control("POST", "/payments", json=[seeded])
    assert answer["payments"][0]["paymentId"] == "s1"
    payment = await (await api.get("s1")).json()
    assert payment == {"paymentId": "s1", "paymentStatus": "CANCELLED", "orderName": "주문", "pgProvider": "CEOS_PAY", "currency": "USD", "customData": None, "paidAt": "2025-01-02T03:04:05.6"}
    await api.control("POST", "/payments", json={**seeded, "paymentId": "s2", "status": "PAID", "paidAt": None})
    assert (await (await api.get("s2")).json())["paidAt"] == FROZEN


async def test_bad_seed_payments_are_400_and_nothing_is_stored(api: Api) -> None:
    good = {"owner": "alice", "paymentId": "s1", "storeId": "st", "orderName": "o", "totalPayAmount": 10, "currency": "KRW"}
    response = await api.client.post("/__fakepay/payments", json=[good, {**good, "paymentId": "s2", "currency": "EUR"}])
    assert response.status == 400
    assert "[1].currency: must be 'KRW' or 'USD', got 'EUR'" in (await response.json())["message"]
    assert (await api.control("GET", "/state"))["payments"] == []


async def test_rules_can_be_added_listed_and_cleared(api: Api) -> None:
    rule = await api.control("POST", "/rules", json={"when": {"operation": "instant", "paymentId": "big-*"}, "then": "fail", "times": 2})
    assert rule == {"id": 1, "when": {"operation": "instant", "paymentId": "big-*"}, "then": "fail", "times": 2, "remaining": 2}
    assert (await api.pay("big-1")).status == 500
    assert (await api.pay("small")).status == 200
    assert (await api.control("GET", "/rules"))["rules"][0]["remaining"] == 1
    assert await api.control("DELETE", "/rules") == {"rules": []}
    assert (await api.pay("big-2")).status == 200


async def test_one_rule_can_be_deleted(api: Api) -> None:
    for then in ("fail", "reset"):
        await api.control("POST", "/rules", json={"when": {"operation": "instant"}, "then": then})
    assert await api.control("DELETE", "/rules/1") == {"rules": [
        {"id": 2, "when": {"operation": "instant"}, "then": "reset", "remaining": None},
    ]}
    missing = await api.client.delete("/__fakepay/rules/1")
    assert (missing.status, await missing.json()) == (404, {"type": "NOT_FOUND", "message": "no rule with id 1"})
    bad = await api.client.delete("/__fakepay/rules/first")
    assert (bad.status, (await bad.json())["message"]) == (400, "a rule id is a whole number, got 'first'")
    wrong = await api.client.get("/__fakepay/rules/2")
    assert (wrong.status, wrong.headers["Allow"]) == (405, "DELETE")
    assert (await api.control("GET", "/rules"))["rules"][0]["id"] == 2


async def test_shipped_scenarios_are_listed_and_loaded_by_name(api: Api) -> None:
    listed = (await api.control("GET", "/scenarios"))["scenarios"]
    assert listed == shipped_scenarios() and {"default", "always-fail", "happy-path"} <= set(listed)
    assert await api.control("POST", "/scenarios/always-fail") == {"scenario": "always-fail", "seed": 1}
    assert (await api.pay("p1")).status == 500
    for name in ("nope", "always-fail.yaml", "..%2E"):
        missing = await api.client.post(URL(f"/__fakepay/scenarios/{name}", encoded=True))
        assert missing.status == 404
        assert (await missing.json())["message"].startswith(f"no shipped scenario '{unquote(name)}'; shipped: always-fail, ")
    misspelled = await api.client.post("/__fakepay/scenarios/happypath")
    assert (await misspelled.json())["message"].endswith("slow-network; did you mean 'happy-path'?")
    path = await api.client.post(URL("/__fakepay/scenarios/..%2Fscenario.schema", encoded=True))
    assert (path.status, (await path.json())["type"]) == (400, "INVALID_REQUEST")
    assert (await api.control("GET", "/state"))["scenario"] == "always-fail"


async def test_bad_rule_is_400(api: Api) -> None:
    response = await api.client.post("/__fakepay/rules", json={"when": {"operation": "refund"}, "then": "explode"})
    assert response.status == 400
    message = (await response.json())["message"]
    assert "when.operation: must be one of" in message and "then: must be one of" in message


async def test_clock_freeze_advance_resume(api: Api) -> None:
    assert await api.control("POST", "/clock", json={"freeze": "2025-01-01T00:00:00"}) == {
        "now": "2025-01-01T00:00:00", "frozen": True, "timezone": "Asia/Seoul"}
    assert (await (await api.pay("p1")).json())["paidAt"] == "2025-01-01T00:00:00"
    assert (await api.control("POST", "/clock", json={"advance_ms": 1500.5}))["now"] == "2025-01-01T00:00:01.5005"
    assert (await (await api.pay("p2")).json())["paidAt"] == "2025-01-01T00:00:01.5005"
    resumed = await api.control("POST", "/clock", json={"resume": True})
    assert resumed["frozen"] is False and resumed["now"] > "2026"
    frozen_now = await api.control("POST", "/clock", json={"freeze": True})
    assert frozen_now["frozen"] is True


@pytest.mark.parametrize("body", [{}, {"freeze": "yesterday"}, {"advance_ms": "x"}, {"resume": False}, {"rewind": 1}, [1]])
async def test_bad_clock_requests_are_400(api: Api, body: object) -> None:
    response = await api.client.post("/__fakepay/clock", json=body)
    assert response.status == 400 and (await response.json())["type"] == "INVALID_REQUEST"


async def test_control_errors_are_json(client: Client) -> None:
    for method, path, status in (
        ("GET", "/__fakepay/nope", 404),
        ("DELETE", "/__fakepay/health", 405),
        ("POST", "/__fakepay/rules", 400),
        ("GET", "/__fakepay/requests?limit=0", 400),
        ("GET", "/__fakepay/requests?bogus=1", 400),
    ):
        response = await client.request(method, path, data=b"{")
        assert response.status == status, path
        assert list(await response.json()) == ["type", "message"]


async def test_control_token_guards_every_control_call_but_health(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(create_app(PaymentService(scenario()), control_token="s3cret"))
    assert (await client.get("/__fakepay/health")).status == 200
    for method, path in (("GET", "/__fakepay/state"), ("POST", "/__fakepay/reset"), ("GET", "/__fakepay/requests")):
        response = await client.request(method, path)
        assert response.status == 401 and (await response.json())["type"] == "UNAUTHORIZED"
        response = await client.request(method, path, headers={"Authorization": "Bearer wrong"})
        assert response.status == 401
        response = await client.request(method, path, headers={"Authorization": "Bearer s3cret"})
        assert response.status == 200
    assert (await client.get("/auth/alice")).status == 200


@pytest.mark.parametrize("header", ["Bearer s3cret", "bearer s3cret", "BEARER s3cret", "bEaReR  s3cret "])
async def test_the_control_tokens_scheme_is_taken_in_any_case(aiohttp_client: Any, header: str) -> None:
    client = await aiohttp_client(create_app(PaymentService(scenario()), control_token="s3cret"))
    assert (await client.get("/__fakepay/state", headers={"Authorization": header})).status == 200
    for wrong in ("Basic s3cret", "s3cret", "Bearers3cret", "Bearer S3CRET", "Bearer s3cret s3cret"):
        assert (await client.get("/__fakepay/state", headers={"Authorization": wrong})).status == 401, wrong


@pytest.mark.parametrize("token", ["café", "토큰", "two words", "x" * 257])
def test_a_control_token_that_cannot_be_sent_in_a_header_is_refused_at_once(token: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII characters"):
        create_app(PaymentService(scenario()), control_token=token)


async def test_control_calls_to_another_host_name_are_refused_unless_allowed(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(PaymentService(scenario()), allow_hosts=["fakepay"]))
    for host, status in (("evil.example", 403), ("fakepay:8080", 200), ("localhost", 200), ("127.0.0.1", 200)):
        response = await client.get("/__fakepay/state", headers={"Host": host})
        assert response.status == status, host
    assert (await client.get("/auth/alice", headers={"Host": "evil.example"})).status == 200


async def test_no_control_leaves_only_health(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(create_app(PaymentService(scenario()), control=False))
    assert (await client.get("/__fakepay/health")).status == 200
    response = await client.post("/__fakepay/reset")
    assert response.status == 404 and (await response.json())["type"] == "NOT_FOUND"
    assert (await client.get("/payments/p1", headers=bearer("alice"))).status == 404


async def test_one_payment_by_owner_and_id(api: Api) -> None:
    await api.pay("p 1", owner="alice")
    payment = await api.control("GET", "/payments/alice/p%201")
    assert (payment["owner"], payment["paymentId"], payment["status"]) == ("alice", "p 1", "PAID")
    assert payment == (await api.control("GET", "/state?owner=alice"))["payments"][0]
    missing = await api.client.get("/__fakepay/payments/bob/p%201")
    assert (missing.status, (await missing.json())["type"]) == (404, "PAYMENT_NOT_FOUND")
    bad = await api.client.get(URL("/__fakepay/payments/alice/%ZZ", encoded=True))
    assert (bad.status, (await bad.json())["type"]) == (400, "INVALID_REQUEST")


async def test_a_secret_from_the_control_api_is_not_journaled(api: Api) -> None:
    assert await api.control("GET", "/secrets/alice") == {"githubId": "alice", "secret": issue_secret("alice")}
    assert (await api.control("GET", "/requests"))["requests"] == []
    bad = await api.client.get("/__fakepay/secrets/al%20ice")
    assert (bad.status, (await bad.json())["type"]) == (400, "INVALID_REQUEST")


# -- the dashboard's files -------------------------------------------------------------------------


async def test_the_page_and_its_files_are_served_with_a_strict_policy(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(PaymentService(scenario()), control_token="tok"))
    for path, content_type in (("/", "text/html"), ("/dashboard.css", "text/css"), ("/dashboard.js", "text/javascript")):
        response = await client.get(f"/__fakepay{path}")  # the page itself asks for the token
        assert response.status == 200
        assert response.headers["Content-Type"] == f"{content_type}; charset=utf-8"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    page = await (await client.get("/__fakepay/")).text()
    assert "http://" not in page and "https://" not in page
    assert '<body data-token="required">' in page  # the page asks for the token before any call
    open_client = await aiohttp_client(create_app(PaymentService(scenario())))
    assert "<body>" in await (await open_client.get("/__fakepay/")).text()
    assert (await client.get("/__fakepay/state")).status == 401
    typed = await client.get("/__fakepay", allow_redirects=False)
    assert (typed.status, typed.headers["Location"]) == (301, "/__fakepay/")
    assert (await client.get("/__fakepay")).url.path == "/__fakepay/"


async def test_no_control_means_no_page(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(PaymentService(scenario()), control=False))
    for path in ("", "/", "/dashboard.js", "/events"):
        response = await client.get(f"/__fakepay{path}")
        assert response.status == 404
        assert (await response.json())["type"] == "NOT_FOUND"


async def test_a_control_call_from_another_origin_is_refused(api: Api) -> None:
    before = await api.control("GET", "/state")
    refused = await api.client.post("/__fakepay/scenarios/always-fail", headers={"Origin": "http://evil.example"})
    assert (refused.status, (await refused.json())["type"]) == (403, "FORBIDDEN")
    text_rule = await api.client.post("/__fakepay/rules", data=b'{"then":"fail"}',
                                      headers={"Origin": "null", "Content-Type": "text/plain"})
    assert text_rule.status == 403
    assert await api.control("GET", "/state") == before
    host = api.client.server.host
    same = await api.client.post("/__fakepay/reset", headers={"Origin": f"http://{host}:{api.client.server.port}"})
    assert same.status == 200

"""Sandboxes (docs/sandboxes.md) through real HTTP: made, listed, shown and deleted; every control
call inside one acting on it alone; the API's requests going to the sandbox their credentials name;
the default one as it was; idle expiry and the limit; ``fakepay serve``'s options; and hostile ids,
forged secrets, many sandboxes used at once and many made and deleted."""

from __future__ import annotations

import asyncio
import base64
import gc
import http.client
import json
import re
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from fakepay import PaymentService, Scenario, create_app, issue_secret, load_scenario, shipped_scenarios
from fakepay.core.instance import Instance
from fakepay.core.sandboxes import Sandbox, Sandboxes
from fakepay.core.text import show
from fakepay.server import Front

from .support import BODY, FROZEN, Client, bearer, exchange_async, fetch, raw_request, scenario, serving
from .test_events import Stream

SANDBOX_ID = re.compile("[0-9a-f]{16}")
UNAUTHORIZED = {"type": "UNAUTHORIZED", "message": "the API secret is unknown or badly signed; get one from GET /auth/{githubId}"}
JSON = "application/json"
#: Each of these control calls, made in one sandbox, changes it and nothing else.
CHANGES: dict[str, tuple[str, str, Any]] = {
    "reset": ("POST", "/reset", None),
    "reset of one owner": ("POST", "/reset?owner=alice", None),
    "rule added": ("POST", "/rules", {"then": "fail"}),
    "rule deleted": ("DELETE", "/rules/1", None),
    "rules cleared": ("DELETE", "/rules", None),
    "config": ("PATCH", "/config", {"failure": {"rate": 1}}),
    "clock frozen": ("POST", "/clock", {"freeze": "2030-01-01T00:00:00"}),
    "clock advanced": ("POST", "/clock", {"advance_ms": 60_000}),
    "clock resumed": ("POST", "/clock", {"resume": True}),
    "payments seeded": ("POST", "/payments", [{"owner": "carol", "paymentId": "seeded", "storeId": "s", "orderName": "o",
                                               "totalPayAmount": 7, "currency": "KRW"}]),
    "requests cleared": ("DELETE", "/requests", None),
    "scenario loaded": ("PUT", "/scenario", {"version": 1, "name": "mine", "seed": 5, "failure": {"rate": 0.5}}),
    "shipped scenario loaded": ("POST", "/scenarios/happy-path", None),
}


def not_found(sandbox_id: str) -> dict[str, str]:
    """The error of a sandbox that is not live."""
    return {"type": "SANDBOX_NOT_FOUND",
            "message": f"no sandbox {show(sandbox_id)}: it was never made, was deleted, or expired after being idle"}


def under(sandbox: str | None) -> str:
    """Where the control calls of ``sandbox`` are (None: the server's own)."""
    return "/__fakepay" if sandbox is None else f"/__fakepay/sandboxes/{sandbox}"


async def answer(client: Client, method: str, path: str, **kwargs: Any) -> tuple[int, str, Any]:
    """Status, content type and JSON body of a request."""
    response = await client.request(method, path, **kwargs)
    return response.status, response.headers["Content-Type"], await response.json()


async def control(client: Client, method: str, path: str, sandbox: str | None = None, **kwargs: Any) -> Any:
    """A control call of ``sandbox`` (None: the server's own) that must succeed; its JSON."""
    status, content_type, body = await answer(client, method, under(sandbox) + path, **kwargs)
    assert (status, content_type) == (200, JSON), body
    return body


async def make(client: Client, body: Any = None) -> str:
    """A new sandbox's id."""
    made = await control(client, "POST", "/sandboxes", **({} if body is None else {"json": body}))
    assert SANDBOX_ID.fullmatch(made["id"]), made
    return str(made["id"])


async def secret_of(client: Client, sandbox: str | None, owner: str = "alice") -> dict[str, str]:
    """The ``Authorization`` header of ``owner`` in ``sandbox``, as its control API issues it."""
    return {"Authorization": f"Bearer {(await control(client, 'GET', f'/secrets/{owner}', sandbox))['secret']}"}


async def raw(client: Client, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None,
              owner: str | None = None) -> tuple[int, str, Any]:
    """Status, content type and JSON body of a request sent as written (its path not normalised)."""
    answered = await exchange_async(f"http://{client.host}:{client.port}", raw_request(method, target, body, headers, owner))
    return answered.status, answered.headers["content-type"], json.loads(answered.body)


def claims(secret: str) -> Any:
    """The claims of a JWT, unchecked."""
    payload = secret.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def jwt(header: dict[str, Any], payload: dict[str, Any], signature: str = "") -> str:
    """A JWT of these parts, signed as told (unsigned: no signature)."""
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{part(header)}.{part(payload)}.{signature}"


def label(event: dict[str, Any]) -> tuple[str, str]:
    """An event's type, and the name of the configuration or the order it is of."""
    kind = event["type"]
    if kind == "config":
        return kind, event["config"]["name"]
    return kind, (event["payment"] if kind == "payment" else event["request"]["body"])["orderName"]


def shown(sandbox: dict[str, Any]) -> dict[str, Any]:
    """A sandbox as shown, its idle time (under a second) as 0."""
    assert 0 <= sandbox["idle_s"] < 1, sandbox
    return {**sandbox, "idle_s": 0.0}


async def snapshot(client: Client, sandbox: str | None) -> dict[str, Any]:
    """All a sandbox's control API shows of it (the server's list of sandboxes aside)."""
    state = await control(client, "GET", "/state", sandbox)
    assert ("sandboxes" in state) == (sandbox is None)
    state.pop("sandboxes", None)
    return {"state": state, "requests": await control(client, "GET", "/requests", sandbox),
            "scenario": await control(client, "GET", "/scenario", sandbox)}


# -- making, listing, showing and deleting ---------------------------------------------------------

async def test_a_sandbox_made_without_a_body_starts_from_the_servers_scenario(client: Client) -> None:
    response = await client.post("/__fakepay/sandboxes")
    assert (response.status, response.headers["Content-Type"]) == (200, JSON)
    made = await response.json()
    assert shown(made) == {"id": made["id"], "scenario": "default", "seed": 42, "payments": 0, "idle_s": 0.0}
    assert SANDBOX_ID.fullmatch(made["id"])
    assert await snapshot(client, made["id"]) == await snapshot(client, None)
    for empty in (b"", b" \r\n", b"{}", b'{"scenario":null,"seed":null,"failure_rate":null}'):
        status, _, again = await answer(client, "POST", "/__fakepay/sandboxes", data=empty)
        assert (status, again["scenario"], again["seed"]) == (200, "default", 42)
        assert await snapshot(client, again["id"]) == await snapshot(client, None)


async def test_a_sandbox_starts_from_a_shipped_scenario_with_the_seed_and_failure_rate_given(client: Client) -> None:
    before = await snapshot(client, None)
    made = await control(client, "POST", "/sandboxes", json={"scenario": "seeded-payments", "seed": 7, "failure_rate": 0.5})
    assert shown(made) == {"id": made["id"], "scenario": "seeded-payments", "seed": 7, "payments": 3, "idle_s": 0.0}
    state = await control(client, "GET", "/state", made["id"])
    assert (state["scenario"], state["seed"], state["config"]["failure"]["rate"]) == ("seeded-payments", 7, 0.5)
    assert [p["paymentId"] for p in state["payments"]] == ["20251022_0001", "20251022_0002", "20251022_0003"]
    happy = await control(client, "POST", "/sandboxes", json={"scenario": "happy-path"})
    assert shown(happy) == {"id": happy["id"], "scenario": "happy-path", "seed": load_scenario("happy-path").seed,
                            "payments": 0, "idle_s": 0.0}
    assert await snapshot(client, None) == before


async def test_a_sandbox_starts_from_a_scenario_given_in_the_body(client: Client) -> None:
    given = {"version": 1, "name": "mine", "seed": 3, "failure": {"rate": 1}, "clock": {"frozen_at": "2030-01-01T00:00:00"},
             "payments": [{"owner": "bob", "paymentId": "b1", "storeId": "s", "orderName": "o", "totalPayAmount": 5,
                           "currency": "USD"}]}
    made = await control(client, "POST", "/sandboxes", json={"scenario": given, "failure_rate": 0})
    assert shown(made) == {"id": made["id"], "scenario": "mine", "seed": 3, "payments": 1, "idle_s": 0.0}
    state = await control(client, "GET", "/state", made["id"])
    assert state["clock"] == {"now": "2030-01-01T00:00:00", "frozen": True, "timezone": "Asia/Seoul"}
    assert state["config"]["failure"]["rate"] == 0.0
    assert [(p["owner"], p["paymentId"], p["paidAt"]) for p in state["payments"]] == [("bob", "b1", "2030-01-01T00:00:00")]
    assert (await control(client, "GET", "/state"))["payments"] == []


SHIPPED = ", ".join(shipped_scenarios())
BAD_SANDBOXES: dict[str, tuple[bytes, int, dict[str, str]]] = {
    "unknown scenario": (b'{"scenario":"nope"}', 404, {
        "type": "NOT_FOUND", "message": f"no shipped scenario 'nope'; shipped: {SHIPPED}"}),
    "misspelled scenario": (b'{"scenario":"happy_path"}', 404, {
        "type": "NOT_FOUND", "message": f"no shipped scenario 'happy_path'; shipped: {SHIPPED}; did you mean 'happy-path'?"}),
    "every problem at once": (b'{"seed":-1,"failure_rate":2,"x":1}', 400, {
        "type": "INVALID_REQUEST", "message": "sandbox is invalid (3 problems)\nx: unknown key\n"
        "seed: must be an integer from 0 to 9223372036854775807, got -1\nfailure_rate: must be a number from 0 to 1, got 2"}),
    "seed too big": (b'{"seed":9223372036854775808}', 400, {
        "type": "INVALID_REQUEST", "message": "sandbox is invalid (1 problem)\n"
        "seed: must be an integer from 0 to 9223372036854775807, got 9223372036854775808"}),
    "seed true": (b'{"seed":true}', 400, {
        "type": "INVALID_REQUEST", "message": "sandbox is invalid (1 problem)\n"
        "seed: must be an integer from 0 to 9223372036854775807, got a boolean"}),
    "failure rate text": (b'{"failure_rate":"0.5"}', 400, {
        "type": "INVALID_REQUEST", "message": "sandbox is invalid (1 problem)\nfailure_rate: must be a number from 0 to 1, got '0.5'"}),
    "a list": (b"[]", 400, {"type": "INVALID_REQUEST", "message": "sandbox is invalid (1 problem)\nmust be a mapping, got a list"}),
    "null": (b"null", 400, {"type": "INVALID_REQUEST", "message": "sandbox is invalid (1 problem)\nmust be a mapping, got nothing"}),
    "a string": (b'"x"', 400, {"type": "INVALID_REQUEST", "message": "sandbox is invalid (1 problem)\nmust be a mapping, got a string"}),
    "scenario a number": (b'{"scenario":1}', 400, {
        "type": "INVALID_REQUEST", "message": "scenario is invalid (1 problem)\nmust be a mapping, got an integer"}),
    "scenario with a problem": (b'{"scenario":{"failure":{"rate":5}}}', 400, {
        "type": "INVALID_REQUEST", "message": "scenario is invalid (1 problem)\nfailure.rate: must be a number from 0 to 1, got 5"}),
    "scenario of another version": (b'{"scenario":{"version":2}}', 400, {
        "type": "INVALID_REQUEST", "message": "scenario is invalid (1 problem)\nversion: must be 1 (the only version so far), got 2"}),
    "malformed": (b"{", 400, {
        "type": "INVALID_REQUEST", "message": "malformed JSON: Expecting property name enclosed in double quotes at line 1 column 2"}),
    "duplicate key": (b'{"seed":1,"seed":2}', 400, {"type": "INVALID_REQUEST", "message": "malformed JSON: duplicate key 'seed'"}),
    "NaN": (b'{"failure_rate":NaN}', 400, {"type": "INVALID_REQUEST", "message": "malformed JSON: NaN is not valid JSON"}),
    "not UTF-8": (b"\xff", 400, {"type": "INVALID_REQUEST", "message": "request body is not valid UTF-8"}),
}


@pytest.mark.parametrize(("body", "status", "error"), list(BAD_SANDBOXES.values()), ids=list(BAD_SANDBOXES))
async def test_a_bad_sandbox_body_is_refused_and_makes_none(client: Client, body: bytes, status: int, error: dict[str, str]) -> None:
    assert await answer(client, "POST", "/__fakepay/sandboxes", data=body) == (status, JSON, error)
    assert (await control(client, "GET", "/sandboxes"))["live"] == 0


async def test_sandboxes_are_listed_shown_and_deleted(client: Client) -> None:
    assert await control(client, "GET", "/sandboxes") == {"limit": 1000, "idle_timeout_s": 1800.0, "live": 0, "sandboxes": []}
    first, second = await make(client), await make(client, {"scenario": "happy-path", "seed": 7})
    each = [{"id": first, "scenario": "default", "seed": 42, "payments": 0, "idle_s": 0.0},
            {"id": second, "scenario": "happy-path", "seed": 7, "payments": 0, "idle_s": 0.0}]
    for shows in (await control(client, "GET", "/sandboxes"), (await control(client, "GET", "/state"))["sandboxes"]):
        assert {**shows, "sandboxes": [shown(s) for s in shows["sandboxes"]]} == {
            "limit": 1000, "idle_timeout_s": 1800.0, "live": 2, "sandboxes": each}
    assert shown(await control(client, "GET", f"/sandboxes/{second}")) == each[1]
    assert await control(client, "DELETE", f"/sandboxes/{first}") == {"deleted": first}
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/state"), ("POST", "/reset")):
        assert await answer(client, method, f"/__fakepay/sandboxes/{first}{path}") == (404, JSON, not_found(first))
    assert [s["id"] for s in (await control(client, "GET", "/sandboxes"))["sandboxes"]] == [second]


async def test_the_default_sandbox_is_shown_under_its_id_and_stays(client: Client) -> None:
    assert shown(await control(client, "GET", "/sandboxes/default")) == {
        "id": "default", "scenario": "default", "seed": 42, "payments": 0, "idle_s": 0.0}
    assert await control(client, "GET", "/sandboxes/default/rules") == {"rules": []}
    assert await answer(client, "DELETE", "/__fakepay/sandboxes/default") == (404, JSON, not_found("default"))
    assert (await client.get("/auth/alice", headers={"Fakepay-Sandbox": "default"})).status == 200


# -- every control call inside a sandbox acts on it alone --------------------------------------------

@pytest.mark.parametrize(("method", "path", "body"), list(CHANGES.values()), ids=list(CHANGES))
async def test_a_control_call_in_a_sandbox_changes_it_alone(client: Client, method: str, path: str, body: Any) -> None:
    first, second = await make(client), await make(client)
    for sandbox in (None, first, second):
        paid = await client.post("/payments/p1/instant", json=BODY, headers=await secret_of(client, sandbox))
        assert paid.status == 200
        assert (await control(client, "POST", "/rules", sandbox, json={"when": {"paymentId": "never"}, "then": "fail"}))["id"] == 1
    before = {sandbox: await snapshot(client, sandbox) for sandbox in (None, first, second)}
    await control(client, method, path, first, **({} if body is None else {"json": body}))
    assert await snapshot(client, first) != before[first]
    assert await snapshot(client, None) == before[None]
    assert await snapshot(client, second) == before[second]


async def test_a_sandboxs_event_stream_sees_its_own_events_alone_and_ends_with_it(client: Client) -> None:
    first, second = await make(client), await make(client)
    sandboxes = (None, first, second)
    streams = {}
    for sandbox in sandboxes:
        response = await client.get(f"{under(sandbox)}/events")
        assert (response.status, response.headers["Content-Type"]) == (200, "text/event-stream; charset=utf-8")
        streams[sandbox] = Stream(response)
        assert await streams[sandbox].next() == {"type": "ready"}
    for last in (False, True):
        for sandbox in sandboxes:
            name = f"{'last of ' if last else ''}{sandbox}"
            await control(client, "PATCH", "/config", sandbox, json={"name": name})
            paid = await client.post(f"/payments/{'last' if last else 'p1'}/instant", json={**BODY, "orderName": name},
                                     headers=await secret_of(client, sandbox))
            assert paid.status == 200
    for sandbox, stream in streams.items():
        seen = [label(await stream.next()) for _ in range(5)]
        assert seen == [("config", f"{sandbox}"), ("payment", f"{sandbox}"), ("request", f"{sandbox}"),
                        ("config", f"last of {sandbox}"), ("payment", f"last of {sandbox}")]
    await control(client, "DELETE", f"/sandboxes/{first}")
    rest = []
    with pytest.raises(EOFError):
        while True:
            rest.append((await streams[first].next())["type"])
    assert rest == ["request", "requests_cleared", "reset"]  # the payment's last, then its state let go
    assert await answer(client, "GET", f"/__fakepay/sandboxes/{first}/events") == (404, JSON, not_found(first))


# -- the API's requests go to the sandbox their credentials name --------------------------------------

async def test_a_sandboxs_secret_takes_the_apps_requests_to_it_alone(client: Client) -> None:
    first, second = await make(client), await make(client)
    sandboxes = (None, first, second)
    secrets = {sandbox: await secret_of(client, sandbox) for sandbox in sandboxes}
    assert claims(secrets[first]["Authorization"][7:]) == {
        "sub": "alice", "sbx": first, "category": "access", "authorities": "ROLE_USER", "iat": 1760000000}
    assert secrets[None] == bearer("alice") and len(set(map(str, secrets.values()))) == 3
    for sandbox in sandboxes:
        response = await client.post("/payments/p1/instant", json={**BODY, "orderName": f"in {sandbox}"}, headers=secrets[sandbox])
        assert (response.status, await response.json()) == (200, {"paymentId": "p1", "paidAt": FROZEN})
    assert (await client.post("/payments/only-first/instant", json=BODY, headers=secrets[first])).status == 200
    for sandbox in sandboxes:
        response = await client.get("/payments/p1", headers=secrets[sandbox])
        assert (response.status, (await response.json())["orderName"]) == (200, f"in {sandbox}")
        state = await control(client, "GET", "/state", sandbox)
        assert [p["paymentId"] for p in state["payments"]] == (["p1", "only-first"] if sandbox == first else ["p1"])
        journal = (await control(client, "GET", "/requests", sandbox))["requests"]
        assert [e["path"] for e in journal] == ["/payments/p1/instant", *(["/payments/only-first/instant"] if sandbox == first else []),
                                                "/payments/p1"]
    for sandbox in (None, second):
        assert await answer(client, "GET", "/payments/only-first", headers=secrets[sandbox]) == (
            404, JSON, {"type": "PAYMENT_NOT_FOUND", "message": "payment 'only-first' not found"})


async def test_auth_with_the_sandbox_header_issues_the_sandboxs_secret(client: Client) -> None:
    sandbox = await make(client)
    response = await client.get("/auth/alice", headers={"Fakepay-Sandbox": sandbox})
    assert response.status == 200
    assert {"Authorization": f"Bearer {await response.text()}"} == await secret_of(client, sandbox)
    assert [e["path"] for e in (await control(client, "GET", "/requests", sandbox))["requests"]] == ["/auth/alice"]
    assert (await control(client, "GET", "/requests"))["requests"] == []
    secret = {"Authorization": f"Bearer {await response.text()}"}
    assert (await client.post("/payments/p1/instant", json=BODY, headers=secret)).status == 200
    named = await client.post("/payments/p2/instant", json=BODY, headers={**secret, "Fakepay-Sandbox": sandbox})
    assert named.status == 200
    assert [p["paymentId"] for p in (await control(client, "GET", "/state", sandbox))["payments"]] == ["p1", "p2"]


async def test_the_default_sandbox_answers_as_a_server_without_sandboxes(aiohttp_client: Callable[..., Awaitable[Client]]) -> None:
    """The same requests to the default sandbox get the same bytes, and leave the same journal, whether
    sandboxes are made and used between them or not."""
    plain, shared = await aiohttp_client(create_app(PaymentService(scenario()))), await aiohttp_client(create_app(PaymentService(scenario())))
    requests: list[tuple[str, str, bytes, dict[str, str]]] = [
        ("GET", "/auth/alice", b"", {}),
        ("POST", "/payments/p1/instant", json.dumps(BODY).encode(), bearer("alice")),
        ("POST", "/payments/p1/instant", json.dumps(BODY).encode(), bearer("alice")),
        ("GET", "/payments/p1", b"", bearer("alice")),
        ("POST", "/payments/p1/cancel", b"", bearer("alice")),
        ("GET", "/payments/p2", b"", bearer("bob")),
        ("POST", "/payments/p3/instant", b"{", bearer("alice")),
        ("GET", "/payments/p1", b"", {"Authorization": "Bearer nope"}),
    ]

    async def replies(client: Client, between: Callable[[], Awaitable[None]]) -> list[Any]:
        got = []
        for method, path, body, headers in requests:
            await between()
            response = await client.request(method, path, data=body, headers={"Content-Type": JSON, **headers})
            got.append((response.status, response.headers["Content-Type"], await response.read()))
        journal = (await control(client, "GET", "/requests"))["requests"]
        return [got, [{k: v for k, v in e.items() if k not in ("time", "duration_ms")} for e in journal],
                (await control(client, "GET", "/state")).get("payments")]

    async def nothing() -> None:
        pass

    async def use_a_sandbox() -> None:
        sandbox = await make(shared, {"failure_rate": 1, "seed": 9})
        await control(shared, "POST", "/rules", sandbox, json={"then": {"status": 418}})
        await control(shared, "POST", "/clock", sandbox, json={"advance_ms": 1000})
        for payment_id in ("p1", "p2", "p3"):
            await shared.post(f"/payments/{payment_id}/instant", json=BODY, headers=await secret_of(shared, sandbox))
        await control(shared, "POST", "/reset", sandbox)

    assert await replies(shared, use_a_sandbox) == await replies(plain, nothing)


# -- idle expiry and the limit ---------------------------------------------------------------------

async def test_an_idle_sandbox_expires_and_its_secret_is_refused(aiohttp_client: Callable[..., Awaitable[Client]]) -> None:
    client = await aiohttp_client(create_app(PaymentService(scenario()), sandbox_idle_s=1.0))
    idle, used = await make(client), await make(client)
    secrets = {sandbox: await secret_of(client, sandbox) for sandbox in (idle, used)}
    assert (await client.post("/payments/p1/instant", json=BODY, headers=secrets[idle])).status == 200
    assert (await control(client, "GET", "/sandboxes"))["idle_timeout_s"] == 1.0
    deadline = time.monotonic() + 1.3
    calls = 0
    while time.monotonic() < deadline:  # a request or a control call every 0.2 s keeps one alive
        await asyncio.sleep(0.2)
        if calls % 2:
            await control(client, "GET", "/rules", used)
        else:
            assert (await client.get("/payments/p0", headers=secrets[used])).status == 404
        calls += 1
    assert await answer(client, "DELETE", f"/__fakepay/sandboxes/{idle}") == (404, JSON, not_found(idle))
    assert await answer(client, "GET", f"/__fakepay/sandboxes/{idle}/state") == (404, JSON, not_found(idle))
    assert await answer(client, "GET", "/payments/p1", headers=secrets[idle]) == (401, JSON, UNAUTHORIZED)
    assert await answer(client, "GET", "/auth/alice", headers={"Fakepay-Sandbox": idle}) == (404, JSON, not_found(idle))
    assert [s["id"] for s in (await control(client, "GET", "/sandboxes"))["sandboxes"]] == [used]
    assert (await client.post("/payments/p1/instant", json=BODY, headers=secrets[used])).status == 200


def test_an_expired_sandbox_is_let_go_when_the_next_is_made() -> None:
    def instance(scenario: Scenario | None, sandbox_id: str) -> Instance:
        return PaymentService(scenario, sandbox=sandbox_id)

    sandboxes = Sandboxes(PaymentService(), instance, idle_s=0.05)
    gone: list[Sandbox] = []
    sandboxes.gone_listeners.append(gone.append)
    first = sandboxes.create()
    time.sleep(0.1)
    second = sandboxes.create()
    assert gone == [first] and list(sandboxes) == [second]


async def test_the_limit_is_a_429_until_one_is_deleted_or_expires(aiohttp_client: Callable[..., Awaitable[Client]]) -> None:
    client = await aiohttp_client(create_app(PaymentService(scenario()), sandboxes=2, sandbox_idle_s=1.0))
    first, _ = await make(client), await make(client)
    too_many = {"type": "TOO_MANY_SANDBOXES", "message": "the most sandboxes this server holds at once (2) are live already; "
                "delete those you are done with (DELETE /__fakepay/sandboxes/{id}), or start fakepay with a higher --sandboxes"}
    assert await answer(client, "POST", "/__fakepay/sandboxes") == (429, JSON, too_many)
    assert await answer(client, "POST", "/__fakepay/sandboxes", json={"scenario": "happy-path"}) == (429, JSON, too_many)
    await control(client, "DELETE", f"/sandboxes/{first}")
    await make(client)
    assert await answer(client, "POST", "/__fakepay/sandboxes") == (429, JSON, too_many)
    await asyncio.sleep(1.2)
    await make(client)
    await make(client)
    assert (await control(client, "GET", "/sandboxes"))["live"] == 2


# -- fakepay serve ---------------------------------------------------------------------------------

def test_serve_holds_as_many_sandboxes_as_told_for_as_long_as_told() -> None:
    with serving("--sandboxes", "1", "--sandbox-idle", "1") as (_, banner):
        url = banner.group(1)
        status, body = fetch(f"{url}/__fakepay/sandboxes", "POST")
        assert status == 200
        status, refused = fetch(f"{url}/__fakepay/sandboxes", "POST")
        assert (status, json.loads(refused)) == (429, {
            "type": "TOO_MANY_SANDBOXES", "message": "the most sandboxes this server holds at once (1) are live already; delete "
            "those you are done with (DELETE /__fakepay/sandboxes/{id}), or start fakepay with a higher --sandboxes"})
        assert json.loads(fetch(f"{url}/__fakepay/sandboxes")[1])["idle_timeout_s"] == 1.0
        time.sleep(1.2)
        assert fetch(f"{url}/__fakepay/sandboxes/{json.loads(body)['id']}")[0] == 404
        assert fetch(f"{url}/__fakepay/sandboxes", "POST")[0] == 200
    with serving("--sandboxes", "0") as (_, banner):
        assert fetch(f"{banner.group(1)}/__fakepay/sandboxes", "POST")[0] == 429


@pytest.mark.parametrize(("args", "variables", "limits"), [
    ((), {}, (1000, 1800.0)),
    ((), {"FAKEPAY_SANDBOXES": "3", "FAKEPAY_SANDBOX_IDLE": "2.5"}, (3, 2.5)),
    (("--sandboxes", "4", "--sandbox-idle", "60"), {"FAKEPAY_SANDBOXES": "3", "FAKEPAY_SANDBOX_IDLE": "2.5"}, (4, 60.0)),
])
def test_serve_takes_its_sandbox_limits_from_the_environment_unless_given(args: tuple[str, ...], variables: dict[str, str],
                                                                           limits: tuple[int, float]) -> None:
    with serving(*args, **variables) as (_, banner):
        listed = json.loads(fetch(f"{banner.group(1)}/__fakepay/sandboxes")[1])
        assert (listed["limit"], listed["idle_timeout_s"]) == limits


# -- hostile ids, headers and secrets --------------------------------------------------------------

BAD_IDS: dict[str, tuple[str, int, dict[str, str]]] = {
    "unknown": ("0123456789abcdef", 404, not_found("0123456789abcdef")),
    "upper case": ("0123456789ABCDEF", 404, not_found("0123456789ABCDEF")),
    "not ASCII": ("%C3%A9", 404, not_found("é")),
    "256 characters": ("a" * 256, 404, not_found("a" * 256)),
    "257 characters": ("a" * 257, 400, {"type": "INVALID_REQUEST",
                                        "message": f"path value {show('a' * 257)} must be 1 to 256 characters once decoded"}),
    "slash": ("a%2Fb", 400, {"type": "INVALID_REQUEST", "message": "path value 'a%2Fb' must not contain '/' or control characters"}),
    "NUL": ("a%00b", 400, {"type": "INVALID_REQUEST", "message": "path value 'a%00b' must not contain '/' or control characters"}),
    "newline": ("%0A", 400, {"type": "INVALID_REQUEST", "message": "path value '%0A' must not contain '/' or control characters"}),
    "bad escape": ("%ZZ", 400, {"type": "INVALID_REQUEST", "message": "path value '%ZZ' has a '%' that does not start a valid %XX escape"}),
    "not UTF-8": ("%FF", 400, {"type": "INVALID_REQUEST", "message": "path value '%FF' is not valid UTF-8 once percent-decoded"}),
}
SANDBOX_CALLS = [("GET", ""), ("DELETE", ""), ("GET", "/state"), ("POST", "/reset"), ("GET", "/events"), ("GET", "/secrets/alice"),
                 ("PATCH", "/config"), ("POST", "/rules")]


@pytest.mark.parametrize(("sandbox_id", "status", "error"), list(BAD_IDS.values()), ids=list(BAD_IDS))
async def test_a_bad_or_unknown_sandbox_id_is_refused_and_changes_nothing(client: Client, sandbox_id: str, status: int,
                                                                         error: dict[str, str]) -> None:
    live = await make(client)
    before = {sandbox: await snapshot(client, sandbox) for sandbox in (None, live)}
    for method, path in SANDBOX_CALLS:
        target = f"/__fakepay/sandboxes/{sandbox_id}{path}"
        assert await raw(client, method, target, b'{"then":"fail"}') == (status, JSON, error), (method, path)
    assert {sandbox: await snapshot(client, sandbox) for sandbox in (None, live)} == before


async def test_a_percent_encoded_sandbox_id_or_literal_is_the_sandbox_it_spells(client: Client) -> None:
    sandbox = await make(client)
    encoded = f"%{ord(sandbox[0]):02X}{sandbox[1:]}"
    for rule_id, path in enumerate((f"/__fakepay/sandboxes/{encoded}/rules", f"/__fakepay/%73andboxes/{sandbox}/rules"), 1):
        assert await raw(client, "POST", path, b'{"then":"fail"}') == (
            200, JSON, {"id": rule_id, "when": {}, "then": "fail", "remaining": None})
    assert len((await control(client, "GET", "/rules", sandbox))["rules"]) == 2
    assert (await control(client, "GET", "/rules"))["rules"] == []


@pytest.mark.parametrize("named", ["0123456789abcdef", "", "a/b", "%2F", "x" * 8000, "é", "\udcff"],
                         ids=["unknown", "empty", "slash", "percent-encoded", "8000 characters", "not ASCII", "not UTF-8"])
async def test_a_request_naming_no_live_sandbox_is_a_404_in_no_journal(client: Client, named: str) -> None:
    for method, path, body in (("GET", "/auth/alice", b""), ("POST", "/payments/p1/instant", json.dumps(BODY).encode()),
                               ("GET", "/payments/p1", b"")):
        assert await raw(client, method, path, body, {"Fakepay-Sandbox": named}, "alice") == (404, JSON, not_found(named))
    assert (await control(client, "GET", "/requests"))["requests"] == []
    assert (await control(client, "GET", "/state"))["payments"] == []


async def test_a_sandbox_header_with_a_control_character_is_refused_before_fakepay(client: Client) -> None:
    url = f"http://{client.host}:{client.port}"
    assert (await exchange_async(url, raw_request("GET", "/auth/alice", headers={"Fakepay-Sandbox": "a\x01b"}))).status == 400
    assert (await control(client, "GET", "/requests"))["requests"] == []


async def test_a_forged_or_misplaced_secret_is_refused_and_stores_nothing(client: Client) -> None:
    named_key = "the-key-of-the-second-sandbox"
    first = await make(client)
    second = await make(client, {"scenario": {"version": 1, "auth": {"signing_key": named_key}, "failure": {"rate": 0}}})
    third = await make(client)
    third_secret = (await secret_of(client, third))["Authorization"][7:]
    header, _, signature = third_secret.split(".")
    spliced = jwt({"alg": "HS512"}, {**claims(third_secret), "sbx": first}).rsplit(".", 1)[0] + "." + signature
    assert spliced.split(".")[0] == header
    forged = {
        "signed with the default key": issue_secret("alice", sandbox=first),
        "signed with another sandbox's named key": issue_secret("alice", named_key, sandbox=first),
        "signed with another sandbox's own key": spliced,
        "unsigned": jwt({"alg": "none"}, {"sub": "alice", "sbx": first}),
        "unsigned, for the default": jwt({"alg": "none"}, {"sub": "alice"}),
        "naming the default": issue_secret("alice", sandbox="default"),
        "naming a sandbox never made": issue_secret("alice", sandbox="0123456789abcdef"),
        "naming a sandbox by a number": jwt({"alg": "HS512"}, {"sub": "alice", "sbx": 1}),
    }
    misplaced = {
        "the default's, sent to a sandbox": (bearer("alice"), first),
        "a sandbox's, sent to another": (await secret_of(client, third), first),
        "a sandbox's, sent to the default": (await secret_of(client, first), "default"),
    }
    attempts = [({"Authorization": f"Bearer {token}"}, name) for name, token in forged.items()]
    attempts += [({**secret, "Fakepay-Sandbox": sandbox}, name) for name, (secret, sandbox) in misplaced.items()]
    for headers, name in attempts:
        for method, path in (("POST", "/payments/forged/instant"), ("GET", "/payments/forged"), ("POST", "/payments/forged/cancel")):
            assert await answer(client, method, path, json=BODY, headers=headers) == (401, JSON, UNAUTHORIZED), (name, path)
    assert (await client.post("/payments/mine/instant", json=BODY, headers={
        "Authorization": f"Bearer {issue_secret('alice', named_key, sandbox=second)}"})).status == 200
    for sandbox in (None, first, second, third):
        assert [p["paymentId"] for p in (await control(client, "GET", "/state", sandbox))["payments"]] == (
            ["mine"] if sandbox == second else [])


async def test_a_deleted_sandboxs_secret_is_refused(client: Client) -> None:
    sandbox = await make(client)
    secret = await secret_of(client, sandbox)
    assert (await client.post("/payments/p1/instant", json=BODY, headers=secret)).status == 200
    await control(client, "DELETE", f"/sandboxes/{sandbox}")
    assert await answer(client, "GET", "/payments/p1", headers=secret) == (401, JSON, UNAUTHORIZED)
    assert await answer(client, "POST", "/payments/p2/instant", json=BODY, headers=secret) == (401, JSON, UNAUTHORIZED)
    assert await answer(client, "GET", "/payments/p1", headers={**secret, "Fakepay-Sandbox": sandbox}) == (404, JSON, not_found(sandbox))
    assert (await control(client, "GET", "/state"))["payments"] == []


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/sandboxes"), ("POST", "/sandboxes"), ("GET", "/sandboxes/{id}"), ("DELETE", "/sandboxes/{id}"),
    ("GET", "/sandboxes/{id}/state"), ("POST", "/sandboxes/{id}/sandboxes/{id}/reset"), ("GET", "/%73andboxes"),
    ("GET", "/"), ("GET", "/dashboard.js"),
])
async def test_a_sandbox_holds_no_sandboxes_and_no_dashboard(client: Client, method: str, path: str) -> None:
    sandbox = await make(client)
    target = f"/__fakepay/sandboxes/{sandbox}{path.replace('{id}', sandbox)}"
    assert await raw(client, method, target) == (404, JSON, {"type": "NOT_FOUND", "message": f"no route for {method} {target}"})
    assert (await control(client, "GET", "/sandboxes"))["live"] == 1


# -- many at once, and many made and deleted ------------------------------------------------------

THREADS = 200
ROUNDS = 3


def test_two_hundred_sandboxes_used_at_once_never_see_each_other() -> None:
    """Each thread pays, is ruled, has its rate and its clock in its own sandbox, and resets it, in a
    loop; it never sees another's payment, rule, rate or clock."""
    problems: list[str] = []
    ready = threading.Barrier(THREADS, timeout=60)

    def use(port: int, n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def call(method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
            data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
            connection.request(method, path, data, {"Content-Type": JSON, **headers})
            response = connection.getresponse()
            text = response.read()
            return response.status, json.loads(text) if response.headers["Content-Type"] == JSON else text.decode()

        def expect(what: str, got: tuple[Any, ...], wanted: tuple[Any, ...]) -> None:
            if got != wanted:
                problems.append(f"sandbox {n}, {what}: {got} instead of {wanted}")

        rate = n % 2
        status, made = call("POST", "/__fakepay/sandboxes", {"failure_rate": rate, "seed": n})
        sandbox = made["id"]
        own = f"/__fakepay/sandboxes/{sandbox}"
        ready.wait()
        secret = {"Authorization": f"Bearer {call('GET', '/auth/alice', **{'Fakepay-Sandbox': sandbox})[1]}"}
        order = f"order of {n}"
        for round_ in range(ROUNDS):
            now = f"2030-01-01T{n // 60:02d}:{n % 60:02d}:{round_:02d}"
            expect("clock", call("POST", f"{own}/clock", {"freeze": now}), (200, {"now": now, "frozen": True, "timezone": "Asia/Seoul"}))
            rule = {"when": {"paymentId": "ruled"}, "then": {"status": 418, "body": {"sandbox": n}}}
            status, added = call("POST", f"{own}/rules", rule)
            expect("rule", (status, {**added, "id": None}), (200, {"id": None, **rule, "remaining": None}))
            paid = call("POST", "/payments/p/instant", {**BODY, "orderName": order}, **secret)
            if rate:
                expect("failure", paid, (500, {"type": "PAYMENT_FAILED",
                                               "message": "payment 'p' failed: the payment system declined it (simulated failure)"}))
            else:
                expect("payment", paid, (200, {"paymentId": "p", "paidAt": now}))
            status, found = call("GET", "/payments/p", **secret)
            expect("look-up", (status, found["orderName"], found["paidAt"], found["paymentStatus"]),
                   (200, order, None if rate else now, "FAILED" if rate else "PAID"))
            expect("ruled", call("POST", "/payments/ruled/instant", BODY, **secret), (418, {"sandbox": n}))
            state = call("GET", f"{own}/state")[1]
            expect("state", (state["clock"]["now"], state["config"]["failure"]["rate"], [p["orderName"] for p in state["payments"]]),
                   (now, float(rate), [order]))
            expect("reset", call("POST", f"{own}/reset"), (200, {"reset": "all", "owner": None}))
            expect("after the reset", call("GET", "/payments/p", **secret),
                   (404, {"type": "PAYMENT_NOT_FOUND", "message": "payment 'p' not found"}))
        connection.close()

    def run(port: int, n: int) -> None:
        try:
            use(port, n)
        except Exception as error:  # noqa: BLE001 - every thread's failure is a problem to report
            problems.append(f"sandbox {n}: {error!r}")

    with serving("--failure-rate", "0") as (_, banner):
        port = int(banner.group(2))
        threads = [threading.Thread(target=run, args=(port, n)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        state = json.loads(fetch(f"{banner.group(1)}/__fakepay/state")[1])
        assert (state["payments"], state["sandboxes"]["live"]) == ([], THREADS)
    assert not problems, problems[:10]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_sandboxes_made_used_and_deleted_by_the_thousand_keep_memory_flat() -> None:
    """Each cycle makes a sandbox, asks it for a secret, pays in it, reads its state and deletes it:
    the server's memory after 2,500 cycles is what it was after the first 500 (a sandbox kept is
    about 9 KiB)."""
    with serving("--failure-rate", "0") as (process, banner):
        connection = http.client.HTTPConnection("127.0.0.1", int(banner.group(2)), timeout=30)

        def call(method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
            connection.request(method, path, body, headers or {})
            response = connection.getresponse()
            data = response.read()
            assert response.status == 200, data
            return data

        def cycles(count: int) -> None:
            for n in range(count):
                sandbox = json.loads(call("POST", "/__fakepay/sandboxes"))["id"]
                named = {"Fakepay-Sandbox": sandbox}
                secret = call("GET", "/auth/alice", headers=named).decode()
                call("POST", f"/payments/p{n}/instant", json.dumps(BODY).encode(),
                     {**named, "Authorization": f"Bearer {secret}", "Content-Type": JSON})
                call("GET", f"/__fakepay/sandboxes/{sandbox}/state")
                call("DELETE", f"/__fakepay/sandboxes/{sandbox}")

        cycles(500)
        before = rss_kib(process.pid)
        cycles(2500)
        grown = rss_kib(process.pid) - before
    assert grown < 512, f"{grown} KiB more after 2,500 cycles"


def test_an_empty_sandbox_takes_a_few_kib_and_gives_them_back() -> None:
    front = Front(PaymentService())
    for _ in range(10):  # what the first ones make once
        front.sandboxes.delete(front.sandboxes.create().id)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        made = [front.sandboxes.create() for _ in range(500)]
        each = (tracemalloc.get_traced_memory()[0] - before) / len(made)
        for sandbox in made:
            front.sandboxes.delete(sandbox.id)
        del made, sandbox
        gc.collect()
        left = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert each < 16 * 1024, f"{each / 1024:.1f} KiB a sandbox"
    assert left < 64 * 1024, f"{left / 1024:.1f} KiB left after deleting them"

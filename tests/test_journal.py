"""The request journal through real HTTP: what each entry holds, redaction, filters and bounds."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pytest_aiohttp import AiohttpClient

from fakepay import PaymentService, create_app, issue_secret

from .support import BANNER, BODY, FAKEPAY, FROZEN, Api, scenario


async def entries(api: Api, **filters: str) -> list[dict[str, Any]]:
    journal: list[dict[str, Any]] = (await api.control("GET", "/requests", params=filters))["requests"]
    return journal


async def test_an_instant_payment_is_recorded_whole(api: Api) -> None:
    await api.pay("p1", body={**BODY, "amount": 5})
    (entry,) = await entries(api)
    duration = entry.pop("duration_ms")
    assert duration > 0
    seoul_now = datetime.now(timezone(timedelta(hours=9))).replace(tzinfo=None)
    assert abs(datetime.fromisoformat(entry.pop("time")) - seoul_now) < timedelta(seconds=5)  # real time, not the frozen clock
    assert entry == {
        "id": 1,
        "operation": "instant",
        "method": "POST",
        "path": "/payments/p1/instant",
        "params": {"paymentId": "p1"},
        "owner": "alice",
        "authorization": f"Bearer {issue_secret('alice')[:8]}…",
        "body": {**BODY, "amount": 5},
        "status": 200,
        "response": {"paymentId": "p1", "paidAt": FROZEN},
        "outcome": "ok",
        "rule": None,
        "warnings": ["unknown field 'amount' ignored; did you mean 'totalPayAmount'?"],
    }


async def test_the_secret_in_an_auth_answer_is_redacted(api: Api) -> None:
    await api.client.get("/auth/alice")
    (entry,) = await entries(api)
    assert entry["response"] == issue_secret("alice")[:8] + "…"
    assert entry["params"] == {"githubId": "alice"} and entry["operation"] == "auth"
    assert issue_secret("alice") not in json.dumps(entry)


async def test_failures_rejections_and_unknown_routes_are_recorded(api: Api, service: PaymentService) -> None:
    await api.client.post("/payments/p1/instant", data=b"{not json", headers={"Content-Type": "application/json"})
    await api.client.get("/nowhere")
    service.configure({"failure": {"rate": 1.0}})
    await api.pay("p2")
    unauthorized, nowhere, failed = await entries(api)
    assert (unauthorized["status"], unauthorized["outcome"], unauthorized["owner"]) == (401, "rejected", None)
    assert unauthorized["response"]["type"] == "UNAUTHORIZED"
    assert (nowhere["operation"], nowhere["status"]) == (None, 404)
    assert (failed["status"], failed["outcome"]) == (500, "failed")


async def test_a_body_that_is_not_json_is_kept_as_text(api: Api) -> None:
    await api.client.post(
        "/payments/p1/instant", data=b"{oops", headers={"Content-Type": "application/json", "Authorization": f"Bearer {issue_secret('alice')}"}
    )
    (entry,) = await entries(api)
    assert entry["body"] == "{oops" and entry["status"] == 400


async def test_a_large_body_is_kept_only_in_part(api: Api) -> None:
    await api.pay("p1", body={**BODY, "pad": "x" * 200_000})
    (entry,) = await entries(api)
    assert entry["status"] == 200
    assert isinstance(entry["body"], str) and len(entry["body"]) == 64 * 1024


async def test_filters(api: Api) -> None:
    await api.pay("a1")
    await api.pay("b1", owner="bob")
    await api.get("a1")
    await api.cancel("a1")
    await api.client.get("/auth/carol")
    assert [e["id"] for e in await entries(api, owner="alice")] == [1, 3, 4]
    assert [e["id"] for e in await entries(api, paymentId="a1")] == [1, 3, 4]
    assert [e["id"] for e in await entries(api, operation="cancel")] == [4]
    assert [e["id"] for e in await entries(api, method="get")] == [3, 5]
    assert [e["id"] for e in await entries(api, path="/payments/*/instant")] == [1, 2]
    assert [e["id"] for e in await entries(api, limit="2")] == [4, 5]
    assert [e["id"] for e in await entries(api, owner="alice", operation="instant")] == [1]


async def test_delete_clears_the_journal(api: Api) -> None:
    await api.pay("a1")
    assert await api.control("DELETE", "/requests") == {"requests": []}
    assert await entries(api) == []


async def test_ids_are_unique_for_the_life_of_the_server(api: Api) -> None:
    await api.pay("a1")
    await api.control("POST", "/reset")
    await api.pay("a1")
    await api.control("POST", "/reset", params={"owner": "alice"})
    await api.control("DELETE", "/requests")
    await api.control("PUT", "/scenario", json={"version": 1}, headers={"Content-Type": "application/json"})
    await api.pay("a1")
    assert [e["id"] for e in await entries(api)] == [3]


async def test_the_journal_is_a_bounded_ring(aiohttp_client: AiohttpClient) -> None:
    api = Api(await aiohttp_client(create_app(PaymentService(scenario(journal={"max_entries": 5})))))
    for i in range(12):
        await api.get(f"p{i}")
    assert [e["params"]["paymentId"] for e in await entries(api)] == [f"p{i}" for i in range(7, 12)]


def test_journal_file_gets_one_json_line_per_request(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    process = subprocess.Popen(
        [*FAKEPAY, "serve", "--port", "0", "--journal-file", str(journal)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        banner = BANNER.fullmatch(process.stdout.readline().strip())  # type: ignore[union-attr]
        assert banner
        for github_id in ("alice", "bob"):
            urllib.request.urlopen(f"{banner.group(1)}/auth/{github_id}", timeout=5).read()
            urllib.request.urlopen(urllib.request.Request(f"{banner.group(1)}/__fakepay/reset", method="POST"), timeout=5).read()
    finally:
        process.terminate()
        process.wait(timeout=5)
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(e["id"], e["params"]["githubId"], e["status"], e["response"]) for e in lines] == [
        (1, "alice", 200, issue_secret("alice")[:8] + "…"),
        (2, "bob", 200, issue_secret("bob")[:8] + "…"),  # a reset between them, and ids still unique
    ]

"""The request journal through real HTTP: what each entry holds, redaction, filters and bounds;
and an entry's JSON, its stored bodies written as they are, against parsing them."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from pytest_aiohttp import AiohttpClient

from fakepay import PaymentService, create_app, issue_secret
from fakepay.control.views import encode_entry
from fakepay.core.clock import format_local_datetime
from fakepay.core.journal import BODY_LIMIT, JournalEntry
from fakepay.core.jsontext import MAX_DEPTH, dumps, nested_deeper_than

from .support import BANNER, BODY, BODY_JSON, FAKEPAY, FROZEN, Api, scenario


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


# -- an entry's JSON: stored bodies written as they are, the same as parsing them and writing them again


def _parsed_again(raw: bytes | None) -> Any:
    """A stored body as the journal showed it by parsing it and writing it again: its value, or
    text (not UTF-8 is replaced, and what is not JSON, nested too deep or has a number written
    back as NaN or Infinity, which is not JSON, is shown as the text)."""
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    try:
        value = json.loads(text)
        json.dumps(value, allow_nan=False)
    except (ValueError, RecursionError):
        return text
    return text if nested_deeper_than(value, MAX_DEPTH) else value


def _shown_by_parsing(service: PaymentService, entry: JournalEntry) -> dict[str, Any]:
    """The entry as shown by parsing its bodies and building the whole as data."""
    operation = None if entry.operation is None else service.dialect.operations[entry.operation]
    response = _parsed_again(entry.response)
    if operation is not None and operation.answers_secret and entry.status == 200 and isinstance(response, str):
        response = response[:8] + "…"
    scheme, _, credentials = (entry.authorization or "").strip().partition(" ")
    return {
        "id": entry.id,
        "time": format_local_datetime(datetime.fromtimestamp(entry.time, service.clock.zone)),
        "operation": entry.operation,
        "method": entry.method,
        "path": entry.path,
        "params": {} if operation is None or entry.path_value is None else {operation.param: entry.path_value},
        "owner": entry.owner,
        "authorization": None if entry.authorization is None else f"{scheme} {credentials.strip()[:8]}…",
        "body": _parsed_again(entry.body),
        "status": entry.status,
        "response": response,
        "outcome": entry.outcome,
        "rule": entry.rule,
        "duration_ms": round(entry.duration_ms, 3),
        "warnings": list(entry.warnings),
    }


def _strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(name)

    return json.loads(text, parse_constant=refuse)


#: Bodies and answers as a journal may hold them: JSON of every shape and spacing, and what is not JSON.
STORED = [
    None, b"", b"null", b"true", b"123", b"-0.5e-3", b'"text"', b"[]", b"{}", BODY_JSON, json.dumps(BODY).encode(),
    b' \t{"a" : [1, 2.5, "x", {"b": null}]}\t ', b'{\n  "a": 1\n}', b'\r\n{"a":1}', b'{"a":"line\\nbreak"}',
    b"{oops", b"plain text", b"   ", b'{"a":1} {"b":2}', b'{"a":1,"a":2}', b'"\\ud800"', b'"\\u2028 \xe2\x80\xa8"',
    '{"name":"노트북외 1건"}'.encode(), b'{"a":"\xff"}', b"\xff\xfe{}", b"\xef\xbb\xbf{}", b'{"a":"\x01"}',
    b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
    b"[" * 5000 + b"]" * 5000, b'{"a":"' + b"[" * 100 + b'"}', b'[{"a":[{"b":[]}]}, [[[]]]]',
    b'{"a":NaN}', b"[Infinity]", b"-Infinity", b"1e400", b'{"a":-1e400}', b"1" * 5000, b"1" * 100,
    json.dumps({**BODY, "pad": "x" * BODY_LIMIT}).encode()[:BODY_LIMIT], json.dumps(["é" * BODY_LIMIT]).encode()[:BODY_LIMIT],
]


def _entries(body: bytes | None, response: bytes | None) -> list[JournalEntry]:
    """Entries of each kind holding ``body`` and ``response``: a payment, an issued secret, an unknown route."""
    auth = f"Bearer {issue_secret('alice')}"
    return [
        JournalEntry(7, 1_761_132_095.529482, "POST", "/payments/p1/instant", "instant", "p1", "alice", auth, body, 200,
                     response, "ok", None, 1.23456, ("unknown field 'amount' ignored",), 0),
        JournalEntry(8, 1_761_132_096.0, "GET", "/auth/al\"ice", "auth", 'al"ice', None, None, body, 200, response,
                     "ok", 3, 0.5, (), 0),
        JournalEntry(9, 1_761_132_097.25, "PUT", "/nowhere/\\é", None, None, None, "Basic  x ", body, None, response,
                     "timeout", None, 30000.0, (), 0),
    ]


def _check_shown(service: PaymentService, body: bytes | None, response: bytes | None) -> None:
    for entry in _entries(body, response):
        encoded = encode_entry(service, entry)
        assert b"\n" not in encoded and b"\r" not in encoded  # one event, one line of a journal file
        assert _strict(encoded.decode("utf-8")) == _shown_by_parsing(service, entry)


@pytest.mark.parametrize("stored", STORED)
def test_an_entry_shows_a_stored_body_as_parsing_it_would(stored: bytes | None) -> None:
    service = PaymentService(scenario())
    _check_shown(service, stored, stored)
    _check_shown(service, stored, BODY_JSON)


def test_compact_json_is_written_as_it_was_stored() -> None:
    service = PaymentService(scenario())
    for entry in _entries(dumps(BODY), b'{"paymentId":"p1","paidAt":"2025-10-22T20:21:35.529482"}'):
        assert encode_entry(service, entry) == dumps(_shown_by_parsing(service, entry))


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                     max_leaves=40)


@settings(max_examples=300, deadline=None)
@given(_JSON, st.sampled_from([(",", ":"), (", ", ": ")]), st.sampled_from([None, 1]), st.booleans(), st.integers(0, 300))
def test_any_json_or_part_of_it_is_shown_as_parsing_it_would(value: Any, separators: tuple[str, str], indent: int | None,
                                                           ascii_only: bool, cut: int) -> None:
    stored = json.dumps(value, separators=separators, indent=indent, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    service = PaymentService(scenario())
    _check_shown(service, stored, stored[:cut])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_any_bytes_are_shown_as_parsing_them_would(stored: bytes) -> None:
    _check_shown(PaymentService(scenario()), stored, stored)

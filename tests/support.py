"""What the tests share: a payment body, scenarios, a client of the public API over HTTP, raw HTTP
for what no client library sends, and ``fakepay serve`` run as a real process."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, NoReturn, TypeAlias
from urllib.parse import urlsplit

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from fakepay import Scenario, issue_secret, parse_scenario
from fakepay.control.stream import EventStream, Subscription
from fakepay.core.calls import Call
from fakepay.core.instance import Instance
from fakepay.dialects.ceos.state import CeosState

BODY: dict[str, Any] = {
    "storeId": "my_store_001",
    "orderName": "노트북외 1건",
    "totalPayAmount": 1500000,
    "currency": "KRW",
    "customData": '{"item":"노트북","quantity":1}',
}
#: ``BODY`` as a client sends it: JSON in UTF-8.
BODY_JSON = json.dumps(BODY, ensure_ascii=False).encode()
FROZEN = "2025-10-22T20:21:35.529482"
#: The checkout: the folder of pyproject.toml.
ROOT = Path(__file__).resolve().parent.parent
#: An aiohttp test client of a fakepay app, as the ``client`` fixture and ``aiohttp_client`` give.
Client: TypeAlias = TestClient[web.Request, web.Application]
#: The JSON Schema of scenario files, as shipped.
SCHEMA = json.loads(resources.files("fakepay.scenario").joinpath("schema.json").read_text())


def bearer(github_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_secret(github_id)}"}


def call(operation: str, path_value: str, owner: str | None = None, request: Any = None,
         epoch: int | None = None) -> Call:
    """A call of the API as the pipeline fills it in once it is read."""
    return Call(0, time.time(), time.perf_counter(), "POST", "/", operation, path_value, owner=owner,
                request=request, epoch=epoch)


def ceos(service: Instance) -> CeosState:
    """The CEOS state of ``service``: its store, its secrets, its four operations."""
    assert isinstance(service.state, CeosState)
    return service.state


def subscribers(service: Instance) -> list[Subscription]:
    """The event stream's subscriptions to ``service`` (the stream listens to it only while it has some)."""
    owners = [getattr(listener, "__self__", None) for listener in service.events.listeners]
    streams = [owner for owner in owners if isinstance(owner, EventStream)]
    return [subscription for stream in streams for subscription in stream.subscribers]


def scenario(**data: Any) -> Scenario:
    """A scenario from data, with no random failures and a frozen clock unless given."""
    data.setdefault("failure", {"rate": 0.0})
    data.setdefault("clock", {"frozen_at": FROZEN})
    data.setdefault("seed", 42)
    return parse_scenario(data)


class Api:
    """The calls a client of the CEOS payment server makes, through real HTTP."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def pay(self, payment_id: str, owner: str = "alice", body: Any = None, **headers: str) -> ClientResponse:
        return await self.client.post(
            f"/payments/{payment_id}/instant", json=BODY if body is None else body, headers={**bearer(owner), **headers}
        )

    async def cancel(self, payment_id: str, owner: str = "alice") -> ClientResponse:
        return await self.client.post(f"/payments/{payment_id}/cancel", headers=bearer(owner))

    async def get(self, payment_id: str, owner: str = "alice") -> ClientResponse:
        return await self.client.get(f"/payments/{payment_id}", headers=bearer(owner))

    async def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.client.request(method, f"/__fakepay{path}", **kwargs)
        assert response.status == 200, await response.text()
        return await response.json()


async def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until ``condition()`` holds (checked every 10 ms), for what publishes no event; fail
    after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"not so after {within} s"
        await asyncio.sleep(0.01)


def need(*tools: str, install: str) -> None:
    """Skip the calling test where a system tool (a command or a file path) is missing, saying how
    to install it; in CI (``CI=true``) fail instead, so that CI never passes by skipping."""
    import shutil

    missing = [tool for tool in tools if shutil.which(tool) is None and not os.path.exists(tool)]
    if missing:
        unavailable(f"needs {', '.join(missing)}: {install}")


def unavailable(message: str) -> NoReturn:
    """Skip the calling test for want of what ``message`` says; in CI (``CI=true``) fail instead."""
    import pytest

    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


# -- raw HTTP: requests as written, answers as they come ------------------------------------------

class Answer(NamedTuple):
    """An answer as read off the connection: status (0: the connection closed unanswered), headers
    by lower-case name, body."""

    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(method: str, target: str, body: bytes = b"", headers: Mapping[str, str | None] | None = None,
                owner: str | None = "alice") -> bytes:
    """One HTTP/1.1 request as bytes: ``Host``, a JSON ``Content-Type``, ``Connection: close``,
    ``owner``'s bearer secret (None: no ``Authorization``) and the body's ``Content-Length``, each
    unless ``headers`` sets it (None drops it). Text that is not UTF-8 (a lone surrogate) is sent as
    the bytes it stands for."""
    fields: dict[str, str | None] = {"Host": "127.0.0.1", "Content-Type": "application/json", "Connection": "close"}
    if owner is not None:
        fields.update(bearer(owner))
    if body:
        fields["Content-Length"] = str(len(body))
    fields.update(headers or {})
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items() if value is not None)
    return f"{method} {target} HTTP/1.1\r\n{head}\r\n".encode("utf-8", "surrogateescape") + body


async def connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the server at ``url`` (``http://host:port``)."""
    parts = urlsplit(url)
    return await asyncio.open_connection(parts.hostname, parts.port)


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    """The next answer on a connection: its head, then as much body as its ``Content-Length`` says
    (all up to the close without one)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as closed:
        if closed.partial:
            raise
        return Answer(0, {}, b"")
    status_line, *lines = head.decode("latin-1").removesuffix("\r\n\r\n").split("\r\n")
    status = int(status_line.split()[1])
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    length = headers.get("content-length")
    return Answer(status, headers, await reader.readexactly(int(length)) if length is not None else await reader.read())


async def exchange_async(url: str, data: bytes, timeout: float = 15.0) -> Answer:
    """Send ``data`` on a new connection to ``url``; the answer."""
    reader, writer = await connect(url)
    try:
        writer.write(data)
        return await asyncio.wait_for(read_answer(reader), timeout)
    finally:
        writer.close()
        with suppress(ConnectionError):  # reset by the server: closed all the same
            await writer.wait_closed()


def exchange(url: str, data: bytes, timeout: float = 15.0) -> Answer:
    """``exchange_async`` for a test that runs no event loop (fakepay served by a ``FakePay`` or a
    process): on a loop of its own."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(exchange_async(url, data, timeout))
    finally:
        loop.close()


# -- fakepay serve, as a real process -------------------------------------------------------------

FAKEPAY = [sys.executable, "-m", "fakepay"]
BANNER = re.compile(r"fakepay serving (http://[\d.]+:(\d+)) \(scenario: (.+), failure rate: (.+), seed: (\d+)\)")


def environment(**variables: str) -> dict[str, str]:
    """This process's environment without its FAKEPAY_* variables, plus these."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("FAKEPAY_")}, **variables}


@contextmanager
def serving(*args: str, cwd: str | Path | None = None, **variables: str) -> Iterator[tuple[subprocess.Popen[str], re.Match[str]]]:
    """``fakepay serve`` on a free port (``FAKEPAY_PORT=0`` unless given) until the block ends."""
    process = subprocess.Popen(
        [*FAKEPAY, "serve", *args],
        env=environment(**{"FAKEPAY_PORT": "0", **variables}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        banner = BANNER.fullmatch(line.strip())
        assert banner, (line, process.stderr.read() if process.stderr and process.poll() is not None else "")
        yield process, banner
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]


def fetch(url: str, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def live_sandboxes(url: str) -> list[str]:
    """The ids of the sandboxes live on the fakepay at ``url``."""
    status, body = fetch(f"{url}/__fakepay/sandboxes")
    assert status == 200
    return [sandbox["id"] for sandbox in json.loads(body)["sandboxes"]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scenario_of(url: str) -> tuple[str, float]:
    status, body = fetch(f"{url}/__fakepay/state")
    assert status == 200
    config = json.loads(body)["config"]
    return config["name"], config["failure"]["rate"]

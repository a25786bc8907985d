"""What the tests share: a payment body, scenarios, and a client of the public API over HTTP."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from fakepay import Scenario, issue_secret, parse_scenario

BODY = {
    "storeId": "my_store_001",
    "orderName": "노트북외 1건",
    "totalPayAmount": 1500000,
    "currency": "KRW",
    "customData": '{"item":"노트북","quantity":1}',
}
FROZEN = "2025-10-22T20:21:35.529482"


def bearer(github_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_secret(github_id)}"}


def scenario(**data: Any) -> Scenario:
    """A scenario from data, with no random failures and a frozen clock unless given."""
    data.setdefault("failure", {"rate": 0.0})
    data.setdefault("clock", {"frozen_at": FROZEN})
    data.setdefault("seed", 42)
    return parse_scenario(data)


class Api:
    """The calls a client of the CEOS payment server makes, through real HTTP."""

    def __init__(self, client: TestClient) -> None:
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


def need(*tools: str, install: str) -> None:
    """Skip the calling test where a system tool (a command or a file path) is missing, saying how
    to install it; in CI (``CI=true``) fail instead, so that CI never passes by skipping."""
    import os
    import shutil

    import pytest

    missing = [tool for tool in tools if shutil.which(tool) is None and not os.path.exists(tool)]
    if missing:
        message = f"needs {', '.join(missing)}: {install}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)

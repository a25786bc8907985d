"""Fixtures: a service with a known scenario, and a real HTTP client on its app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from fakepay import PaymentService, create_app

from .support import Api, Client, scenario

pytest_plugins = ["pytester"]


@pytest.fixture
def service() -> PaymentService:
    return PaymentService(scenario())


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[Client]], service: PaymentService) -> Client:
    return await aiohttp_client(create_app(service))


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)

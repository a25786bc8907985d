"""The Node example (examples/portone-node): PortOne's JavaScript server SDK, installed with
``npm ci`` from the example's lock file, run with ``node --test`` against a fakepay in PortOne
mode. A failing JavaScript test fails here; the journal and the store then show what the SDK sent,
and the webhooks fakepay sent to the Node tests' receiver."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fakepay import FakePay

from .support import need, unavailable

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "portone-node"
SECRET = "node-sdk-secret"
pytestmark = pytest.mark.toolchain


def installed() -> bool:
    """Whether node_modules holds exactly what the lock file pins (npm's record of what it installed)."""
    record = EXAMPLE / "node_modules" / ".package-lock.json"
    if not record.exists():
        return False
    locked: dict[str, Any] = json.loads((EXAMPLE / "package-lock.json").read_text())["packages"]
    present: dict[str, Any] = json.loads(record.read_text())["packages"]
    return {path: entry for path, entry in locked.items() if path} == present


@pytest.fixture(scope="module")
def example() -> Path:
    """The example folder with its packages installed (``npm ci`` only when they differ from the lock)."""
    need("node", "npm", install="apt-get install nodejs npm")
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    major = re.match(r"v(\d+)", version)
    if major is None or int(major.group(1)) < 20:
        unavailable(f"needs Node 20 or newer, found {version}")
    if not installed():
        result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=EXAMPLE, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
    return EXAMPLE


def name(payment_id: str) -> str:
    """A payment's name in the Node tests (their ids are ``node-<run>-<name>``)."""
    return payment_id.split("-", 2)[2]


def sent(fake: FakePay, operation: str) -> list[Any]:
    """The bodies of the owner's ``operation`` requests that fakepay answered 200, in order."""
    return [entry["body"] for entry in fake.requests(operation=operation, owner=SECRET) if entry["status"] == 200]


def test_the_sdk_gets_pays_cancels_lists_and_is_refused_as_portone_would(example: Path) -> None:
    """Ten Node tests pass; fakepay read every body the SDK sent as text/plain, stored what they
    made, refused what PortOne refuses, and sent its webhooks to the Node receiver, which the SDK
    verified (the one signed badly it refused)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FAKEPAY_")}
    with FakePay(scenario=example / "scenario.yaml") as fake:  # as its README serves it
        result = subprocess.run(["node", "--test"], cwd=example, capture_output=True, text=True, timeout=300,
                                env={**environment, "FAKEPAY_URL": fake.url, "FAKEPAY_SECRET": SECRET})
        assert result.returncode == 0, result.stdout + result.stderr
        assert "# pass 10\n# fail 0\n" in result.stdout, result.stdout

        # The JSON the SDK sent as text/plain, read whole, Korean included.
        instant = sent(fake, "payInstantly")
        assert instant[0] == {
            "method": {"card": {"credential": {"number": "4242424242424242", "expiryYear": "30", "expiryMonth": "12"}}},
            "orderName": "노트북 외 1건", "customData": '{"item":"노트북","quantity":1}', "amount": {"total": 1000},
            "currency": "KRW",
        }
        assert {"reason": "one item returned", "amount": 300} in sent(fake, "cancelPayment")
        assert {"reason": "order cancelled"} in sent(fake, "cancelPayment")
        assert [body["amount"] for body in sent(fake, "payWithBillingKey")] == [{"total": 4900}]
        assert len(sent(fake, "issueBillingKey")) == 1
        assert all(body["filter"]["storeId"].startswith("store-") for body in sent(fake, "getPayments"))

        refused = [entry for entry in fake.requests(owner=None) if entry["status"] == 401]
        assert sorted(entry["operation"] for entry in refused) == ["getPayment", "payInstantly"]

        stored = {name(p["paymentId"]): (p["status"], p["totalAmount"], p["cancelledAmount"]) for p in fake.payments(SECRET)}
        assert stored == {
            "get": ("PAID", 1000, 0), "plain": ("PARTIAL_CANCELLED", 2500, 500), "key": ("PAID", 4900, 0),
            "cancel": ("CANCELLED", 1000, 1000), "list-1": ("PAID", 100, 0), "list-2": ("CANCELLED", 100, 100),
            "list-3": ("PAID", 100, 0), "twice": ("PAID", 1000, 0), "over": ("CANCELLED", 1000, 1000),
            "webhook": ("PAID", 1000, 0), "signed-badly": ("PAID", 1000, 0),
        }
        answered = [entry for entry in fake.requests(owner=SECRET) if entry["operation"] != "webhook"]
        assert Counter(entry["response"]["type"] for entry in answered if entry["status"] != 200) == {
            "PAYMENT_NOT_FOUND": 2, "ALREADY_PAID": 1, "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT": 1,
            "PAYMENT_ALREADY_CANCELLED": 1,
        }

        # Webhooks went only to the receiver of the last test, which set it; the one signed badly is
        # tried again after its 400, so only first attempts are counted.
        webhooks = [(name(entry["params"]["paymentId"]), entry["response"]["type"], entry["status"])
                    for entry in fake.requests(operation="webhook", owner=SECRET) if entry["response"]["attempt"] == 1]
        assert webhooks == [("webhook", "Transaction.Paid", 200), ("signed-badly", "Transaction.Paid", 400)]

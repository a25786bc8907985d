"""The CEOS part of a scenario: ``auth`` (how secrets are checked), ``stores`` (githubIds, and
secrets of their own) and ``payments`` (seeded), read strictly like the rest of the file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...core.clock import format_local_datetime
from ...core.document import Path, Reader, absent_empty
from ...core.text import path_value_problem, printable_problem
from .models import INSTANT_FIELDS, PAYMENT_CHECKS, InstantPaymentRequest
from .payments import FAILED, PAID, STATUSES, Payment
from .secrets import AUTH_MODES, DEFAULT_SIGNING_KEY, valid_github_id

__all__ = ["SECTION", "AuthConfig", "CeosSection", "SeedPayment", "StoreConfig", "seed_payment_data"]

_PAYMENT_KEYS = ("owner", "paymentId", *INSTANT_FIELDS, "status", "paidAt")


@dataclass(frozen=True)
class AuthConfig:
    mode: str = "strict"
    signing_key: str = DEFAULT_SIGNING_KEY


@dataclass(frozen=True)
class StoreConfig:
    github_id: str
    secret: str | None = None


@dataclass(frozen=True, slots=True)
class SeedPayment:
    """A payment a scenario (or ``POST /__fakepay/payments``) puts in the store: whose, its id,
    what was asked (as an instant payment's body asks it), and its status."""

    owner: str
    payment_id: str
    request: InstantPaymentRequest
    status: str = PAID
    paid_at: datetime | None = None


@dataclass(frozen=True)
class CeosSection:
    auth: AuthConfig = AuthConfig()
    stores: tuple[StoreConfig, ...] = ()
    payments: tuple[SeedPayment, ...] = ()


def seed_payment_data(payment: SeedPayment | Payment) -> dict[str, Any]:
    """A seeded payment's fields as a scenario writes them (those of a stored one, too)."""
    return {
        "owner": payment.owner,
        "paymentId": payment.payment_id,
        **dict(zip(INSTANT_FIELDS, payment.request, strict=True)),
        "status": payment.status,
        "paidAt": None if payment.paid_at is None else format_local_datetime(payment.paid_at),
    }


class _Section:
    """How a scenario reads and writes the CEOS section."""

    keys: tuple[str, ...] = ("auth", "stores", "payments")
    default = CeosSection()
    shown: tuple[str, ...] = ("auth",)
    patchable: tuple[str, ...] = ("auth", "stores")

    def read(self, reader: Reader, document: Mapping[str, Any]) -> CeosSection:
        auth = _auth(reader, document.get("auth"))
        stores = _stores(reader, document.get("stores"))
        payments = self.seed_payments(reader, reader.sequence(document.get("payments"), ("payments",)), ("payments",))
        return CeosSection(auth, stores, payments)

    def write(self, section: CeosSection) -> dict[str, Any]:
        return {
            "auth": {"mode": section.auth.mode, "signing_key": section.auth.signing_key},
            "stores": [{"githubId": s.github_id, **({"secret": s.secret} if s.secret else {})} for s in section.stores],
            "payments": [seed_payment_data(p) for p in section.payments],
        }

    def seed_payments(self, reader: Reader, items: list[Any], base: Path) -> tuple[SeedPayment, ...]:
        r = reader
        payments = []
        seen: set[tuple[str, str]] = set()
        for index, item in enumerate(items):
            path: Path = (*base, index)
            data = r.mapping(item, path, _PAYMENT_KEYS, required=("owner", "paymentId"))
            before = r.problem_count
            owner = r.string(data["owner"], (*path, "owner"), _github_id) if data.get("owner") is not None else None
            payment_id = (r.string(data["paymentId"], (*path, "paymentId"), path_value_problem)
                          if data.get("paymentId") is not None else None)
            for key, check in PAYMENT_CHECKS:
                problem = check(data.get(key)) if isinstance(data, dict) and data else None
                if problem:
                    r.problem((*path, key), problem)
            status = PAID if data.get("status") is None else r.choice(data["status"], (*path, "status"), STATUSES)
            paid_at = None if data.get("paidAt") is None else r.timestamp(data["paidAt"], (*path, "paidAt"))
            if status == FAILED and paid_at is not None:
                r.problem((*path, "paidAt"), "a FAILED payment has no paidAt")
            if owner is not None and payment_id is not None:
                if (owner, payment_id) in seen:
                    r.problem((*path, "paymentId"), f"'{payment_id}' is already seeded for owner '{owner}'")
                seen.add((owner, payment_id))
            if r.problem_count == before and data:
                payments.append(SeedPayment(
                    owner=owner or "",
                    payment_id=payment_id or "",
                    request=InstantPaymentRequest._make(map(data.get, INSTANT_FIELDS)),
                    status=status or PAID,
                    paid_at=paid_at,
                ))
        return tuple(payments)


#: The CEOS section of a scenario.
SECTION = _Section()


def _auth(r: Reader, value: Any) -> AuthConfig:
    path: Path = ("auth",)
    data = r.mapping(absent_empty(value), path, ("mode", "signing_key"))
    mode = "strict" if data.get("mode") is None else r.choice(data["mode"], (*path, "mode"), AUTH_MODES)
    key = DEFAULT_SIGNING_KEY
    if data.get("signing_key") is not None:
        key = r.string(data["signing_key"], (*path, "signing_key"), printable_problem) or key
    return AuthConfig(mode or "strict", key)


def _github_id(value: str) -> str | None:
    return None if valid_github_id(value) else "must be 1 to 100 ASCII letters, digits, '-', '_' or '.'"


def _no_spaces(value: str) -> str | None:
    return "must not contain white space" if any(c.isspace() for c in value) else None


def _stores(r: Reader, value: Any) -> tuple[StoreConfig, ...]:
    stores = []
    owners_of: dict[str, str] = {}
    for index, item in enumerate(r.sequence(value, ("stores",))):
        path: Path = ("stores", index)
        data = r.mapping(item, path, ("githubId", "secret"), required=("githubId",))
        github_id = r.string(data["githubId"], (*path, "githubId"), _github_id) if data.get("githubId") is not None else None
        secret = None
        if data.get("secret") is not None:
            secret = r.string(data["secret"], (*path, "secret"), _no_spaces)
            if secret is not None and owners_of.setdefault(secret, github_id or "") != (github_id or ""):
                r.problem((*path, "secret"), f"the same secret is declared for '{owners_of[secret]}'")
        if github_id is not None:
            stores.append(StoreConfig(github_id, secret))
    return tuple(stores)

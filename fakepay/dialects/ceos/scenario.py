"""The CEOS part of a scenario: ``auth`` (how secrets are checked), ``stores`` (githubIds, and
secrets of their own) and ``payments`` (seeded), read strictly like the rest of the file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...core.clock import format_local_datetime
from ...core.document import Path, Reader, absent_empty
from ...core.fields import PATH_VALUE, PRINTABLE, Choice, Field, Group, ListOf, LocalDateTime, Model, String
from .models import INSTANT, INSTANT_FIELDS, InstantPaymentRequest
from .payments import FAILED, PAID, STATUSES, Payment
from .secrets import AUTH_MODES, DEFAULT_SIGNING_KEY, GITHUB_ID_PATTERN, valid_github_id

__all__ = ["AUTH", "GITHUB_ID", "SECTION", "SEED", "STORE", "AuthConfig", "CeosSection", "SeedPayment", "StoreConfig", "seed_payment_data"]


def _github_id(value: str) -> str | None:
    return None if valid_github_id(value) else "must be 1 to 100 ASCII letters, digits, '-', '_' or '.'"


def _no_spaces(value: str) -> str | None:
    return "must not contain white space" if any(c.isspace() for c in value) else None


GITHUB_ID = String(_github_id, {"pattern": f"^{GITHUB_ID_PATTERN}$"})
#: How secrets are checked.
AUTH = Model("auth", (
    Field("mode", Choice(AUTH_MODES), description="strict: the secrets /auth issues; any-jwt: any JWT with a 'sub', unverified."),
    Field("signing_key", PRINTABLE, description="The key the secrets /auth issues are signed with."),
))
#: A store: its owner, and a secret of its own.
STORE = Model("store", (
    Field("githubId", GITHUB_ID, required=True),
    Field("secret", String(_no_spaces, {"pattern": r"^\S+$"}, null=True), description="An extra secret accepted for this owner."),
))
#: A payment a scenario (or ``POST /__fakepay/payments``) puts in the store.
SEED = Model("SeedPayment", (
    Field("owner", GITHUB_ID, required=True, description="The githubId whose payment it is."),
    Field("paymentId", PATH_VALUE, required=True),
    *INSTANT.fields,
    Field("status", Choice(STATUSES, null=True), description="Default PAID."),
    Field("paidAt", LocalDateTime(null=True), description="Default: the clock at start; a FAILED payment has none."),
), constraints={
    "if": {"properties": {"status": {"const": FAILED}}, "required": ["status"]},
    "then": {"properties": {"paidAt": {"type": "null"}}},
})


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

    model = Model("ceos", (
        Field("auth", Group(AUTH, null=True)),
        Field("stores", ListOf(Group(STORE), null=True)),
        Field("payments", ListOf(Group(SEED), null=True), description="Seeded payments."),
    ))
    seed = SEED
    default = CeosSection()
    shown: tuple[str, ...] = ("auth",)
    patchable: tuple[str, ...] = ("auth", "stores")

    def read(self, reader: Reader, document: Mapping[str, Any]) -> CeosSection:
        auth = AuthConfig(**reader.fields(AUTH, absent_empty(document.get("auth")), ("auth",)))
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
            before = r.problem_count
            read = r.fields(SEED, item, path)
            owner, payment_id, status = read.get("owner"), read.get("paymentId"), read.get("status")
            if status == FAILED and "paidAt" in read:
                r.problem((*path, "paidAt"), "a FAILED payment has no paidAt")
            if owner is not None and payment_id is not None:
                if (owner, payment_id) in seen:
                    r.problem((*path, "paymentId"), f"'{payment_id}' is already seeded for owner '{owner}'")
                seen.add((owner, payment_id))
            if r.problem_count == before:
                payments.append(SeedPayment(
                    owner=read["owner"],
                    payment_id=read["paymentId"],
                    request=InstantPaymentRequest._make(map(read.get, INSTANT_FIELDS)),
                    status=status or PAID,
                    paid_at=read.get("paidAt"),
                ))
        return tuple(payments)


#: The CEOS section of a scenario.
SECTION = _Section()


def _stores(r: Reader, value: Any) -> tuple[StoreConfig, ...]:
    stores = []
    owners_of: dict[str, str] = {}
    for index, item in enumerate(r.sequence(value, ("stores",))):
        path: Path = ("stores", index)
        read = r.fields(STORE, item, path)
        github_id, secret = read.get("githubId"), read.get("secret")
        if secret is not None and owners_of.setdefault(secret, github_id or "") != (github_id or ""):
            r.problem((*path, "secret"), f"the same secret is declared for '{owners_of[secret]}'")
        if github_id is not None:
            stores.append(StoreConfig(github_id, secret))
    return tuple(stores)

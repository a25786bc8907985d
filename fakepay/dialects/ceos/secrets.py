"""CEOS API secrets: HS512 JWTs issued per githubId, and the ``Authorization`` check of the payment API."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from ...core.errors import InvalidRequest, Unauthorized
from ...core.text import show

__all__ = [
    "AUTH_MODES",
    "DEFAULT_SIGNING_KEY",
    "GITHUB_ID_PATTERN",
    "ISSUED_AT",
    "Authenticator",
    "issue_secret",
    "sandbox_of",
    "valid_github_id",
]

#: The signing key of every instance that does not set ``auth.signing_key``; a constant, so the
#: same githubId gets the same secret on every machine.
DEFAULT_SIGNING_KEY = "fakepay-default-signing-key-for-the-ceos-payment-server-fake-0001"
#: The ``iat`` claim of every issued secret: fixed, so that a secret never changes.
ISSUED_AT = 1760000000
AUTH_MODES = ("strict", "any-jwt")

#: A githubId: 1 to 100 ASCII letters, digits, ``-``, ``_`` or ``.``.
GITHUB_ID_PATTERN = "[A-Za-z0-9._-]{1,100}"
_GITHUB_ID = re.compile(GITHUB_ID_PATTERN)
_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS512"}').rstrip(b"=").decode("ascii")
_CACHE_LIMIT = 4096
#: The claim of a secret that names the sandbox it was issued in.
SANDBOX_CLAIM = "sbx"


def valid_github_id(github_id: str) -> bool:
    """Whether ``github_id`` is 1–100 ASCII letters, digits, ``-``, ``_`` or ``.``."""
    return _GITHUB_ID.fullmatch(github_id) is not None


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(signing_input: str, key: bytes) -> str:
    return _b64encode(hmac.new(key, signing_input.encode("ascii"), hashlib.sha512).digest())


def issue_secret(github_id: str, signing_key: str = DEFAULT_SIGNING_KEY, sandbox: str | None = None) -> str:
    """The API secret of ``github_id``: a pure function of the id, the signing key and the sandbox
    it belongs to (named in its ``sbx`` claim; none for the default one)."""
    if not valid_github_id(github_id):
        raise InvalidRequest(
            f"githubId {show(github_id)} is invalid: use 1 to 100 ASCII letters, digits, '-', '_' or '.'"
        )
    claims: dict[str, object] = {"sub": github_id}
    if sandbox is not None:
        claims[SANDBOX_CLAIM] = sandbox
    claims.update(category="access", authorities="ROLE_USER", iat=ISSUED_AT)
    signing_input = f"{_HEADER}.{_b64encode(json.dumps(claims, separators=(',', ':')).encode())}"
    return f"{signing_input}.{_signature(signing_input, signing_key.encode())}"


def _claims(token: str, key: bytes | None) -> dict[str, Any] | None:
    """The claims of a well-formed JWT; with ``key``, only if its HS512 signature is valid."""
    parts = token.split(".")
    if len(parts) != 3 or not token.isascii():
        return None
    header, payload, signature = parts
    if key is not None and not hmac.compare_digest(_signature(f"{header}.{payload}", key), signature):
        return None
    try:
        if not isinstance(json.loads(_b64decode(header)), dict):
            return None
        claims = json.loads(_b64decode(payload))
    except (ValueError, binascii.Error, RecursionError):
        return None
    return claims if isinstance(claims, dict) else None


def _subject(token: str, key: bytes | None, sandbox: str | None) -> str | None:
    """The ``sub`` of a well-formed JWT of ``sandbox`` (its ``sbx`` claim; none for the default
    one); with ``key``, only if its HS512 signature is valid."""
    claims = _claims(token, key)
    if claims is None or claims.get(SANDBOX_CLAIM) != sandbox:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and sub else None


def sandbox_of(authorization: str) -> str | None:
    """The sandbox a ``Bearer`` secret names (its ``sbx`` claim, unverified: its sandbox checks
    the signature), or None."""
    scheme, _, token = authorization.strip().partition(" ")
    claims = _claims(token.strip(), None) if scheme.lower() == "bearer" else None
    sandbox = None if claims is None else claims.get(SANDBOX_CLAIM)
    return sandbox if isinstance(sandbox, str) else None


class Authenticator:
    """Turns an ``Authorization`` header into the store owner (githubId) it stands for.

    Accepted: secrets signed with ``signing_key``, the extra secrets of ``declared``
    (secret → owner), and with ``mode="any-jwt"`` any well-formed JWT with a ``sub`` claim; each
    JWT only if it names ``sandbox`` (none for the default one).
    """

    def __init__(
        self,
        signing_key: str = DEFAULT_SIGNING_KEY,
        mode: str = "strict",
        declared: Mapping[str, str] | None = None,
        sandbox: str | None = None,
    ) -> None:
        self.signing_key = signing_key
        self.mode = mode
        self.sandbox = sandbox
        self._key = signing_key.encode()
        self._declared = dict(declared or {})
        self._known: dict[str, str] = {}

    def issue(self, github_id: str) -> str:
        """The secret ``GET /auth/{github_id}`` answers with."""
        return issue_secret(github_id, self.signing_key, self.sandbox)

    def owner(self, authorization: str | None) -> str:
        """The owner of the credentials in ``authorization``, or ``Unauthorized``."""
        if authorization is None:
            raise Unauthorized("missing Authorization header; send 'Authorization: Bearer <secret>'")
        owner = self._known.get(authorization)
        if owner is not None:
            return owner
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Authorization header must be 'Bearer <secret>'")
        owner = self._declared.get(token) or _subject(token, self._key, self.sandbox)
        if owner is None and self.mode == "any-jwt":
            owner = _subject(token, None, self.sandbox)
        if owner is None:
            raise Unauthorized("the API secret is unknown or badly signed; get one from GET /auth/{githubId}")
        if len(self._known) >= _CACHE_LIMIT:
            self._known.clear()
        self._known[authorization] = owner
        return owner

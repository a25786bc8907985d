"""Webhook messages as data: what is sent and where (``Message``), how a rule may deliver one
(``Delivery``), the Standard Webhooks signature of an attempt, and when a failed attempt is tried
again (``RetryPolicy``). Sending them is the HTTP edge's (``fakepay.http.webhooks``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import NamedTuple

from .rules import Attempt, Kind, Matcher, Outcome

__all__ = [
    "ATTEMPT",
    "DEFAULT_RETRY",
    "PLAIN",
    "SECRET_PREFIX",
    "STALE_S",
    "Delivery",
    "Message",
    "RetryPolicy",
    "Sending",
    "delivery_of",
    "new_message_id",
    "new_secret",
    "secret_key",
    "sign",
    "signed_headers",
]

#: The prefix of a secret as written (``whsec_`` + base64); a bare base64 secret is read too.
SECRET_PREFIX = "whsec_"
#: Seconds a stale delivery's timestamp lies in the past by default: beyond the ±300 s a
#: receiver's SDK tolerates.
STALE_S = 600
#: The key a badly signed delivery is signed with instead of its secret.
_WRONG_KEY = b"not the secret of this endpoint"


def new_message_id() -> str:
    """A new message id, ``msg_`` and random text, as Standard Webhooks ids look."""
    return "msg_" + secrets.token_urlsafe(18)


def new_secret() -> str:
    """A new secret: ``whsec_`` and the base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    """The raw key of a secret (``whsec_`` + base64, or bare base64); ``ValueError`` if it is none."""
    text = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    key = base64.b64decode(text, validate=True)
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.digest(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(digest).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` of a message sent at ``timestamp`` (unix seconds): ``v1,`` and
    the base64 of HMAC-SHA256 of ``{id}.{timestamp}.{body}`` under the secret's key."""
    return _signature(secret_key(secret), msg_id, timestamp, body)


@dataclass(frozen=True, slots=True)
class Message:
    """A webhook message: where it goes (``url``, signed with ``secret``), its JSON payload
    (``body``), and what the journal and rules know it by: the event ``type`` (such as
    ``Transaction.Paid``), whose it is (``owner``), and the payment and store it tells of. Every
    attempt, and every copy, of one message carries its ``id``."""

    url: str
    secret: str
    body: bytes
    type: str
    owner: str | None = None
    payment_id: str | None = None
    store_id: str | None = None
    id: str = field(default_factory=new_message_id)

    def __post_init__(self) -> None:
        secret_key(self.secret)


@dataclass(frozen=True, slots=True)
class Delivery:
    """How one message is delivered, as a rule may decide: not at all (``drop``), ``delay_s``
    seconds late, ``copies`` times (each with the same id), with a signature that does not verify
    (``bad_signature``) or a timestamp ``stale_s`` seconds in the past, or held back until the
    next message to its URL has been sent (``hold``: out of order; pending until one is); ``rule``
    is the id of the rule that shaped it."""

    drop: bool = False
    delay_s: float = 0.0
    copies: int = 1
    bad_signature: bool = False
    stale_s: int = 0
    hold: bool = False
    rule: int | None = None

    def __post_init__(self) -> None:
        if self.delay_s < 0 or self.stale_s < 0 or self.copies < 1:
            raise ValueError(f"a delivery needs delay_s >= 0, stale_s >= 0 and copies >= 1: {self}")


#: A delivery as no rule changes it: once, at once, well signed.
PLAIN = Delivery()


class Sending(NamedTuple):
    """An attempt to send a webhook message, as rules of the operation ``webhook`` match it: its
    number (1, then each retry's), and what the dialect's matchers read of its message."""

    message: Message
    attempt: int

    @property
    def type(self) -> str:
        return self.message.type

    @property
    def store_id(self) -> str | None:
        return self.message.store_id


def _attempt_of(attempt: Attempt) -> int | None:
    return attempt.subject.attempt if isinstance(attempt.subject, Sending) else None


#: The condition of a webhook rule on the attempt's number: a rule without it shapes a message's
#: first attempt (and a dropped, delayed, doubled or held message stays so); one with it shapes
#: the attempts it names alone, a retry's signature or timestamp included.
ATTEMPT = Matcher("attempt", "amount", _attempt_of, description="A webhook's attempt: 1, then 2 for its first retry, ...")


def delivery_of(outcome: Outcome, rule: int | None = None) -> Delivery:
    """The delivery the outcome of a rule (of the operation ``webhook``; its id ``rule``) makes of a message."""
    kind = outcome.kind
    return Delivery(drop=kind is Kind.DROP, delay_s=outcome.delay_ms / 1000 if kind is Kind.DELAY else 0.0,
                    copies=2 if kind is Kind.DUPLICATE else 1, bad_signature=kind is Kind.BAD_SIGNATURE,
                    stale_s=STALE_S if kind is Kind.STALE_TIMESTAMP else 0, hold=kind is Kind.OUT_OF_ORDER, rule=rule)


def signed_headers(message: Message, now: float, delivery: Delivery = PLAIN) -> dict[str, str]:
    """The headers of one attempt to send ``message`` at ``now`` (wall-clock epoch seconds), with
    the delivery's bad signature or stale timestamp."""
    timestamp = int(now) - delivery.stale_s
    key = _WRONG_KEY if delivery.bad_signature else secret_key(message.secret)
    return {
        "webhook-id": message.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": _signature(key, message.id, timestamp, message.body),
        "Content-Type": "application/json",
    }


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a failed delivery is tried again: each attempt may take ``timeout_s`` seconds, a
    message is tried ``retries`` times more after its first attempt fails, the first retry
    ``first_delay_s`` seconds after it, each wait twice the one before. The defaults retry as
    often as PortOne does, sooner: the first retry after 1 s, the last 31 s after the first
    attempt failed."""

    timeout_s: float = 5.0
    retries: int = 5
    first_delay_s: float = 1.0

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.retries < 0 or self.first_delay_s < 0:
            raise ValueError(f"a retry policy needs timeout_s > 0, retries >= 0 and first_delay_s >= 0: {self}")

    def delay(self, attempt: int) -> float | None:
        """Seconds from the failure of ``attempt`` (1-based) to the next attempt; None when it was
        the last."""
        return None if attempt > self.retries else self.first_delay_s * 2 ** (attempt - 1)


#: The retry policy unless one is set.
DEFAULT_RETRY = RetryPolicy()

"""What the control API shows of a ``PaymentService``: its configuration, clock, state and
payments as plain data. No HTTP here."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from .payments import Payment
from .scenario import SeedPayment, seed_payment_data
from .wire import dumps, format_local_datetime

if TYPE_CHECKING:
    from .service import PaymentService

__all__ = ["StateSnapshot", "clock_data", "config_data", "payment_data"]

#: About how many bytes of payments one piece of a state's JSON holds (a few milliseconds' work).
PIECE_BYTES = 64 * 1024
#: How many payments' attempts one piece counts.
COUNT_STEP = 20_000
_ATTEMPTS = attrgetter("attempts")


def config_data(service: PaymentService) -> dict[str, Any]:
    """The configuration in force (not its payments or rules), with the seed in use."""
    config = service.config.to_data()
    shown = ("name", "seed", "clock", "auth", "failure", "latency", "journal")
    return {key: service.policy.seed if key == "seed" else config[key] for key in shown}


def clock_data(service: PaymentService) -> dict[str, Any]:
    clock = service.clock
    return {"now": format_local_datetime(clock.now()), "frozen": clock.frozen, "timezone": clock.timezone}


class StateSnapshot:
    """The state of a service as it is when taken (payments are immutable records, so holding
    the lists of them holds the state): configuration in force, rules, every store with its
    counts, and the payments listed (owner by owner in name order, each owner's in the order
    they were first stored) from ``offset`` on, at most ``limit`` of them. Turned into data at
    once (``data``), or into its JSON a piece at a time (``pieces``)."""

    def __init__(self, service: PaymentService, owner: str | None = None, *, offset: int = 0,
                 limit: int | None = None) -> None:
        store = service.store
        owners = [owner] if owner is not None else sorted(
            set(store.owners()) | {s.github_id for s in service.config.stores} | set(service.policy.owners()))
        self._by_owner = {o: store.of(o) for o in owners}
        self._head = {
            "scenario": service.config.name,
            "seed": service.policy.seed,
            "config": config_data(service),
            "clock": clock_data(service),
            "rules": service.policy.rules_data(),
        }
        every = itertools.chain.from_iterable(self._by_owner.values())
        #: The payments listed.
        self.listed = list(itertools.islice(every, offset, None if limit is None else offset + limit))
        #: How many payments the stores hold.
        self.held = sum(map(len, self._by_owner.values()))

    def data(self) -> dict[str, Any]:
        """All of it at once (a few milliseconds' work for a few hundred payments)."""
        stores = [_store(o, payments, sum(map(_ATTEMPTS, payments))) for o, payments in self._by_owner.items()]
        return {**self._head, "stores": stores, "payments": [payment_data(p) for p in self.listed]}

    def pieces(self) -> Iterator[bytes]:
        """``data()`` as JSON, byte for byte, in pieces that each take a short while to make
        (about ``PIECE_BYTES`` of payments, or ``COUNT_STEP`` payments counted; a piece may be
        empty), so that a server can answer other requests between two."""
        stores = []
        for owner, payments in self._by_owner.items():
            attempts = 0
            for start in range(0, len(payments), COUNT_STEP):
                attempts += sum(map(_ATTEMPTS, payments[start:start + COUNT_STEP]))
                yield b""
            stores.append(_store(owner, payments, attempts))
        head = dumps({**self._head, "stores": stores, "payments": []})
        yield head[:-2]  # up to the payments' opening bracket
        separator = b""
        piece: list[bytes] = []
        size = 0
        for payment in self.listed:
            encoded = dumps(payment_data(payment))
            piece.append(encoded)
            size += len(encoded)
            if size >= PIECE_BYTES:
                yield separator + b",".join(piece)
                separator, piece, size = b",", [], 0
        yield separator + b",".join(piece) + b"]}" if piece else b"]}"


def _store(owner: str, payments: list[Payment], attempts: int) -> dict[str, Any]:
    return {"githubId": owner, "payments": len(payments), "attempts": attempts}


def payment_data(payment: Payment) -> dict[str, Any]:
    """Every field of a stored payment, for the control API."""
    return {
        **seed_payment_data(
            SeedPayment(payment.owner, payment.payment_id, payment.request, payment.status, payment.paid_at)
        ),
        "attempts": payment.attempts,
        "createdAt": format_local_datetime(payment.created_at),
        "updatedAt": format_local_datetime(payment.updated_at),
    }

"""What the control API shows of a ``PaymentService``: its configuration, clock, state and
payments as plain data. No HTTP here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .payments import Payment
from .scenario import SeedPayment, seed_payment_data
from .wire import format_local_datetime

if TYPE_CHECKING:
    from .service import PaymentService

__all__ = ["clock_data", "config_data", "payment_data", "state"]


def config_data(service: PaymentService) -> dict[str, Any]:
    """The configuration in force (not its payments or rules), with the seed in use."""
    config = service.config.to_data()
    shown = ("name", "seed", "clock", "auth", "failure", "latency", "journal")
    return {key: service.policy.seed if key == "seed" else config[key] for key in shown}


def clock_data(service: PaymentService) -> dict[str, Any]:
    clock = service.clock
    return {"now": format_local_datetime(clock.now()), "frozen": clock.frozen, "timezone": clock.timezone}


def state(service: PaymentService, owner: str | None = None) -> dict[str, Any]:
    """Everything: configuration in force, stores and every payment (of ``owner`` only, if given)."""
    store = service.store
    owners = sorted(set(store.owners()) | {s.github_id for s in service.config.stores} | set(service.policy.owners()))
    if owner is not None:
        owners = [owner]
    by_owner = {o: store.of(o) for o in owners}
    return {
        "scenario": service.config.name,
        "seed": service.policy.seed,
        "config": config_data(service),
        "clock": clock_data(service),
        "rules": service.policy.rules_data(),
        "stores": [
            {"githubId": o, "payments": len(payments), "attempts": sum(p.attempts for p in payments)}
            for o, payments in by_owner.items()
        ],
        "payments": [payment_data(p) for payments in by_owner.values() for p in payments],
    }


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

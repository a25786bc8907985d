"""The ``FAKEPAY_*`` environment variables that fakepay reads, and a warning for any other one."""

from __future__ import annotations

from collections.abc import Mapping

from .core.text import suggestion

__all__ = ["PREFIX", "VARIABLES", "environment_warnings"]

PREFIX = "FAKEPAY_"
#: Every variable a part of fakepay reads: ``fakepay serve`` (one per option), the pytest plugin
#: (``URL``, ``CONTROL_TOKEN``) and the JUnit extension (``URL``, ``CONTROL_TOKEN``, ``COMMAND``).
VARIABLES = tuple(
    PREFIX + name
    for name in (
        "ALLOW_HOST", "API", "COMMAND", "CONTROL_TOKEN", "FAILURE_RATE", "HOST", "JOURNAL_FILE", "NO_CONTROL", "PORT",
        "SANDBOXES", "SANDBOX_IDLE", "SCENARIO", "SEED", "URL", "WEBHOOK_FIRST_DELAY", "WEBHOOK_RETRIES",
        "WEBHOOK_SECRET", "WEBHOOK_TIMEOUT", "WEBHOOK_URL",
    )
)


def environment_warnings(environ: Mapping[str, str]) -> list[str]:
    """``warning: FAKEPAY_FAILURE_RATIO is ignored: fakepay reads no such variable; did you mean
    'FAKEPAY_FAILURE_RATE'?`` for each ``FAKEPAY_*`` variable (in any case) that is set, not empty,
    and read by no part of fakepay."""
    return [
        f"warning: {name} is ignored: fakepay reads no such variable{suggestion(name, VARIABLES)}"
        for name, value in sorted(environ.items())
        if value and name.upper().startswith(PREFIX) and name not in VARIABLES
    ]

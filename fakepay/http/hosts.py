"""Who may call the control API: what a control token must be, and which host names it answers
to without one, a defence against DNS rebinding, where a web page
on a name its owner points at this machine (``evil.example`` → 127.0.0.1) would otherwise be
the same origin as fakepay, and so could drive it and read its answers."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable

__all__ = ["CONTROL_TOKEN_RULE", "AllowedHosts", "allowed_host_names", "host_name", "valid_control_token"]

_NAME = re.compile(r"\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_CONTROL_TOKEN = re.compile(r"[!-~]{1,256}")
#: What a control token must be, as the command line and the Python API say when it is not.
CONTROL_TOKEN_RULE = (
    "must be 1 to 256 printable ASCII characters without spaces (what a browser and any HTTP client can "
    "send in a header)"
)


def valid_control_token(token: str) -> bool:
    """Whether ``token`` can be a control token (``CONTROL_TOKEN_RULE``)."""
    return _CONTROL_TOKEN.fullmatch(token) is not None


def allowed_host_names(names: str | Iterable[str]) -> list[str]:
    """``names`` (a text: separated by commas) as ``AllowedHosts`` takes them, in lower case;
    ``ValueError`` naming the first that is not a name, a name with a leading dot, or ``*``."""
    names = [name.strip().lower() for name in (names.split(",") if isinstance(names, str) else names)]
    for name in names:
        if name != "*" and not _NAME.fullmatch(name):
            raise ValueError(
                "an allowed host is a host name without a port ('fakepay'), one with a leading dot for it "
                f"and every name under it ('.example.test'), or '*' for any name; got {name!r}"
            )
    return names


def host_name(host: str) -> str:
    """The name in a ``Host`` header (``evil.example:8080``, ``[::1]:8080``), without its port,
    in lower case and without a final dot."""
    if host.startswith("["):  # an IPv6 address
        return host[1:].partition("]")[0].lower()
    name, colon, port = host.rpartition(":")
    if not colon or not port.isdigit():  # no port, or not a port: all of it is what it names
        name = host
    return name.lower().removesuffix(".")


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class AllowedHosts:
    """The names a browser may use to reach the control API. Always: any IP address (a page on
    one is served by the server at that address; rebinding needs a name), a name of one label
    (``fakepay``, a compose service or CI container: no one can point such a name at this machine
    from the internet), ``localhost`` and the names under it (browsers resolve those to the machine
    itself), this machine's own name, and ``served`` (the name the server binds, if it is one); and
    ``names``, each a name, a name with a
    leading dot for it and every name under it, or ``*`` for any name (``ValueError`` for
    anything else)."""

    def __init__(self, names: str | Iterable[str] = (), served: str | None = None) -> None:
        names = allowed_host_names(names)
        self.any = "*" in names
        exact = {name.removesuffix(".") for name in names if not name.startswith(".")}
        self._names = {"localhost", socket.gethostname().lower(), *exact}
        if served is not None and not _is_ip_address(served):
            self._names.add(served.lower().removesuffix("."))
        self._domains = (".localhost", *(name.removesuffix(".") for name in names if name.startswith(".")))

    def allows(self, host: str | None) -> bool:
        """Whether a request with this ``Host`` header (None: none sent, as by no browser) may
        make control calls."""
        if host is None or self.any:
            return True
        name = host_name(host)
        return (not name or "." not in name or name in self._names or _is_ip_address(name)
                or name.endswith(self._domains) or f".{name}" in self._domains)

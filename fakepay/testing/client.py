"""``FakePay``: a handle on a fakepay server for tests, with or without pytest.

It starts a server in a background thread (``FakePay()``) or attaches to a running one
(``FakePay(url=...)``), and drives it through the control API in both cases, so the two behave
the same. ``sandbox()`` makes a handle on a new sandbox of that server (docs/sandboxes.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import threading
import time
import urllib.parse
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from ..core.clock import format_local_datetime
from ..core.config import Scenario
from ..core.rules import WEBHOOK
from ..core.webhooks import DEFAULT_RETRY, RetryPolicy
from ..http.hosts import CONTROL_TOKEN_RULE, allowed_host_names, valid_control_token
from ..scenario import load_scenario, parse_scenario, scenario_data, scenario_file

__all__ = ["FakePay", "FakePayControlError"]

ScenarioSource = str | Path | dict[str, Any] | Scenario
#: The operation of each API that pays at once, which ``fail_next`` fails unless told another.
_INSTANT = {"ceos": "instant", "portone": "payInstantly"}
#: Seconds between two looks at the journal while waiting for a webhook.
_POLL_S = 0.02


def _base_url(url: str) -> str:
    """``url`` as the base URL of a fakepay (``http://host:port``), or ``ValueError`` saying why not."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"a fakepay URL is http://HOST:PORT, got {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"a fakepay URL has no path or query: give http://{parts.netloc}, not {url!r}")
    return f"http://{parts.netloc}"


def _segment(value: str) -> str:
    """``value`` percent-encoded as one path segment."""
    return urllib.parse.quote(value, safe="")


def _camel_case(fields: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments as the JSON keys they stand for: ``custom_data`` is ``customData``."""
    return {name.split("_")[0] + "".join(part.title() for part in name.split("_")[1:]): value
            for name, value in fields.items()}


class FakePayControlError(Exception):
    """A control API call was refused; ``status``, ``type`` and ``message`` are the server's."""

    def __init__(self, status: int, type: str, message: str) -> None:
        super().__init__(f"{status} {type}: {message}")
        self.status = status
        self.type = type
        self.message = message


def _scenario(source: ScenarioSource | None, seed: int | None, failure_rate: float | None) -> Scenario:
    if source is None:
        scenario = Scenario().overridden(failure_rate=0.0)
    elif isinstance(source, Scenario):
        scenario = source
    elif isinstance(source, dict):
        scenario = parse_scenario(source)
    else:
        scenario = load_scenario(source)
    return scenario.overridden(seed=seed, failure_rate=failure_rate)


class _Thread:
    """A fakepay server on its own event loop in a daemon thread."""

    def __init__(self, scenario: Scenario, host: str, port: int, control_token: str | None,
                 allow_hosts: Iterable[str], webhooks: RetryPolicy) -> None:
        from .. import PaymentService, Server

        self.server = Server(PaymentService(scenario), host, port, control_token=control_token, allow_hosts=allow_hosts,
                             webhooks=webhooks)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fakepay", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result()
        except BaseException:  # the port is in use, say: no thread is left behind
            self._end()
            raise

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result()
        self._end()

    def _end(self) -> None:
        """Stop the loop, and with it the thread."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def _shutdown(self) -> None:
        """Stop serving, then end what is left (requests held by faults), so that closing the
        loop leaves no task pending."""
        await self.server.stop()
        left = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)


class FakePay:
    """A fakepay server for tests: started here, or attached to by ``url``.

    >>> with FakePay() as fake:                       # doctest: +SKIP
    ...     requests.get(f"{fake.url}/auth/alice")

    Started here, it serves ``scenario`` (a shipped scenario's name, a file, a dict or a
    ``Scenario``; default: nothing seeded and no random failures) on ``host`` and ``port`` (0: a
    free one), answering control calls for the names in ``allow_hosts`` too
    (docs/control-api.md, "Who may call it"). Attached, it uses the server's scenario unless one is
    given, which it then loads, and when it stops it puts back the scenario it found if it changed
    anything. ``seed`` and ``failure_rate`` override the scenario's; ``control_token`` is sent on
    every control call (and required by a server started here). A token or a host name that cannot
    be used is a ``ValueError`` at once. Started here, it tries failed webhooks again as
    ``webhooks`` says (docs/webhooks.md).

    ``sandbox()`` is a handle on a new sandbox of the same server, whose calls act on that sandbox
    alone and which is deleted when it stops.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        scenario: ScenarioSource | None = None,
        seed: int | None = None,
        failure_rate: float | None = None,
        control_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_hosts: str | Iterable[str] = (),
        webhooks: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        if control_token and not valid_control_token(control_token):
            raise ValueError(f"control_token {CONTROL_TOKEN_RULE}")
        self._allow_hosts = allowed_host_names(allow_hosts)
        self._attach_url = _base_url(url) if url else None
        self._scenario_source = scenario
        self._seed = seed
        self._failure_rate = failure_rate
        self._control_token = control_token
        self._host = host
        self._port = port
        self._webhooks = webhooks
        self._thread: _Thread | None = None
        self._url: str | None = None
        self._start: dict[str, Any] = {}
        self._found: dict[str, Any] | None = None
        self._changed = False
        self._replaced = False
        self._connection: http.client.HTTPConnection | None = None
        #: Whether this handle works in a sandbox of its own, made when it starts.
        self._sandboxed = False
        self._sandbox_id: str | None = None

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> FakePay:
        """Start the server (or check the one attached to); returns self."""
        if self._url is not None:
            return self
        if self._attach_url is None:
            scenario = _scenario(self._scenario_source, self._seed, self._failure_rate)
            self._thread = _Thread(scenario, self._host, self._port, self._control_token, self._allow_hosts,
                                   self._webhooks)
            self._url = self._thread.server.url
        else:
            self._url = self._attach_url
            try:
                self._call("GET", "/health")
            except OSError as error:
                self._url = None
                raise ConnectionError(f"no fakepay answers at {self._attach_url}: {error}") from None
        try:
            if self._sandboxed:
                self._sandbox_id = str(self._call("POST", "/sandboxes", of_server=True)["id"])
            elif self._attach_url is not None:
                self._found = self._call("GET", "/scenario")
            if self._attach_url is not None:
                if self._scenario_source is not None:
                    self.load_scenario(self._scenario_source)
                self._configure_overrides(self._seed, self._failure_rate)
            self._start = self._call("GET", "/scenario")
        except BaseException:  # a refused call: stopped again, with no thread or socket left behind
            self.stop()
            raise
        self._replaced = False
        return self

    def stop(self) -> None:
        """Stop the server if it was started here; if attached and anything was changed, put the
        server back on the scenario it was serving, at its start; in a sandbox, delete it."""
        if self._sandbox_id is not None:
            with contextlib.suppress(OSError):  # the server is gone, and the sandbox with it
                self._delete_sandbox(self._sandbox_id)
            self._sandbox_id = None
        if self._found is not None and self._changed:
            with contextlib.suppress(OSError):  # the server is gone: nothing to put back
                self._call("PUT", "/scenario", self._found)
        self._close_connection()
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
        self._found = None
        self._changed = False
        self._url = None

    def __enter__(self) -> FakePay:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()

    def sandbox(self, scenario: ScenarioSource | None = None, seed: int | None = None,
                failure_rate: float | None = None) -> FakePay:
        """A started handle on a new sandbox of this server (docs/sandboxes.md), from ``scenario``
        (as ``FakePay`` takes it; default: the server's), with ``seed`` and ``failure_rate`` over it.
        Its calls act on the sandbox alone, its ``secret()`` is one that routes the API's requests
        to it, and when it stops (at the end of a ``with`` block) the sandbox is deleted.

        >>> with fake.sandbox(scenario="happy-path") as box:    # doctest: +SKIP
        ...     shop = Shop(box.url, secret=box.secret("alice"))
        """
        handle = FakePay(self.url, scenario=scenario, seed=seed, failure_rate=failure_rate,
                         control_token=self._control_token)
        handle._sandboxed = True
        return handle.start()

    @property
    def sandbox_id(self) -> str | None:
        """The id of the sandbox this handle works in, or None for a handle on the server's own state
        (the default sandbox)."""
        return self._sandbox_id

    def _delete_sandbox(self, sandbox_id: str) -> None:
        """Delete the sandbox ``sandbox_id``, unless it is gone already (expired)."""
        try:
            self._call("DELETE", f"/sandboxes/{_segment(sandbox_id)}", of_server=True)
        except FakePayControlError as error:
            if error.type != "SANDBOX_NOT_FOUND":
                raise

    @property
    def url(self) -> str:
        """The base URL of the public API, e.g. ``http://127.0.0.1:54321``."""
        if self._url is None:
            raise RuntimeError("FakePay is not started; use 'with FakePay() as fake:' or fake.start()")
        return self._url

    # -- the control API -------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None, *, query: dict[str, Any] | None = None,
              raw: bytes | None = None, content_type: str = "application/json", of_server: bool = False) -> dict[str, Any]:
        """One control call, of the handle's sandbox if it has one (of the server's own with
        ``of_server``); its answer, always a JSON object."""
        scope = "" if of_server or self._sandbox_id is None else f"/sandboxes/{_segment(self._sandbox_id)}"
        target = f"/__fakepay{scope}{path}"
        if query:
            target += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        headers = {"Content-Type": content_type} if data is not None else {}
        if self._control_token:
            headers["Authorization"] = f"Bearer {self._control_token}"
        status, answer = self._exchange(method, target, data, headers)
        self._changed = self._changed or (method != "GET" and status == 200)
        if status != 200:
            try:
                error = json.loads(answer)
            except ValueError:
                error = {"type": "HTTP_ERROR", "message": answer.decode("utf-8", "replace")}
            raise FakePayControlError(status, error.get("type", ""), error.get("message", ""))
        result: dict[str, Any] = json.loads(answer)
        return result

    def _exchange(self, method: str, target: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        """One request on a kept-alive connection, opened again once if the server had closed it."""
        reused = self._connection is not None
        try:
            return self._send(method, target, data, headers)
        except (ConnectionError, http.client.HTTPException):
            self._close_connection()
            if not reused:
                raise
        return self._send(method, target, data, headers)

    def _send(self, method: str, target: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        if self._connection is None:
            parts = urllib.parse.urlsplit(self.url)
            self._connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
        self._connection.request(method, target, body=data, headers=headers)
        response = self._connection.getresponse()
        return response.status, response.read()

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _configure_overrides(self, seed: int | None, failure_rate: float | None) -> None:
        patch: dict[str, Any] = {}
        if seed is not None:
            patch["seed"] = seed
        if failure_rate is not None:
            patch["failure"] = {"rate": failure_rate}
        if patch:
            self.configure(patch)

    def restore(self, scenario: ScenarioSource | None = None, failure_rate: float | None = None,
                seed: int | None = None) -> None:
        """Back to the start, as for a new test: ``scenario`` with only the ``failure_rate`` and
        ``seed`` given, or else the starting scenario (loaded again if it was replaced) with the
        handle's own overrides unless these are given; until the next restore."""
        if scenario is not None:
            self.load_scenario(scenario)
            self._configure_overrides(seed, failure_rate)
            return
        if self._replaced:
            self._call("PUT", "/scenario", self._start)
            self._replaced = False
        else:
            self.reset()
        self._configure_overrides(self._seed if seed is None else seed,
                                  self._failure_rate if failure_rate is None else failure_rate)

    def reset(self, owner: str | None = None) -> None:
        """Back to the scenario's start; with ``owner``, only that store."""
        self._call("POST", "/reset", query={"owner": owner})

    def state(self, owner: str | None = None) -> dict[str, Any]:
        """Config in force, rules, stores and payments (``GET /__fakepay/state``)."""
        return self._call("GET", "/state", query={"owner": owner})

    def load_scenario(self, scenario: ScenarioSource) -> None:
        """Replace the scenario with a shipped one by name (``"lost-responses"``), a file's, a dict's
        or a ``Scenario``; ``FakePayControlError`` lists problems, ``ScenarioError`` says a file is
        missing."""
        self._replaced = True
        if isinstance(scenario, Scenario):
            scenario = scenario_data(scenario)
        if isinstance(scenario, dict):
            self._call("PUT", "/scenario", scenario)
        else:
            self._call("PUT", "/scenario", raw=scenario_file(scenario).read_bytes(), content_type="application/yaml")

    def configure(self, patch: dict[str, Any]) -> dict[str, Any]:
        """Change part of the config until the next reset, e.g. ``{"latency": {"fixed_ms": 50}}``."""
        return self._call("PATCH", "/config", patch)

    def set_failure_rate(self, rate: float) -> None:
        """Make ``rate`` (0 to 1) of instant payments fail at random, until the next reset."""
        self.configure({"failure": {"rate": rate}})

    def add_rule(self, then: str | dict[str, Any], when: dict[str, Any] | None = None, times: int | None = None) -> dict[str, Any]:
        """Add a rule (docs/rules-and-faults.md): ``add_rule("fail", {"operation": "instant", "paymentId": "big-*"})``."""
        rule: dict[str, Any] = {"then": then, "when": when or {}}
        if times is not None:
            rule["times"] = times
        return self._call("POST", "/rules", rule)

    def fail_next(self, n: int = 1, outcome: str | dict[str, Any] = "fail", owner: str | None = None,
                  operation: str | None = None) -> dict[str, Any]:
        """Give the next ``n`` calls of ``operation`` (default: the API's instant payment) of
        ``owner``, or anyone's, ``outcome``."""
        if operation is None:
            operation = _INSTANT[str(self._call("GET", "/api")["name"])]
        when: dict[str, Any] = {"operation": operation}
        if owner is not None:
            when["owner"] = owner
        return self.add_rule(outcome, when, times=n)

    def clear_rules(self) -> None:
        self._call("DELETE", "/rules")

    def seed_payment(
        self,
        owner: str,
        payment_id: str,
        *,
        store_id: str = "store",
        order_name: str = "order",
        total_pay_amount: int = 1000,
        currency: str = "KRW",
        custom_data: str | None = None,
        status: str = "PAID",
        paid_at: datetime | str | None = None,
    ) -> dict[str, Any]:
        """Store a payment as if it had been made; returns it with every field."""
        if isinstance(paid_at, datetime):
            paid_at = format_local_datetime(paid_at)
        payment = {
            "owner": owner, "paymentId": payment_id, "storeId": store_id, "orderName": order_name,
            "totalPayAmount": total_pay_amount, "currency": currency, "customData": custom_data,
            "status": status, "paidAt": paid_at,
        }
        return dict(self._call("POST", "/payments", [payment])["payments"][0])

    def seed_payments(self, *payments: dict[str, Any]) -> list[dict[str, Any]]:
        """Store payments as if they had been made, each as a scenario seeds one (of any API);
        returns them with every field."""
        return list(self._call("POST", "/payments", list(payments))["payments"])

    # -- PortOne V2: the customer's steps in the payment window ------------------------------------

    def checkout(self, owner: str, payment_id: str, *, order_name: str, total_amount: int, currency: str = "KRW",
                 outcome: str = "PAID", **fields: Any) -> dict[str, Any]:
        """The customer pays ``payment_id`` of the API secret ``owner`` in the payment window, which
        comes to ``outcome`` (``PAID``, ``FAILED``, ``VIRTUAL_ACCOUNT_ISSUED``, ``PAY_PENDING`` or
        ``CLOSED``); returns what the browser SDK's ``requestPayment`` returns. ``fields`` are the
        rest of what it takes, in snake case (``custom_data={"sku": 1}``, ``manual_confirm=True``)."""
        body = {"owner": owner, "paymentId": payment_id, "orderName": order_name, "totalAmount": total_amount,
                "currency": currency, "outcome": outcome, **_camel_case(fields)}
        return self._call("POST", "/portone/checkout", body)

    def deposit(self, owner: str, payment_id: str) -> dict[str, Any]:
        """The customer deposits into the virtual account ``payment_id`` was issued; returns the payment."""
        return self._call("POST", "/portone/deposit", {"owner": owner, "paymentId": payment_id})

    def issue_billing_key(self, owner: str, billing_key: str | None = None, *, outcome: str = "ISSUED",
                          **fields: Any) -> dict[str, Any]:
        """The customer has a billing key issued in the payment window (``billing_key``, or a new
        one); returns what the browser SDK's ``requestIssueBillingKey`` returns."""
        body = {"owner": owner, "outcome": outcome, **({"billingKey": billing_key} if billing_key else {}),
                **_camel_case(fields)}
        return self._call("POST", "/portone/billing-key", body)

    def resend_webhook(self, owner: str, payment_id: str, webhook_id: str | None = None) -> dict[str, Any]:
        """Send the payment's latest webhook again (or the one ``webhook_id`` names) as a new message;
        returns it as PortOne's ``resend-webhook`` does."""
        body = {"owner": owner, "paymentId": payment_id, **({"webhookId": webhook_id} if webhook_id else {})}
        return self._call("POST", "/portone/resend-webhook", body)

    # -- PortOne V2: webhooks -------------------------------------------------------------------

    def set_webhook(self, url: str | None, secret: str | None = None, stores: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """Send webhooks to ``url`` (None: nowhere) from now until the next reset, signed with
        ``secret`` (default: the one in force), and each store in ``stores`` (``{"storeId", "url",
        "secret"}``) to its own endpoint; returns the settings in force, the secret included."""
        webhook: dict[str, Any] = {"url": url, **({"secret": secret} if secret else {})}
        if stores is not None:
            webhook["stores"] = stores
        return dict(self.configure({"webhook": webhook})["webhook"])

    @property
    def webhook_secret(self) -> str:
        """The secret webhooks are signed with now, for the app to verify them with."""
        return str(self._call("GET", "/state", query={"limit": 0})["config"]["webhook"]["secret"])

    def payments(self, owner: str) -> list[dict[str, Any]]:
        """Every payment of ``owner``, with every field."""
        return list(self.state(owner)["payments"])

    def payment(self, owner: str, payment_id: str) -> dict[str, Any] | None:
        """One payment of ``owner`` with every field, or None."""
        try:
            return self._call("GET", f"/payments/{_segment(owner)}/{_segment(payment_id)}")
        except FakePayControlError as error:
            if error.type == "PAYMENT_NOT_FOUND":
                return None
            raise

    def secret(self, github_id: str) -> str:
        """The API secret that stands for an owner: for the CEOS API, the one ``GET /auth/{github_id}``
        answers (asked of the control API, so not journaled); for PortOne, the owner itself, with
        the prefix that routes it to a sandbox."""
        return str(self._call("GET", f"/secrets/{_segment(github_id)}")["secret"])

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Journal entries; filters ``method``, ``path``, ``owner``, ``payment_id``, ``operation``, ``limit``."""
        if "payment_id" in filters:
            filters["paymentId"] = filters.pop("payment_id")
        return list(self._call("GET", "/requests", query=filters)["requests"])

    def wait_for_webhook(self, type: str | None = None, payment_id: str | None = None, *, outcome: str = "delivered",
                         timeout: float = 5.0) -> dict[str, Any]:
        """The journal entry of the first webhook attempt of ``type`` (``Transaction.Paid``, any
        when None) telling of ``payment_id`` that came to ``outcome`` (``delivered``, ``retrying``,
        ``given_up``, ``failed`` or ``dropped``), waited for at most ``timeout`` seconds
        (``TimeoutError``): a test needs no sleep. Its ``body`` is the payload sent, its
        ``response`` the attempt (``webhookId``, ``type``, ``attempt``, ``error``)."""
        deadline = time.monotonic() + timeout
        while True:
            for entry in self.requests(operation=WEBHOOK, payment_id=payment_id):
                if entry["outcome"] == outcome and type in (None, entry["response"]["type"]):
                    return entry
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no {type or 'webhook'} {outcome} for payment {payment_id!r} within {timeout:g} s")
            time.sleep(_POLL_S)

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def freeze_time(self, at: datetime | str | None = None) -> str:
        """Stop the clock at ``at`` (default: now); returns the time shown."""
        value: Any = True if at is None else (format_local_datetime(at) if isinstance(at, datetime) else at)
        return str(self._call("POST", "/clock", {"freeze": value})["now"])

    def advance_time(self, delta: timedelta | float) -> str:
        """Move the clock forward by a ``timedelta`` or a number of milliseconds; returns the time."""
        milliseconds = delta.total_seconds() * 1000 if isinstance(delta, timedelta) else delta
        return str(self._call("POST", "/clock", {"advance_ms": milliseconds})["now"])

    def resume_time(self) -> str:
        """Return the clock to the real time."""
        return str(self._call("POST", "/clock", {"resume": True})["now"])

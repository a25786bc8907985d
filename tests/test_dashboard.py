"""The dashboard at ``/__fakepay/``, driven in headless Chromium against a real ``fakepay serve``."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from fakepay import issue_secret, shipped_scenarios

from .support import BODY, need, serving

pytestmark = pytest.mark.toolchain

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


class Served:
    """A ``fakepay serve`` process (see ``serving``) and plain HTTP calls to it."""

    def __init__(self, process: subprocess.Popen[str], banner: re.Match[str]) -> None:
        self.process = process
        self.url = banner.group(1)
        self.dashboard_line = process.stdout.readline().strip()  # type: ignore[union-attr]

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        return status, json.loads(raw) if raw else None

    def pay(self, payment_id: str, owner: str = "alice", **fields: Any) -> int:
        return self.call("POST", f"/payments/{payment_id}/instant", {**BODY, **fields},
                         {"Authorization": f"Bearer {issue_secret(owner)}"})[0]

    def cancel(self, payment_id: str, owner: str = "alice") -> int:
        return self.call("POST", f"/payments/{payment_id}/cancel", headers={"Authorization": f"Bearer {issue_secret(owner)}"})[0]

    def seed(self, owner: str, count: int) -> None:
        """``count`` payments of ``owner``, ``{owner}-0`` on."""
        payments = [{"owner": owner, "paymentId": f"{owner}-{i}", **BODY} for i in range(count)]
        assert self.call("POST", "/__fakepay/payments", payments)[0] == 200

    def stop(self) -> str:
        """Stop as Ctrl-C does; what the server wrote on stderr."""
        self.process.terminate()
        self.process.wait(timeout=10)
        return self.process.stderr.read()  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    need(CHROMIUM, install="apt-get install chromium fonts-noto-cjk")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield browser
    browser.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., tuple[Any, Served]]]:
    """Serve fakepay with the given options and open its dashboard; afterwards, the page must
    have logged no error and the server must have stopped quietly."""
    opened: list[tuple[Any, Served, list[str]]] = []
    processes = ExitStack()

    def open_page(*args: str, wait_live: bool = True, tolerate: str = "",
                  before: Callable[[Any, Served], object] | None = None) -> tuple[Any, Served]:
        """``tolerate``: console errors containing this are expected; ``before(page, served)`` is
        called before the page is opened."""
        served = Served(*processes.enter_context(serving("--failure-rate", "0", "--seed", "1", *args)))
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        if before is not None:
            before(page, served)
        errors: list[str] = []

        def console(message: Any) -> None:
            if message.type == "error" and not (tolerate and tolerate in message.text):
                errors.append(message.text)

        page.on("console", console)
        page.on("pageerror", lambda error: errors.append(str(error)))
        opened.append((page, served, errors))
        page.goto(served.url + "/__fakepay/")
        if wait_live:
            page.locator("#connection", has_text="live").wait_for()
        return page, served

    with processes:
        yield open_page
        for page, served, errors in opened:
            page.close()
            assert served.stop() == ""
            assert errors == []


def test_the_banner_prints_the_dashboard_address(open_page: Any) -> None:
    page, served = open_page()
    assert served.dashboard_line == f"dashboard: {served.url}/__fakepay/"
    assert page.title() == "fakepay dashboard"


def test_a_payment_shows_up_within_a_second_with_its_status(open_page: Any) -> None:
    page, served = open_page()
    assert served.pay("order-1", orderName="노트북외 1건") == 200
    payments = page.get_by_role("region", name="Payments of alice")
    expect(payments.get_by_role("row", name=re.compile("order-1"))).to_contain_text("PAID", timeout=1000)
    expect(payments).to_contain_text("노트북외 1건")
    expect(page.locator("#requests tr").first).to_contain_text("instant")
    expect(page.locator("#requests tr").first).to_contain_text("200")


def test_the_page_builds_its_lists_from_the_api_in_force(open_page: Any) -> None:
    page, served = open_page()
    api = served.call("GET", "/__fakepay/api")[1]
    names = [operation["name"] for operation in api["operations"]]
    expect(page.get_by_role("search").get_by_label("Operation").locator("option")).to_have_text(["all", *names])
    expect(page.get_by_label("For operation").locator("option")).to_have_text(names)
    expect(page.get_by_label("For operation")).to_have_value("instant")  # the first that changes what is stored
    expect(page.locator("#seed-status option")).to_have_text(api["payments"]["statuses"])
    conditions = page.locator("#next-conditions")
    for matcher in api["matchers"]:
        expect(conditions.get_by_label(matcher["key"]).first).to_be_attached()
    expect(conditions.get_by_label("currency").locator("option")).to_have_text(["any", "KRW", "USD"])
    assert served.pay("p1") == 200
    payments = page.get_by_role("region", name="Payments of alice")
    expect(payments.locator("th")).to_have_text([column["title"] for column in api["payments"]["columns"]])
    expect(payments.locator("tbody td")).to_have_text(["p1", "PAID", "1,500,000 KRW", "노트북외 1건", "1", re.compile(r"^\d{4}-")])


def test_a_rule_sets_the_apis_own_conditions(open_page: Any) -> None:
    page, served = open_page()
    page.get_by_label("For operation").select_option("cancel")
    page.get_by_text("More conditions").click()
    conditions = page.locator("#next-conditions")
    conditions.get_by_label("currency").select_option("USD")
    conditions.get_by_label("orderName").fill("노트북*")
    conditions.get_by_label("totalPayAmount at least").fill("1000")
    page.get_by_role("button", name="Fail next payment").click()
    expect(page.get_by_role("button", name="Delete rule 1")).to_be_visible()
    assert served.call("GET", "/__fakepay/rules")[1]["rules"] == [
        {"id": 1, "when": {"operation": "cancel", "orderName": "노트북*", "currency": "USD", "totalPayAmount": {"gte": 1000}},
         "then": "fail", "times": 1, "remaining": 1}]


def test_the_page_follows_whatever_the_api_in_force_describes(open_page: Any) -> None:
    def describe_another_api(page: Any, served: Served) -> None:
        api = served.call("GET", "/__fakepay/api")[1]
        columns = {column["key"]: column for column in api["payments"]["columns"]}
        another = {
            **api,
            "operations": api["operations"][::-1],
            "matchers": [matcher for matcher in api["matchers"] if matcher["key"] == "currency"],
            "payments": {"statuses": api["payments"]["statuses"][::-1],
                         "columns": [columns["orderName"], columns["paymentId"], columns["status"]]},
        }
        page.route("**/__fakepay/api", lambda route: route.fulfill(json=another))

    page, served = open_page(before=describe_another_api)
    expect(page.get_by_label("For operation").locator("option")).to_have_text(["get", "cancel", "instant", "auth"])
    expect(page.get_by_label("For operation")).to_have_value("cancel")
    expect(page.locator("#next-conditions label")).to_have_count(1)
    expect(page.locator("#seed-status option")).to_have_text(["FAILED", "CANCELLED", "PAID"])
    assert served.pay("p1", orderName="노트북외 1건") == 200
    payments = page.get_by_role("region", name="Payments of alice")
    expect(payments.locator("th")).to_have_text(["order name", "payment id", "status"])
    expect(payments.locator("tbody td")).to_have_text(["노트북외 1건", "p1", "PAID"])


def test_fail_next_payment_makes_it_answer_500_shows_it_failed_and_its_used_up_rule_goes(open_page: Any) -> None:
    page, served = open_page()
    page.get_by_role("button", name="Fail next payment").click()
    expect(page.locator("#rules")).to_contain_text("fail when operation=instant · 1 left")
    assert served.pay("doomed") == 500
    assert served.pay("fine") == 200
    expect(page.get_by_role("region", name="Payments of alice").get_by_role("row", name=re.compile("doomed"))).to_contain_text("FAILED")
    failed = page.locator("#requests tr", has_text="doomed")
    expect(failed).to_contain_text("500")
    expect(failed).to_contain_text("failed")
    expect(failed).to_contain_text("#1")
    expect(page.locator("#rules")).to_have_text("no rules")  # used up: it can do nothing more
    assert served.call("GET", "/__fakepay/rules")[1]["rules"][0]["remaining"] == 0  # the API still lists it


def test_the_failure_rate_control_changes_the_state_from_the_keyboard(open_page: Any) -> None:
    page, served = open_page()
    page.get_by_label("Failure rate").fill("0.75")
    page.keyboard.press("Tab")  # to "Set failure rate"
    page.keyboard.press("Enter")
    deadline = time.monotonic() + 5
    while served.call("GET", "/__fakepay/state")[1]["config"]["failure"]["rate"] != 0.75:
        assert time.monotonic() < deadline, "the failure rate did not change"
        time.sleep(0.05)
    expect(page.locator("#config")).to_contain_text("failure rate0.75 (answers 500)", use_inner_text=False)


def test_reset_all_empties_the_payments_view(open_page: Any) -> None:
    page, served = open_page()
    served.pay("p1")
    served.pay("p2", owner="bob")
    expect(page.locator("#payments-count")).to_have_text("(2)")
    page.get_by_role("button", name="Reset all").click()
    expect(page.locator("#payments")).to_have_text("No payments yet.")
    expect(page.locator("#requests tr")).to_have_count(0)
    assert served.call("GET", "/__fakepay/state")[1]["payments"] == []


def test_a_sandbox_is_picked_to_watch_and_steer(open_page: Any) -> None:
    page, served = open_page()
    sandbox = served.call("POST", "/__fakepay/sandboxes")[1]["id"]
    secret = served.call("GET", f"/__fakepay/sandboxes/{sandbox}/secrets/carol")[1]["secret"]
    served.pay("in-default")
    assert served.call("POST", "/payments/in-sandbox/instant", BODY, {"Authorization": f"Bearer {secret}"})[0] == 200
    expect(page.locator("#payments")).to_contain_text("in-default")
    page.locator("#sandbox-choice").focus()
    expect(page.locator("#sandbox-choice option")).to_have_text(["the server's own", sandbox])
    page.locator("#sandbox-choice").select_option(sandbox)
    expect(page.get_by_role("region", name="Payments of carol")).to_contain_text("in-sandbox")
    expect(page.locator("#payments")).not_to_contain_text("in-default")
    assert page.url.endswith(f"/__fakepay/?sandbox={sandbox}")
    page.get_by_role("button", name="Reset all").click()  # steers the sandbox, not the server's own
    expect(page.locator("#payments")).to_have_text("No payments yet.")
    assert served.call("GET", f"/__fakepay/sandboxes/{sandbox}/state")[1]["payments"] == []
    assert [p["paymentId"] for p in served.call("GET", "/__fakepay/state")[1]["payments"]] == ["in-default"]
    page.reload()  # the address keeps the sandbox watched
    page.locator("#connection", has_text="live").wait_for()
    expect(page.locator("#sandbox-choice")).to_have_value(sandbox)
    page.locator("#sandbox-choice").select_option("")
    expect(page.locator("#payments")).to_contain_text("in-default")


def test_a_shipped_scenario_is_loaded_from_the_picker(open_page: Any) -> None:
    page, served = open_page()
    picker = page.get_by_label("Shipped scenario")
    expect(picker.locator("option")).to_have_count(len(shipped_scenarios()))
    picker.select_option("seeded-payments")
    page.get_by_role("button", name="Load scenario").click()
    expect(page.locator("#scenario-name")).to_have_text("scenario: seeded-payments")
    state = served.call("GET", "/__fakepay/state")[1]
    assert state["scenario"] == "seeded-payments" and state["payments"]
    expect(page.locator("#payments-count")).to_have_text(f"({len(state['payments'])})")


def test_rules_seeding_clock_journal_and_filters(open_page: Any) -> None:
    page, served = open_page()
    page.get_by_label("Only for owner").fill("bob")
    page.get_by_label("How many").fill("2")
    page.get_by_role("button", name="Lose next response").click()
    expect(page.get_by_role("button", name="Delete rule 1")).to_be_visible()
    rules = served.call("GET", "/__fakepay/rules")[1]["rules"]
    assert rules == [{"id": 1, "when": {"operation": "instant", "owner": "bob"}, "then": "lost_response",
                      "times": 2, "remaining": 2}]
    page.get_by_role("button", name="Delete rule 1").click()
    expect(page.locator("#rules")).to_have_text("no rules")

    page.get_by_label("Payment id").fill("seeded-1")
    page.get_by_label("Order name").fill("커피 원두 1kg")
    page.get_by_role("button", name="Seed payment").click()
    expect(page.get_by_role("row", name=re.compile("seeded-1"))).to_contain_text("커피 원두 1kg")

    page.get_by_role("button", name="Freeze clock").click()
    expect(page.locator("#clock-now")).to_contain_text("frozen")
    page.get_by_label("By (ms)").fill("86400000")
    before = served.call("GET", "/__fakepay/state")[1]["clock"]["now"]
    page.get_by_role("button", name="Advance clock").click()
    expect(page.locator("#clock-now")).not_to_contain_text(before)
    page.get_by_role("button", name="Resume clock").click()
    expect(page.locator("#clock-now")).to_contain_text("running")

    served.pay("a1")
    served.pay("b1", owner="bob")
    served.pay("a1")  # 409
    filters = page.get_by_role("search")
    filters.get_by_label("Owner").fill("bob")
    expect(page.locator("#requests tr")).to_have_count(1)
    filters.get_by_label("Owner").fill("")
    filters.get_by_label("Status").select_option("4")
    expect(page.locator("#requests tr")).to_have_count(1)
    page.get_by_role("button", name=re.compile("^Show request")).click()
    expect(page.locator("#detail")).to_contain_text("ALREADY_PAID")
    expect(page.locator("#detail")).to_contain_text("노트북외 1건")
    filters.get_by_label("Status").select_option("")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download journal").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["params"]["paymentId"] for line in lines] == ["a1", "b1", "a1"]
    page.get_by_role("button", name="Clear journal").click()
    expect(page.locator("#requests tr")).to_have_count(0)
    assert served.call("GET", "/__fakepay/requests")[1] == {"requests": []}


def test_a_protected_server_asks_for_the_token_and_keeps_it_out_of_urls(open_page: Any) -> None:
    page, served = open_page("--control-token", "s3cret-token", wait_live=False, tolerate="status of 401")
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    token = page.get_by_label("Control token")
    expect(token).to_be_focused()
    expect(page.locator("main")).to_be_hidden()
    token.fill("wrong")
    page.get_by_role("button", name="Use token").click()
    expect(page.get_by_role("alert")).to_contain_text("not the one")
    token.fill("s3cret-token")
    token.press("Enter")
    expect(page.locator("#connection")).to_have_text("live")
    served.pay("p1")
    expect(page.get_by_role("region", name="Payments of alice")).to_contain_text("p1")
    assert any(url.endswith("/__fakepay/events") for url in urls)
    assert not [url for url in urls if "s3cret" in url]


def test_the_page_holds_at_most_1000_payments_and_counts_them_all(open_page: Any) -> None:
    asked: list[str] = []

    def seed_then_watch(page: Any, served: Served) -> None:
        served.seed("alice", 900)
        served.seed("bob", 600)
        page.on("request", lambda request: asked.append(request.url))

    page, served = open_page(before=seed_then_watch)
    expect(page.locator("#payments-count")).to_have_text("(1,000 of 1,500)")
    expect(page.locator("#payments tbody tr")).to_have_count(1000)
    alice, bob = (page.get_by_role("region", name=f"Payments of {owner}") for owner in ("alice", "bob"))
    expect(alice.get_by_role("heading")).to_have_text("alice 900 payments")
    expect(bob.get_by_role("heading")).to_have_text("bob 600 payments, 100 shown")
    assert f"{served.url}/__fakepay/state?limit=1000" in asked

    assert served.pay("new-one", owner="carol") == 200  # shown at once; the oldest shown makes room; counted soon
    expect(page.get_by_role("region", name="Payments of carol")).to_contain_text("new-one")
    expect(alice.get_by_role("row", name=re.compile("alice-0 "))).to_have_count(0)
    expect(page.locator("#payments tbody tr")).to_have_count(1000)
    expect(page.locator("#payments-count")).to_have_text("(1,000 of 1,501)")
    expect(alice.get_by_role("heading")).to_have_text("alice 900 payments, 899 shown")


def test_an_event_draws_only_the_rows_it_changes(open_page: Any) -> None:
    page, served = open_page()
    for payment_id in ("p1", "p2"):
        assert served.pay(payment_id) == 200
    payments = page.get_by_role("region", name="Payments of alice")
    expect(payments.get_by_role("row", name=re.compile("p2"))).to_contain_text("PAID")
    untouched = [payments.get_by_role("row", name=re.compile("p1")).element_handle(),
                 page.locator("#requests tr", has_text="p1").element_handle()]
    assert served.cancel("p2") == 200
    expect(payments.get_by_role("row", name=re.compile("p2"))).to_contain_text("CANCELLED")
    expect(page.locator("#requests tr")).to_have_count(3)
    assert [row.evaluate("row => row.isConnected") for row in untouched] == [True, True]


def test_a_burst_is_counted_whole_and_the_payments_it_left_out_are_read_again(open_page: Any) -> None:
    page, served = open_page()
    served.seed("alice", 300)  # 300 payments stored at once: more than a batch of the stream sends
    expect(page.locator("#payments-count")).to_have_text("(300)")
    expect(page.locator("#payments tbody tr")).to_have_count(300)

    host, port = served.url.removeprefix("http://").split(":")
    request = f"GET /payments/alice-0 HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {issue_secret('alice')}\r\n\r\n"
    connections = [socket.create_connection((host, int(port)), timeout=10) for _ in range(4)]
    for connection in connections:  # 1,000 requests at once, pipelined: many more than a batch sends
        connection.sendall(request.encode() * 250)
    for connection in connections:
        received = b""
        while received.count(b"HTTP/1.1 200") < 250:
            received += connection.recv(1 << 16)
        connection.close()
    expect(page.get_by_role("img", name=re.compile("Requests per second"))).to_have_attribute(
        "aria-label", "Requests per second by outcome, last 2 minutes: 1000 ok, 0 rejected, 0 failed, 0 fault")
    assert page.locator("#requests tr").count() < 1000  # the table has the newest of each batch


def test_a_request_made_while_the_page_loads_is_listed_once(open_page: Any) -> None:
    def pay_while_the_journal_is_read(page: Any, served: Served) -> None:
        def pay_first(route: Any) -> None:
            assert served.pay("p1") == 200  # its event comes while the page loads what the journal holds
            route.continue_()

        page.route("**/__fakepay/requests?limit=1000", pay_first)

    page, served = open_page(before=pay_while_the_journal_is_read)
    assert served.pay("p2") == 200  # its event comes after p1's
    expect(page.locator("#requests tr").first).to_contain_text("p2")
    expect(page.locator("#requests tr")).to_have_count(2)
    expect(page.locator("#requests-count")).to_have_text("(2 of 2)")


def test_the_chart_counts_the_requests_made_before_the_page_opened(open_page: Any) -> None:
    def pay(page: Any, served: Served) -> None:
        for payment_id in ("p1", "p2", "p3", "p1"):  # the second p1 is refused
            served.pay(payment_id)

    page, _ = open_page(before=pay)
    expect(page.get_by_role("img", name=re.compile("Requests per second"))).to_have_attribute(
        "aria-label", "Requests per second by outcome, last 2 minutes: 3 ok, 1 rejected, 0 failed, 0 fault")


#: What a page of another site tries on its own origin once its name resolves to this machine
#: (DNS rebinding): the control API, and the public API as a check that its calls reach fakepay.
REBINDING_SCRIPT = """async () => {
  const calls = [
    ["GET", "/auth/alice"], ["GET", "/__fakepay/state"], ["GET", "/__fakepay/secrets/alice"], ["GET", "/__fakepay/requests"],
    ["PATCH", "/__fakepay/config", '{"failure":{"rate":1}}'], ["POST", "/__fakepay/reset"],
    ["POST", "/__fakepay/rules", '{"then":"fail"}'], ["GET", "/__fakepay/"], ["GET", "/__fakepay/events"],
  ];
  const results = [];
  for (const [method, path, body] of calls) {
    const stop = new AbortController();
    const response = await fetch(path, {method, body, signal: stop.signal});
    const text = response.headers.get("content-type").startsWith("text/event-stream") ? "" : await response.text();
    stop.abort();
    results.push([method + " " + path, response.status, text]);
  }
  return results;
}"""


def test_a_page_on_a_name_pointed_at_fakepay_cannot_drive_it(playwright: Any) -> None:
    with serving("--failure-rate", "0") as (process, banner):
        served = Served(process, banner)
        served.pay("p1")

        def state() -> dict[str, Any]:
            return {key: value for key, value in served.call("GET", "/__fakepay/state")[1].items() if key != "clock"}

        before = state()
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=[*ARGS, "--host-resolver-rules=MAP evil.example 127.0.0.1"])
        page = browser.new_page()
        # A document of http://evil.example:PORT that Chromium fetched from 127.0.0.1, as after a rebinding
        # (a page it had fetched from elsewhere is kept from loopback by Chromium's own Private Network Access).
        page.goto(f"http://evil.example:{banner.group(2)}/auth/alice")
        public, *control = page.evaluate(REBINDING_SCRIPT)
        browser.close()
        assert public == ["GET /auth/alice", 200, issue_secret("alice")]  # the page's calls do reach fakepay
        for call, status, text in control:
            assert (call, status) == (call, 403), text
            error = json.loads(text)
            assert error["type"] == "FORBIDDEN" and "--allow-host" in error["message"]
        assert state() == before
        assert served.stop() == ""


def test_a_portone_server_shows_its_payments_and_offers_its_operations(open_page: Any) -> None:
    page, served = open_page("--api", "portone")
    checkout = {"owner": "shop-secret", "paymentId": "order-1", "orderName": "노트북", "totalAmount": 10000, "currency": "KRW"}
    assert served.call("POST", "/__fakepay/portone/checkout", checkout)[0] == 200
    status, _ = served.call("POST", "/payments/order-1/cancel", {"reason": "one item back", "amount": 3000},
                            {"Authorization": "PortOne shop-secret"})
    assert status == 200
    payments = page.get_by_role("region", name="Payments of shop-secret")
    expect(payments.locator("th")).to_have_text(["payment id", "status", "amount", "cancelled", "order name", "attempts",
                                                 "paidAt"])
    expect(payments.locator("tbody td")).to_have_text(
        ["order-1", "PARTIAL_CANCELLED", "10,000 KRW", "3,000 KRW", "노트북", "1", re.compile(r"^\d{4}-")])
    operations = [operation["name"] for operation in served.call("GET", "/__fakepay/api")[1]["operations"]]
    expect(page.get_by_label("For operation").locator("option")).to_have_text(operations)
    expect(page.get_by_label("For operation")).to_have_value("payInstantly")
    page.get_by_text("More conditions").click()
    page.locator("#next-conditions").get_by_label("amount.total at least").fill("5000")
    page.get_by_role("button", name="Fail next payment").click()
    expect(page.get_by_role("button", name="Delete rule 1")).to_be_visible()
    assert served.call("GET", "/__fakepay/rules")[1]["rules"] == [
        {"id": 1, "when": {"operation": "payInstantly", "amount.total": {"gte": 5000}}, "then": "fail", "times": 1,
         "remaining": 1}]

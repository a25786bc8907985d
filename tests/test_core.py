"""The core without a server: secrets, the wire format, the clock, and the service's state."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from fakepay import AlreadyCancelled, AlreadyPaid, Clock, PaymentNotFound, PaymentNotPaid, PaymentService, Unauthorized
from fakepay.control.views import StateSnapshot
from fakepay.core.clock import format_local_datetime, parse_local_datetime
from fakepay.core.errors import InvalidRequest, StateReset
from fakepay.core.globs import Glob
from fakepay.core.instance import Epochs
from fakepay.core.jsontext import dumps
from fakepay.core.text import decode_path_value
from fakepay.dialects.ceos.models import InstantPaymentRequest
from fakepay.dialects.ceos.scenario import SeedPayment
from fakepay.dialects.ceos.secrets import DEFAULT_SIGNING_KEY, ISSUED_AT, Authenticator, issue_secret

from .support import call as support_call
from .support import ceos, scenario

SEOUL = ZoneInfo("Asia/Seoul")

REQUEST = InstantPaymentRequest("my_store_001", "주문", 1000, "KRW", None)


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


# -- secrets --------------------------------------------------------------------------------


def test_secret_is_an_hs512_jwt_with_the_documented_claims() -> None:
    header, payload, signature = issue_secret("alice").split(".")
    assert _b64(header) == b'{"alg":"HS512"}'
    assert _b64(payload) == json.dumps(
        {"sub": "alice", "category": "access", "authorities": "ROLE_USER", "iat": ISSUED_AT}, separators=(",", ":")
    ).encode()
    expected = hmac.new(DEFAULT_SIGNING_KEY.encode(), f"{header}.{payload}".encode(), hashlib.sha512).digest()
    assert _b64(signature) == expected


def test_secret_is_a_pure_function_of_id_and_key() -> None:
    assert issue_secret("alice") == issue_secret("alice")
    assert issue_secret("alice") != issue_secret("alice", "other-key")
    assert issue_secret("alice") != issue_secret("bob")


def test_authenticator_accepts_signed_and_declared_secrets() -> None:
    auth = Authenticator(declared={"ci-secret": "carol"})
    assert auth.owner("Bearer " + issue_secret("alice")) == "alice"
    assert auth.owner("BEARER  " + issue_secret("bob") + " ") == "bob"
    assert auth.owner("Bearer ci-secret") == "carol"
    with pytest.raises(Unauthorized):
        auth.owner("Bearer " + issue_secret("alice", "foreign-key"))


def test_any_jwt_mode_takes_the_sub_of_any_well_formed_jwt() -> None:
    foreign = issue_secret("dave", "the-real-servers-key")
    with pytest.raises(Unauthorized):
        Authenticator().owner("Bearer " + foreign)
    assert Authenticator(mode="any-jwt").owner("Bearer " + foreign) == "dave"
    no_sub = "eyJhbGciOiJIUzUxMiJ9." + base64.urlsafe_b64encode(b'{"x":1}').decode().rstrip("=") + ".sig"
    with pytest.raises(Unauthorized):
        Authenticator(mode="any-jwt").owner("Bearer " + no_sub)


@pytest.mark.parametrize("bad", ["", "a" * 101, "al ice", "한글", "a/b"])
def test_bad_github_ids_are_refused(bad: str) -> None:
    with pytest.raises(InvalidRequest):
        issue_secret(bad)


# -- wire format ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2025, 10, 22, 20, 21, 35, 529482), "2025-10-22T20:21:35.529482"),
        (datetime(2025, 10, 22, 20, 21, 35, 529400), "2025-10-22T20:21:35.5294"),
        (datetime(2025, 10, 22, 20, 21, 35, 500000), "2025-10-22T20:21:35.5"),
        (datetime(2025, 10, 22, 20, 21, 35), "2025-10-22T20:21:35"),
        (datetime(2025, 10, 22, 20, 21), "2025-10-22T20:21:00"),
        (datetime(2025, 10, 22, 20, 0, 0, 10), "2025-10-22T20:00:00.00001"),
    ],
)
def test_local_datetime_round_trips(value: datetime, text: str) -> None:
    assert format_local_datetime(value) == text
    assert parse_local_datetime(text) == value


@pytest.mark.parametrize("text", ["2025-10-22", "2025-10-22 20:21:35", "2025-10-22T20:21:35Z", "2025-13-01T00:00", "x"])
def test_local_datetime_rejects_other_text(text: str) -> None:
    assert parse_local_datetime(text) is None


@pytest.mark.parametrize(
    ("raw", "value"),
    [("abc", "abc"), ("a%20b", "a b"), ("a+b", "a+b"), ("%EC%A3%BC", "주"), ("%25", "%"), ("%e2%82%ac", "€")],
)
def test_path_values_decode(raw: str, value: str) -> None:
    assert decode_path_value(raw) == value


@pytest.mark.parametrize("raw", ["", "%", "%2", "%G0", "%C3%28", "%FF", "a%2Fb", "%09", "%C2%9F", "a" * 257])
def test_bad_path_values_are_refused(raw: str) -> None:
    with pytest.raises(InvalidRequest):
        decode_path_value(raw)


# -- globs ----------------------------------------------------------------------------------


@settings(max_examples=1000, deadline=None)
@given(st.text("ab*?[]!-", max_size=12), st.text("ab*?[]!-", max_size=12))
def test_a_glob_matches_as_fnmatch_does(pattern: str, text: str) -> None:
    assert Glob(pattern).matches(text) is fnmatch.fnmatchcase(text, pattern)


@pytest.mark.parametrize("pattern, text, expected", [
    ("*" + "?" * 254 + "b", "a" * 8000 + "b", True),
    ("*" + "?" * 254 + "b", "a" * 8000, False),
    ("x*[*]*y", "x--*--y", True),
    ("a*b*c", "abc", True),
    ("a*b*c", "acb", False),
    ("*a*a*", "a", False),
    ("[!a]*", "ba", True),
    ("[", "[", True),
    ("*", "\n", True),
])
def test_a_glob_matches_the_whole_text(pattern: str, text: str, expected: bool) -> None:
    assert Glob(pattern).matches(text) is expected


def test_a_glob_costs_what_it_looks_for_between_stars() -> None:
    assert Glob("*" + "?" * 254 + "b").cost(8000) == 255  # compared in place at the end
    assert Glob("/payments/*/instant").cost(8000) == 18
    assert Glob("*" + "?a" * 126 + "*").cost(100) == 252 * 100 + 100  # looked for at every place


# -- clock ----------------------------------------------------------------------------------


def test_clock_freezes_advances_and_resumes() -> None:
    clock = Clock("UTC")
    at = datetime(2025, 1, 1, 12, 0, tzinfo=ZoneInfo("UTC"))
    clock.freeze(at)
    assert clock.now() == at and clock.frozen
    clock.advance(timedelta(seconds=90))
    assert clock.now() == at + timedelta(seconds=90)
    clock.resume()
    assert not clock.frozen and clock.now().year >= 2026


def test_running_clock_can_be_advanced() -> None:
    clock = Clock("Asia/Seoul")
    before = clock.now()
    clock.advance(timedelta(days=1))
    assert clock.now() - before >= timedelta(days=1)


# -- the service ----------------------------------------------------------------------------


def test_pay_get_cancel_states() -> None:
    service = PaymentService(scenario())
    paid = ceos(service).pay("alice", "p1", REQUEST).value
    assert (paid.status, paid.attempts) == ("PAID", 1)
    assert ceos(service).get("alice", "p1").value is paid
    with pytest.raises(AlreadyPaid):
        ceos(service).pay("alice", "p1", REQUEST)
    assert ceos(service).cancel("alice", "p1").value.status == "CANCELLED"
    with pytest.raises(AlreadyCancelled):
        ceos(service).cancel("alice", "p1")
    with pytest.raises(AlreadyPaid):
        ceos(service).pay("alice", "p1", REQUEST)
    with pytest.raises(PaymentNotFound):
        ceos(service).get("bob", "p1")


def test_failed_payment_is_stored_and_not_cancellable() -> None:
    service = PaymentService(scenario(failure={"rate": 1.0}))
    result = ceos(service).pay("alice", "p1", REQUEST)
    assert result.failed and result.value.status == "FAILED" and result.value.paid_at is None
    with pytest.raises(PaymentNotPaid):
        ceos(service).cancel("alice", "p1")


def test_seeded_streams_are_per_owner_and_reproducible() -> None:
    def outcomes(service: PaymentService, owner: str, n: int = 200) -> list[bool]:
        return [ceos(service).pay(owner, f"{owner}-{i}", REQUEST).failed for i in range(n)]

    one = PaymentService(scenario(failure={"rate": 0.3}, seed=11))
    two = PaymentService(scenario(failure={"rate": 0.3}, seed=11))
    outcomes(two, "bob", 57)
    assert outcomes(one, "alice") == outcomes(two, "alice")
    other_seed = PaymentService(scenario(failure={"rate": 0.3}, seed=12))
    assert outcomes(other_seed, "alice") != outcomes(PaymentService(scenario(failure={"rate": 0.3}, seed=11)), "alice")


def test_reset_returns_to_the_start_and_replays_the_same_outcomes() -> None:
    service = PaymentService(scenario(failure={"rate": 0.5}, seed=5))
    first = [ceos(service).pay("alice", f"p{i}", REQUEST).failed for i in range(30)]
    service.reset()
    assert len(ceos(service).store) == 0
    assert [ceos(service).pay("alice", f"p{i}", REQUEST).failed for i in range(30)] == first


def test_reset_of_one_owner_leaves_the_others() -> None:
    service = PaymentService(scenario(failure={"rate": 0.5}, seed=5))
    first = [ceos(service).pay("alice", f"p{i}", REQUEST).failed for i in range(10)]
    ceos(service).pay("bob", "b1", REQUEST)
    service.reset("alice")
    assert ceos(service).store.of("alice") == []
    assert [p.payment_id for p in ceos(service).store.of("bob")] == ["b1"]
    assert [ceos(service).pay("alice", f"p{i}", REQUEST).failed for i in range(10)] == first


def test_epochs_tell_which_requests_outlived_a_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    epochs = Epochs()
    before = epochs.current
    epochs.begin("alice")
    assert (epochs.outlived(before, "alice"), epochs.outlived(before, "bob"), epochs.outlived(before, None)) == (True, False, False)
    assert not epochs.outlived(epochs.current, "alice")  # a request that arrived after it
    epochs.begin()
    assert epochs.outlived(before, "bob") and epochs.outlived(before, None)
    monkeypatch.setattr(Epochs, "OWNERS_KEPT", 2)
    started = epochs.current
    for owner in ("a", "b", "c"):  # "a" is forgotten: older requests count as outlived for any owner
        epochs.begin(owner)
    assert epochs.outlived(started, "a") and epochs.outlived(started, "z") and epochs.outlived(started, "c")
    assert not epochs.outlived(epochs.current, "a")


def test_a_call_that_outlived_a_reset_is_not_carried_out() -> None:
    service = PaymentService(scenario(failure={"rate": 0.5}))
    call = support_call("instant", "p1", owner="alice", request=REQUEST, epoch=service.epochs.current)
    service.reset("alice")
    with pytest.raises(StateReset, match="so payment 'p1' was not carried out"):
        service.decide(call)
    assert ceos(service).store.get("alice", "p1") is None and list(service.policy.owners()) == []


def test_frozen_clock_stamps_payments() -> None:
    service = PaymentService(scenario(clock={"frozen_at": "2025-10-22T20:21:35.5"}))
    assert ceos(service).pay("alice", "p1", REQUEST).value.paid_at == datetime(2025, 10, 22, 20, 21, 35, 500000, tzinfo=SEOUL)
    service.move_clock(advance_ms=1500)
    assert ceos(service).pay("alice", "p2", REQUEST).value.paid_at == datetime(2025, 10, 22, 20, 21, 37, tzinfo=SEOUL)


def test_the_public_api_resolves() -> None:
    import fakepay

    for name in fakepay.__all__:
        assert getattr(fakepay, name) is not None
    with pytest.raises(AttributeError):
        fakepay.nothing_by_that_name  # noqa: B018


def test_a_state_in_pieces_is_its_json_and_stays_as_it_was_taken() -> None:
    service = PaymentService(scenario())
    ceos(service).add_payments(tuple(SeedPayment(f"owner{i % 3}", f"p{i}", InstantPaymentRequest("s", "노트북", i + 1, "KRW", "x" * (i % 400)))
                               for i in range(3000)))
    for n, (owner, offset, limit) in enumerate(((None, 0, None), ("owner1", 10, 500), (None, 2990, 100), (None, 0, 0))):
        snapshot = StateSnapshot(service, owner, offset=offset, limit=limit)
        expected = dumps(snapshot.data())
        ceos(service).pay("owner1", f"later-{n}", InstantPaymentRequest("s", "o", 1, "KRW", None))  # after it was taken
        pieces = list(snapshot.pieces())
        assert b"".join(pieces) == expected
        assert max(map(len, pieces)) < 100_000  # none much over 64 KiB

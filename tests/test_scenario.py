"""Scenario files: the loader's messages and positions, the JSON Schema agreeing with it, and the CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from fakepay import ScenarioError, load_scenario, parse_scenario, parse_scenario_text, scenario_file, shipped_scenarios
from fakepay.core.rules import FAULTS, WEBHOOK_FAULTS
from fakepay.dialects import dialect
from fakepay.scenario import scenario_data
from fakepay.scenario.schema import FILE, schema_text

from .support import FAKEPAY, ROOT, SCHEMA

SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario_text(text, "s.yaml")
    return caught.value.problems


def schema_accepts(text: str) -> bool:
    return jsonschema.Draft202012Validator(SCHEMA).is_valid(yaml.safe_load(text))


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("fault", FAULTS)
def test_every_named_outcome_is_a_rule_outcome_for_loader_and_schema(fault: str) -> None:
    text = f"version: 1\nrules:\n  - when: {{operation: instant}}\n    then: {fault}\n"
    assert parse_scenario_text(text, "s.yaml").rules[0].then.kind.value == fault
    assert schema_accepts(text)


def test_the_schema_names_no_outcome_the_loader_refuses() -> None:
    """Each API's rules name the outcomes of its operations, and of webhooks where it sends them."""
    for api in SCHEMA["allOf"]:
        named = api["then"]["properties"]["rules"]["items"]["properties"]["then"]["oneOf"][0]
        webhooks = dialect(api["if"]["properties"]["api"]["const"]).webhooks
        assert sorted(named["enum"]) == sorted((*FAULTS, *(WEBHOOK_FAULTS[1:] if webhooks else ())))


def test_the_shipped_schema_is_made_of_the_declarations() -> None:
    """The file in the package is what ``python -m fakepay.scenario.schema`` writes, byte for byte."""
    assert FILE.read_bytes() == schema_text().encode(), "run python -m fakepay.scenario.schema"


def test_every_expected_scenario_ships() -> None:
    names = {path.stem for path in SHIPPED}
    assert names == {"default", "happy-path", "always-fail", "seeded-payments", "slow-network", "lost-responses", "any-jwt",
                     "portone-shop"}
    assert shipped_scenarios() == sorted(names)


# -- by name or by path -----------------------------------------------------------------------

NAMES = "always-fail, any-jwt, default, happy-path, lost-responses, portone-shop, seeded-payments, slow-network"


def test_a_shipped_scenario_loads_by_name_from_any_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert scenario_file("happy-path").read_bytes() == (ROOT / "scenarios" / "happy-path.yaml").read_bytes()
    assert load_scenario("lost-responses").name == "lost-responses"


def test_anything_but_a_bare_shipped_name_is_a_path_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "happy-path.yaml").write_text("version: 1\nname: mine\n")
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "happy-path").write_text("version: 1\nname: in-a-folder\n")
    (tmp_path / "mine").write_text("version: 1\n")
    assert load_scenario("happy-path.yaml").name == "mine"
    assert load_scenario("ci/happy-path").name == "in-a-folder"
    assert load_scenario(Path("mine")).name == "mine"
    assert load_scenario("happy-path").name == "happy-path"


def test_a_missing_scenario_is_one_problem_saying_where_it_was_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as caught:
        load_scenario("happy-paht")
    assert caught.value.problems == [
        f"no scenario 'happy-paht': not a file (relative to {tmp_path}) nor a shipped scenario ({NAMES}); "
        "did you mean 'happy-path'?"
    ]
    with pytest.raises(ScenarioError) as caught:
        scenario_file(tmp_path / "gone.yaml")
    assert caught.value.problems == [f"no scenario '{tmp_path}/gone.yaml': not a file nor a shipped scenario ({NAMES})"]


@pytest.mark.parametrize(("name", "hint"), [("happypath", "happy-path"), ("lost-response", "lost-responses"), ("Default", "default")])
def test_a_misspelled_shipped_scenario_is_named(name: str, hint: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_file(name)
    assert caught.value.problems[0].endswith(f"nor a shipped scenario ({NAMES}); did you mean '{hint}'?")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenarios_are_valid_under_loader_and_schema(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    jsonschema.validate(yaml.safe_load(path.read_text()), SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_a_scenario_round_trips_through_its_data(path: Path) -> None:
    scenario = load_scenario(path)
    assert parse_scenario(scenario_data(scenario)) == scenario
    jsonschema.validate(scenario_data(scenario), SCHEMA, cls=jsonschema.Draft202012Validator)


BAD = {
    "unknown top-level key": ("version: 1\nfailur: {rate: 1}\n", "s.yaml:2:1: failur: unknown key; did you mean 'failure'?"),
    "wrong version": ("version: 2\n", "s.yaml:1:10: version: must be 1"),
    "rate out of range": ("failure:\n  rate: 1.5\n", "s.yaml:2:9: failure.rate: must be a number from 0 to 1, got 1.5"),
    "rate of wrong type": ("failure:\n  rate: high\n", "s.yaml:2:9: failure.rate: must be a number from 0 to 1, got 'high'"),
    "bad failure status": ("failure: {status: 200}\n", "s.yaml:1:19: failure.status: must be an integer from 400 to 599, got 200"),
    "reuse not a boolean": ("failure: {reuse_failed_payment_id: 3}\n", "failure.reuse_failed_payment_id: must be true or false"),
    "negative seed": ("seed: -1\n", "s.yaml:1:7: seed: must be an integer from 0"),
    "bad auth mode": ("auth: {mode: lax}\n", "s.yaml:1:14: auth.mode: must be one of 'strict', 'any-jwt', got 'lax'"),
    "bad latency": ("latency: {fixed_ms: -5}\n", "s.yaml:1:21: latency.fixed_ms: must be an integer from 0"),
    "unknown latency key": ("latency: {jitter: 5}\n", "s.yaml:1:11: latency.jitter: unknown key; did you mean 'jitter_ms'?"),
    "bad frozen_at": ("clock: {frozen_at: '2025-10-22 20:21'}\n", "s.yaml:1:20: clock.frozen_at: must be a local date-time"),
    "offset in frozen_at": ("clock: {frozen_at: '2025-10-22T20:21:00+09:00'}\n", "clock.frozen_at: must be a local date-time"),
    "bad github id": ("stores:\n  - githubId: 'al ice'\n", "s.yaml:2:15: stores[0].githubId: must be 1 to 100 ASCII letters"),
    "store without id": ("stores:\n  - secret: x\n", "s.yaml:2:5: stores[0].githubId: is required"),
    "journal too big": ("journal: {max_entries: 0}\n", "s.yaml:1:24: journal.max_entries: must be an integer from 1 to 1000000, got 0"),
    "payments not a list": ("payments: {owner: a}\n", "s.yaml:1:11: payments: must be a list, got a mapping"),
    "payment amount": (
        "payments:\n  - {owner: a, paymentId: p, storeId: s, orderName: o, totalPayAmount: 0, currency: KRW}\n",
        "s.yaml:2:72: payments[0].totalPayAmount: must be an integer from 1 to 2147483647, got 0",
    ),
    "payment currency": (
        "payments:\n  - {owner: a, paymentId: p, storeId: s, orderName: o, totalPayAmount: 1, currency: EUR}\n",
        "payments[0].currency: must be 'KRW' or 'USD', got 'EUR'",
    ),
    "payment missing fields": ("payments:\n  - {owner: a, paymentId: p}\n", "s.yaml:2:5: payments[0].storeId: is required"),
    "empty payment": ("payments:\n  - {}\n", "s.yaml:2:5: payments[0].currency: is required"),
    "payment bad status": (
        "payments:\n  - {owner: a, paymentId: p, storeId: s, orderName: o, totalPayAmount: 1, currency: KRW, status: REFUNDED}\n",
        "payments[0].status: must be one of 'PAID', 'CANCELLED', 'FAILED', got 'REFUNDED'",
    ),
    "failed payment with paidAt": (
        "payments:\n  - {owner: a, paymentId: p, storeId: s, orderName: o, totalPayAmount: 1, currency: KRW, status: FAILED, paidAt: '2025-10-22T20:21'}\n",
        "payments[0].paidAt: a FAILED payment has no paidAt",
    ),
    "payment id with slash": (
        "payments:\n  - {owner: a, paymentId: 'a/b', storeId: s, orderName: o, totalPayAmount: 1, currency: KRW}\n",
        "payments[0].paymentId: must not contain '/'",
    ),
    "rule with bad operation": ("rules:\n  - when: {operation: refund}\n    then: fail\n", "s.yaml:2:23: rules[0].when.operation: must be one of"),
    "rule with bad outcome": ("rules:\n  - then: explode\n", "s.yaml:2:11: rules[0].then: must be one of 'succeed'"),
    "rule with a misspelled outcome": (
        "rules:\n  - then: lost-response\n",
        "s.yaml:2:11: rules[0].then: must be one of 'succeed', 'fail', 'timeout', 'reset', 'lost_response', "
        "got 'lost-response'; did you mean 'lost_response'?",
    ),
    "misspelled auth mode": ("auth: {mode: any_jwt}\n", "auth.mode: must be one of 'strict', 'any-jwt', got 'any_jwt'; did you mean 'any-jwt'?"),
    "rule with two outcomes": ("rules:\n  - then: {delay_ms: 5, status: 500}\n", "s.yaml:2:11: rules[0].then: needs exactly one of"),
    "rule without then": ("rules:\n  - when: {operation: get}\n", "s.yaml:2:5: rules[0].then: is required"),
    "rule with zero times": ("rules:\n  - then: fail\n    times: 0\n", "s.yaml:3:12: rules[0].times: must be an integer from 1"),
    "rule with unknown condition": ("rules:\n  - when: {amount: 5}\n    then: fail\n", "rules[0].when.amount: unknown key; did you mean 'totalPayAmount'?"),
    "rule with empty range": ("rules:\n  - when: {totalPayAmount: {}}\n    then: fail\n", "rules[0].when.totalPayAmount: needs 'gte', 'lte' or both"),
    "rule with null bounds": ("rules:\n  - when: {totalPayAmount: {gte: null}}\n    then: fail\n",
                              "s.yaml:2:28: rules[0].when.totalPayAmount: needs 'gte', 'lte' or both"),
    "rule with bad status": ("rules:\n  - then: {status: 99}\n", "rules[0].then.status: must be an integer from 200 to 599"),
    "not a mapping": ("- 1\n- 2\n", "s.yaml:1:1: must be a mapping, got a list"),
    "name with a newline": ('name: "a\\nb"\n', "s.yaml:1:7: name: must be printable Unicode text"),
    "name too long": ("name: " + "n" * 101 + "\n", "s.yaml:1:7: name: must be at most 100 characters"),
    "when that is not a mapping": ("rules:\n  - {when: false, then: fail}\n", "rules[0].when: must be a mapping, got a boolean"),
    "section that is not a mapping": ("clock: 0\n", "s.yaml:1:8: clock: must be a mapping, got an integer"),
}


@pytest.mark.parametrize(("text", "expected"), BAD.values(), ids=BAD.keys())
def test_bad_scenarios_are_rejected_by_loader_and_schema(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in problem for problem in found), found
    assert not schema_accepts(text)


def test_an_empty_name_is_the_default_for_loader_and_schema() -> None:
    assert parse_scenario_text("name:\nseed: 1\n", "s.yaml", default_name="s").name == "s"
    assert schema_accepts("name:\nseed: 1\n")


LOADER_ONLY = {
    "version as a float": ("version: 1.0\n", "s.yaml:1:10: version: must be 1 (the only version so far), got 1.0"),
    "unknown time zone": ("clock: {timezone: Mars/Base}\n", "s.yaml:1:19: clock.timezone: unknown time zone 'Mars/Base'"),
    "duplicate key": ("failure: {rate: 0.5}\nfailure: {rate: 0.1}\n", "s.yaml:2:1: failure: duplicate key"),
    "duplicate payment": (
        "payments:\n"
        "  - {owner: a, paymentId: p, storeId: s, orderName: o, totalPayAmount: 1, currency: KRW}\n"
        "  - {owner: a, paymentId: p, storeId: s, orderName: o, totalPayAmount: 2, currency: KRW}\n",
        "s.yaml:3:27: payments[1].paymentId: 'p' is already seeded for owner 'a'",
    ),
    "secret declared twice": (
        "stores:\n  - {githubId: a, secret: s1}\n  - {githubId: b, secret: s1}\n",
        "stores[1].secret: the same secret is declared for 'a'",
    ),
    "unquoted numeric id": (
        "payments:\n  - {owner: a, paymentId: 20251022_0001, storeId: s, orderName: o, totalPayAmount: 1, currency: KRW}\n",
        "payments[0].paymentId: must be a non-empty string, got 202510220001; quote it",
    ),
}


@pytest.mark.parametrize(("text", "expected"), LOADER_ONLY.values(), ids=LOADER_ONLY.keys())
def test_problems_only_the_loader_can_see(text: str, expected: str) -> None:
    """What a JSON Schema cannot express (zones, duplicates, YAML typing) the loader still reports."""
    found = problems(text)
    assert any(expected in problem for problem in found), found


def test_every_problem_is_reported_at_once_in_source_order() -> None:
    found = problems("failure:\n  rate: 7\nseed: x\nauth: {mode: lax}\nbogus: 1\n")
    assert [p.split(": ")[0] for p in found] == ["s.yaml:2:9", "s.yaml:3:7", "s.yaml:4:14", "s.yaml:5:1"]


def test_yaml_syntax_error_has_a_position() -> None:
    assert problems("failure: [1\n") == ["s.yaml:2:1: expected ',' or ']', but got '<stream end>'"]


def test_empty_file_is_an_error() -> None:
    assert problems("") == ["s.yaml: the scenario is empty: write at least one of its keys, such as 'name: my-scenario'"]


def test_defaults_are_the_real_servers() -> None:
    scenario = parse_scenario_text("version: 1\n")
    assert (scenario.failure.rate, scenario.failure.status, scenario.failure.reuse_failed_payment_id) == (0.1, 500, True)
    assert scenario.clock.timezone == "Asia/Seoul" and scenario.section.auth.mode == "strict"
    assert scenario.journal_max_entries == 10_000


# -- command line ---------------------------------------------------------------------------

def test_validate_passes_the_shipped_scenarios() -> None:
    result = subprocess.run([*FAKEPAY, "validate", *map(str, SHIPPED)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == len(SHIPPED)


def test_validate_lists_every_problem_of_every_file_and_exits_2(tmp_path: Path) -> None:
    first = tmp_path / "first.yaml"
    first.write_text("failure:\n  rate: 7\nseed: x\n")
    second = tmp_path / "second.yaml"
    second.write_text("rules:\n  - then: explode\n")
    result = subprocess.run([*FAKEPAY, "validate", str(first), str(second)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{first}:2:9: failure.rate:")
    assert lines[1].startswith(f"{first}:3:7: seed:")
    assert lines[2].startswith(f"{second}:2:11: rules[0].then:")


def test_validate_takes_names_and_paths_and_a_missing_one_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("version: 1\n")
    result = subprocess.run([*FAKEPAY, "validate", "happy-path", "mine.yaml", "nope.yaml"], capture_output=True, text=True,
                            timeout=30, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == "happy-path: ok\nmine.yaml: ok\n"
    assert result.stderr == f"no scenario 'nope.yaml': not a file (relative to {tmp_path}) nor a shipped scenario ({NAMES})\n"


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["secret", "alice"]])
def test_a_missing_scenario_is_one_line_and_exit_2(tmp_path: Path, command: list[str]) -> None:
    result = subprocess.run([*FAKEPAY, *command, "--scenario", "scenarios/happy-path.yaml"], capture_output=True,
                            text=True, timeout=30, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"fakepay: --scenario: no scenario 'scenarios/happy-path.yaml': not a file (relative to {tmp_path}) "
        f"nor a shipped scenario ({NAMES}); did you mean 'happy-path'?\n"
    )


def test_serve_refuses_a_bad_scenario_and_starts_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("failure: {rate: 2}\n")
    result = subprocess.run([*FAKEPAY, "serve", "--port", "0", "--scenario", str(bad)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"{bad}:1:17: failure.rate: must be a number from 0 to 1, got 2\n"


def test_serve_and_secret_take_a_shipped_scenario_by_name(tmp_path: Path) -> None:
    from .support import serving

    with serving("--scenario", "lost-responses", cwd=tmp_path) as (_, banner):
        assert (banner.group(3), banner.group(4)) == ("lost-responses", "0")
    result = subprocess.run([*FAKEPAY, "secret", "alice", "--scenario", "any-jwt"], capture_output=True, text=True,
                            timeout=30, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")


def test_secret_uses_the_scenarios_signing_key(tmp_path: Path) -> None:
    from fakepay import issue_secret

    keyed = tmp_path / "keyed.yaml"
    keyed.write_text("auth: {signing_key: my-key}\n")
    result = subprocess.run([*FAKEPAY, "secret", "alice", "--scenario", str(keyed)], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == issue_secret("alice", "my-key")

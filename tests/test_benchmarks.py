"""benchmarks/run.py says what it measures while it measures (its figures are not tested here)."""

from __future__ import annotations

import collections
import contextlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def test_every_phase_is_announced_before_it_runs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUN)
    assert spec is not None and spec.loader is not None
    run: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    announced: list[str] = []

    def measured(phase: str, value: Any) -> Any:
        def stub(*args: Any, **kwargs: Any) -> Any:
            announced.extend(line for line in capsys.readouterr().err.splitlines())
            assert f"] {phase}" in announced[-1], (phase, announced)
            return value
        return stub

    monkeypatch.setattr(run.shutil, "which", lambda tool: "/usr/bin/" + tool)
    monkeypatch.setattr(run, "wrk", measured("throughput", 1.0))
    monkeypatch.setattr(run, "load", measured("throughput", (1.0, 1.0)))
    monkeypatch.setattr(run, "process", lambda *args: contextlib.nullcontext())
    monkeypatch.setattr(run, "prepare", lambda port: None)
    monkeypatch.setattr(run, "sandbox_header", measured("throughput", {}))
    monkeypatch.setattr(run, "in_process", measured("in process", collections.defaultdict(lambda: 1.0)))
    monkeypatch.setattr(run, "latency", measured("latency", (1.0, 2.0)))
    monkeypatch.setattr(run, "startups", measured("start-up", (0.3, 0.2)))
    monkeypatch.setattr(run, "pytest_suites", measured("pytest suites", (1.0, 1.0)))
    monkeypatch.setattr(run, "small_reset", measured("reset", 1e-5))
    monkeypatch.setattr(run, "million", measured("stored payments", collections.defaultdict(lambda: 1.0)))
    monkeypatch.setattr(run, "soak", measured("soak", (40.0, 41.0, 1000.0)))
    monkeypatch.setattr(sys, "argv", ["run.py", "--quick"])
    run.main()
    announced.extend(capsys.readouterr().err.splitlines())
    assert [line.split("] ")[1].split(":")[0] for line in announced] == list(run.PHASES)
    assert all(line.startswith(f"benchmarks: [{i}/{len(run.PHASES)}] ") for i, line in enumerate(announced, 1))

"""How fakepay is packaged and installed: what the wheel holds, what each extra installs, and how
CI installs them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import requires
from pathlib import Path

from packaging.requirements import Requirement

from .support import ROOT


def test_the_wheel_holds_every_file_of_scenarios(tmp_path: Path) -> None:
    """The wheel ``pip install .`` installs, built from a copy of the checkout: pyproject.toml maps
    the top-level scenarios/ into it as the package fakepay.scenarios."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--wheel-dir", str(tmp_path), str(source)], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("*.whl")
    folder = "fakepay/scenarios/"
    with zipfile.ZipFile(wheel) as archive:
        packaged = sorted(name.removeprefix(folder) for name in archive.namelist() if name.startswith(folder))
    assert packaged == sorted(path.name for path in (ROOT / "scenarios").iterdir() if path.is_file())


def test_fakepay_run_from_a_checkout_it_is_not_installed_from_finds_the_checkouts_scenarios(tmp_path: Path) -> None:
    """``python -m fakepay`` in a checkout's root after ``pip install .`` imports fakepay from the
    checkout, where no package fakepay.scenarios is beside it: the checkout's scenarios/ serves. (An
    editable install's finder would map it in, so the subprocess leaves that finder out.)"""
    checkout = tmp_path / "checkout"
    for folder in ("fakepay", "scenarios"):
        shutil.copytree(ROOT / folder, checkout / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (checkout / "scenarios" / "mine.yaml").write_text("version: 1\n")
    code = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if not f.__module__.startswith('__editable__')]; "
            "from fakepay.cli import main; sys.exit(main(['validate', 'mine', 'happy-path']))")
    result = subprocess.run([sys.executable, "-c", code], cwd=checkout, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "mine: ok\nhappy-path: ok\n", "")


def extra(name: str) -> set[str]:
    """The names of what ``pip install ".[name]"`` installs besides fakepay's own requirements."""
    found = {Requirement(line) for line in requires("fakepay") or []}
    return {r.name.lower() for r in found if r.marker is not None and r.marker.evaluate({"extra": name})}


def test_the_test_extra_holds_what_the_tests_need_and_the_dev_extra_the_linters() -> None:
    assert extra("dev") == {"ruff", "mypy", "types-pyyaml", "types-jsonschema"}
    assert {"pytest", "pytest-aiohttp", "pytest-xdist", "hypothesis", "schemathesis"} <= extra("test")
    assert not extra("test") & extra("dev")


def test_ci_installs_both_extras_once_then_runs_the_readmes_command() -> None:
    """The README's command finds everything installed: only fakepay itself is built again."""
    installs = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.startswith("pip ")]
    assert installs == ['pip install --quiet ".[test,dev]"', 'pip install ".[test]" && pytest -n 2']

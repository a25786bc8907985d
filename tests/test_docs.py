"""The README and docs/ hold together: every relative link and ``#anchor`` resolves, a file shown in a
page is shown as it is, what the code points to exists, and the pages name what the program has."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from fakepay import shipped_scenarios

from .test_readme import ROOT, blocks

PAGES = ["README.md", *sorted(f"docs/{page.name}" for page in (ROOT / "docs").glob("*.md"))]
#: Where the code, the examples and the tools may point to a page, as ``docs/api.md`` or ``docs/api.md, "Errors"``.
POINTING = [ROOT / "Dockerfile", ROOT / "pyproject.toml",
            *(path for folder in ("fakepay", "examples", "benchmarks", "tests", "tools") for path in sorted((ROOT / folder).rglob("*"))
              if path.is_file() and path.suffix in {".py", ".java", ".js", ".html", ".sh", ""} and path != Path(__file__))]
FENCE = re.compile(r"^```.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(page: str) -> str:
    """A page without its fenced blocks and inline code, where links and headings are."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", (ROOT / page).read_text()))


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: its text (links as their text, no code marks or emphasis),
    lowercase, punctuation dropped, each space a '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


@cache
def headings(page: str) -> dict[str, str]:
    """A page's headings by their anchors; a heading repeated gets -1, -2, ... as on GitHub."""
    found: dict[str, str] = {}
    for line in FENCE.sub("", (ROOT / page).read_text()).splitlines():
        heading = re.match(r"#{1,6}\s+(.+?)\s*#*\s*$", line)
        if heading:
            slug = base = anchor(heading.group(1))
            repeats = 0
            while slug in found:
                repeats += 1
                slug = f"{base}-{repeats}"
            found[slug] = heading.group(1)
    return found


def test_the_anchor_rules_are_githubs() -> None:
    assert anchor("The API, with curl") == "the-api-with-curl"
    assert anchor("The event stream's cost") == "the-event-streams-cost"
    assert anchor("In process: `fakepay_app`") == "in-process-fakepay_app"
    assert anchor("JUnit 5 / Spring Boot") == "junit-5--spring-boot"


@pytest.mark.parametrize("page", PAGES)
def test_every_relative_link_and_anchor_resolves(page: str) -> None:
    broken = []
    for target in LINK.findall(prose(page)):
        if re.match(r"[a-z]+:", target):
            continue  # another site
        path, _, fragment = target.partition("#")
        linked = (ROOT / page).parent / path if path else ROOT / page
        if not linked.resolve().is_relative_to(ROOT) or not linked.exists():
            broken.append(f"{target}: no such file")
        elif fragment and fragment not in headings(str(linked.resolve().relative_to(ROOT))):
            broken.append(f"{target}: no such heading")
    assert not broken, f"{page}: {broken}"


def test_every_page_is_linked_from_the_readme() -> None:
    linked = {target.partition("#")[0] for target in LINK.findall(prose("README.md"))}
    assert set(PAGES[1:]) <= linked


@pytest.mark.parametrize("page", PAGES)
def test_a_file_shown_in_a_page_is_shown_as_it_is(page: str) -> None:
    """A block right after a line that ends with a link to a file and a colon is that file, whole."""
    shown = re.findall(r"\]\(([^)#\s]+)\):\n\n```\w*\n(.*?)^```", (ROOT / page).read_text(), re.MULTILINE | re.DOTALL)
    for path, text in shown:
        assert text == ((ROOT / page).parent / path).read_text(), f"{page} shows {path} otherwise than it is"
    if page in ("README.md", "docs/pytest.md"):
        assert shown, f"{page} shows an example file"


def test_what_the_code_points_to_exists() -> None:
    """``docs/page.md`` and ``docs/page.md, "Heading"``, and no heading of the README that is not there."""
    broken = []
    for path in POINTING:
        text = path.read_text(errors="replace")
        where = path.relative_to(ROOT)
        for page, heading in re.findall(r"\b(docs/[\w-]+\.md)(?:,\s+\"([^\"]+)\")?", text):
            if not (ROOT / page).exists():
                broken.append(f"{where}: {page}")
            elif heading and anchor(re.sub(r"\s+", " ", heading)) not in headings(page):
                broken.append(f"{where}: {page}, {heading!r}")
        for heading in re.findall(r"README(?:'s)?[:,]?\s+\"([^\"]+)\"", text):
            if anchor(re.sub(r"\s+", " ", heading)) not in headings("README.md"):
                broken.append(f"{where}: README, {heading!r}")
    assert not broken


@pytest.mark.parametrize("page", PAGES)
def test_every_file_a_page_names_exists(page: str) -> None:
    """A path of the repository named in a page (``fakepay/core/instance.py``, ``scenarios/``) is there."""
    named = re.findall(r"`((?:fakepay|scenarios|tests|examples|benchmarks|tools|docs)/[\w./-]*)`", (ROOT / page).read_text())
    assert [path for path in named if not (ROOT / path).exists()] == []


def test_the_command_lines_synopsis_is_the_programs() -> None:
    (synopsis,) = blocks("", "fakepay serve", "docs/command-line.md")
    for line in re.sub(r"\n\s+\[", " [", synopsis).splitlines():
        command = re.match(r"fakepay(?: (\w+))?", line).group(1)  # type: ignore[union-attr]
        usage = subprocess.run([sys.executable, "-m", "fakepay", *([command] if command else []), "--help"],
                               capture_output=True, text=True, timeout=30).stdout.split("\n\n")[0]
        assert set(re.findall(r"--[\w-]+", line)) <= set(re.findall(r"--[\w-]+", usage)), line


def test_the_environment_variables_are_the_ones_serve_reads() -> None:
    serve = subprocess.run([sys.executable, "-m", "fakepay", "serve", "--help"], capture_output=True, text=True, timeout=30)
    section = (ROOT / "docs" / "command-line.md").read_text().split("## The environment\n\n")[1]
    documented = set(re.findall(r"FAKEPAY_\w+", section.split("\n\n")[0]))
    assert documented == set(re.findall(r"FAKEPAY_\w+", serve.stdout))


def test_the_shipped_scenarios_are_named_where_they_are_listed() -> None:
    table = re.findall(r"^\| `([\w-]+)` \|", (ROOT / "docs" / "scenarios.md").read_text(), re.MULTILINE)
    readme = re.search(r"takes their names: (.*?)\.\n", (ROOT / "README.md").read_text(), re.DOTALL)
    assert readme, "the README lists the shipped scenarios"
    assert sorted(table) == sorted(re.findall(r"`([\w-]+)`", readme.group(1))) == sorted(shipped_scenarios())

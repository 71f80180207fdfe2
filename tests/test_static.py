"""ruff and mypy find nothing, with the rule set and settings written in pyproject.toml.

Run by the README's test command, so CI holds the line: a finding fails the
suite with the checker's own report.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tools import typecheck

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing_in_the_checkout() -> None:
    # What it looks at: every folder with Python in it (a typo in pyproject could empty this).
    listed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--show-files", "."],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    for folder in ("protocol", "server", "client", "inspector", "socketlab", "bench", "tests",
                   "tools"):
        assert f"{ROOT / folder}{os.sep}" in listed, f"ruff does not look at {folder}/"
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, f"ruff check found problems:\n{done.stdout}{done.stderr}"


def test_mypy_finds_nothing_in_the_installed_packages() -> None:
    code, report = typecheck.run([])
    assert code == 0, f"mypy found problems:\n{report}"
    checked = re.search(r"Success: no issues found in (\d+) source files", report)
    assert checked, report
    # Every module of every package was read, not a tree that came out empty.
    modules = sum(
        len(list((ROOT / folder).glob("*.py"))) for folder in typecheck.package_dirs().values()
    )
    assert int(checked.group(1)) == modules, report

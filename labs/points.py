"""What each check of a lab is worth: ``lab.toml``'s ``[points]``, one a check by default.

::

    [points]
    test_big_message_comes_back_whole = 2     # one check, by its name
    "test_stream.py" = 3                      # each check of that file

The checks are listed from their files without running them (a check is a
top-level ``def test_…`` in ``checks/test_*.py``), in the order a run meets
them: ``check_order``'s files first, then the others by name. A key that
names no check is an error, so a renamed check cannot silently lose its points.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .catalog import Lab, LabError


@dataclass(frozen=True)
class Check:
    id: str  # pytest's id under checks/: "test_echo.py::test_big_message_comes_back_whole"
    file: str
    name: str
    title: str  # the sentence a student reads: the docstring's first line
    points: float
    given: bool  # checks code the starter already has


def _defined(path: Path) -> list[tuple[str, str, bool]]:
    """The checks a file defines: (name, title, given), top to bottom."""
    tree = ast.parse(path.read_bytes(), str(path))
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test_"):
            doc = (ast.get_docstring(node) or "").strip()
            title = doc.splitlines()[0] if doc else node.name.removeprefix("test_").replace(
                "_", " ")
            given = any("given" in ast.unparse(decorator) for decorator in node.decorator_list)
            found.append((node.name, title, given))
    return found


def check_files(lab: Lab) -> list[Path]:
    """The lab's check files in the order a run takes them (``plugin.py`` sorts the same way)."""
    files = sorted(lab.checks.glob("test_*.py"))
    order = list(lab.check_order)
    return sorted(files, key=lambda p: order.index(p.name) if p.name in order else len(order))


def lab_checks(lab: Lab) -> list[Check]:
    """Every check of ``lab`` with its points, in the order a run meets them."""
    config = tomllib.loads((lab.path / "lab.toml").read_text(encoding="utf-8"))
    table = config.get("points", {})
    listed = [(path.name, *found) for path in check_files(lab) for found in _defined(path)]
    known = {name for _, name, _, _ in listed} | {file for file, *_ in listed}
    known |= {f"{file}::{name}" for file, name, _, _ in listed}
    for key, value in table.items():
        if key not in known:
            raise LabError(f"lab {lab.number}: lab.toml gives points to {key!r}, "
                           "which is no check and no check file of this lab")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise LabError(f"lab {lab.number}: lab.toml gives {key!r} {value!r} points "
                           "(write a number, 0 or more)")
    checks = []
    for file, name, title, given in listed:
        worth = table.get(f"{file}::{name}", table.get(name, table.get(file, 1)))
        checks.append(Check(f"{file}::{name}", file, name, title, float(worth), given))
    return checks


def total(checks: list[Check]) -> float:
    return sum(check.points for check in checks)


def shown(points: float) -> str:
    """``2`` for 2.0, ``1.5`` for 1.5."""
    return f"{points:g}"

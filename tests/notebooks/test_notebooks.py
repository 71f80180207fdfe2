"""Every notebook runs top to bottom in a fresh kernel, within its minute, nothing skipped.

The notebooks assert their own lessons in their cells (the decrypted text
equals what was sent, a replayed frame is refused, ...), so a notebook that
executes is one whose lessons still hold. The executed copies land in
build/notebooks/, where the docs build (tests/test_docs_site.py, later in the
suite) takes them from instead of running the notebooks again.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import jupytext
import pytest

from notebooks import execute
from tests.ci_rules import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
SOURCES = execute.sources()
TOPICS = ["bytes-on-the-wire", "encryption-you-can-see", "threads-at-work",
          "reading-a-capture", "attacks", "how-fast"]
LIMIT = 60.0  # seconds per notebook, on two cores


def test_the_six_notebooks_are_there_in_order() -> None:
    assert [p.stem for p in SOURCES] == [f"{i:02d}-{t}" for i, t in enumerate(TOPICS, 1)]


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_notebook_runs_within_its_minute(
        source: Path, run_notebook: Callable[[Path], execute.Executed]) -> None:
    done = run_notebook(source)  # a failing cell raises CellExecutionError with its traceback
    assert done.seconds <= LIMIT, f"{source.name} took {done.seconds:.1f} s"
    nb = jupytext.read(done.notebook)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code), "a cell did not run"
    assert sum("assert " in cell.source for cell in code) >= 3, "a notebook checks its lessons"
    images = [o for cell in code for o in cell.outputs if "image/png" in o.get("data", {})]
    if "display(" in source.read_text(encoding="utf-8"):
        # An inherited MPLBACKEND=Agg, or a figure never displayed, loses them silently.
        assert images, f"{source.name} draws charts but none reached the notebook"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_source_is_in_jupytext_canonical_form(source: Path) -> None:
    # Saved from Jupyter (jupytext) the cells come back byte for byte, so diffs stay
    # clean; only the header may differ (jupytext stamps its own version there).
    text = source.read_text(encoding="utf-8")
    again = jupytext.writes(jupytext.reads(text, fmt="py:percent"), fmt="py:percent")
    assert _cells(again) == _cells(text)


def _cells(text: str) -> str:
    assert text.startswith("# ---\n"), "the jupytext header comes first"
    return text.split("\n# ---\n", 1)[1]


def test_no_notebook_with_outputs_is_committed() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        skip_or_fail("needs git and a git checkout")
    tracked = subprocess.run(["git", "ls-files", "notebooks"], cwd=ROOT, capture_output=True,
                             text=True, check=True, timeout=30).stdout.split()
    assert not [p for p in tracked if p.endswith(".ipynb")], "commit the .py source only"

"""Runs each notebook once per session and reports how long each took."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from notebooks import execute

_TIMES: dict[str, float] = {}


@pytest.fixture(scope="session")
def run_notebook() -> Callable[[Path], execute.Executed]:
    """Execute a notebook into build/notebooks/ (where the docs take it from), once."""
    done: dict[Path, execute.Executed] = {}

    def run(source: Path) -> execute.Executed:
        if source not in done:
            done[source] = execute.execute(source)
            _TIMES[source.stem] = done[source].seconds
        return done[source]

    return run


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _TIMES:
        terminalreporter.section("notebooks: time to execute")
        for name, seconds in sorted(_TIMES.items()):
            terminalreporter.write_line(f"{name:<32} {seconds:5.1f} s")

"""The pytest plugin inside a check run: order, time limits, and a report for the runner.

The runner (``checking.py``) starts pytest in a child process with this plugin
and reads back one JSON line per event from ``$SOCKETLAB_LAB_REPORT``:
``{"event": "start", "id": …}`` when a check begins and ``{"event": "end", …}``
with its outcome and the sentence to show. A check that outlives its time
limit makes ``faulthandler`` dump every thread's stack into
``$SOCKETLAB_LAB_STACKS`` and end the process; the runner then knows which
check hung (a start without an end) and where the student's code was stuck.
"""

from __future__ import annotations

import faulthandler
import json
import os
import traceback
from collections.abc import Generator
from pathlib import Path
from typing import IO, Any

import pytest

from . import harness
from .harness import _

_report: IO[str] | None = None
_stacks: IO[str] | None = None


def _write(record: dict[str, Any]) -> None:
    if _report is not None:
        # The pid tells the runner this line is no forked copy's (isolation.py).
        _report.write(json.dumps({**record, "pid": os.getpid()}) + "\n")
        _report.flush()


def pytest_configure(config: pytest.Config) -> None:
    global _report, _stacks  # noqa: PLW0603 - a plugin module's state: one run per process
    report = os.environ.get("SOCKETLAB_LAB_REPORT")
    if report:
        _report = open(report, "a", encoding="utf-8")  # noqa: SIM115 (open for the whole run)
    stacks = os.environ.get("SOCKETLAB_LAB_STACKS")
    if stacks:
        _stacks = open(stacks, "w", encoding="utf-8")  # noqa: SIM115
    config.addinivalue_line(
        "markers", "given: checks code the starter already has (may pass there)"
    )
    harness.install()
    harness.use_lab(Path(str(config.rootpath)).parent)  # --rootdir is the lab's checks/


def pytest_unconfigure(config: pytest.Config) -> None:
    for handle in (_report, _stacks):
        if handle is not None:
            handle.close()


def pytest_collection_finish(session: pytest.Session) -> None:
    _write({"event": "collected", "count": len(session.items)})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the check files in the lab's order (lab.toml), each file top to bottom."""
    order = [name for name in os.environ.get("SOCKETLAB_LAB_ORDER", "").split(",") if name]

    def rank(item: pytest.Item) -> int:
        name = Path(str(item.path)).name
        return order.index(name) if name in order else len(order)

    items.sort(key=rank)  # stable: keeps definition order within a file


def sentence(item: pytest.Item) -> str:
    """What the check checks, in the student's words (and language): its docstring's
    first line."""
    doc: str | None = getattr(getattr(item, "function", None), "__doc__", None)
    if doc and doc.strip():
        return harness._(doc.strip().splitlines()[0])
    return item.name.removeprefix("test_").replace("_", " ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    _write({"event": "start", "id": item.nodeid, "file": Path(str(item.path)).name,
            "name": item.name, "sentence": sentence(item),
            "given": item.get_closest_marker("given") is not None})
    harness.begin_check(item.nodeid)
    limit = float(os.environ.get("SOCKETLAB_LAB_TIMEOUT", "10"))
    if _stacks is not None:
        faulthandler.dump_traceback_later(limit, exit=True, file=_stacks)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def _hint(excinfo: pytest.ExceptionInfo[BaseException]) -> tuple[str, str | None]:
    """The message a student can act on, and where in their code it happened."""
    error = excinfo.value
    if isinstance(error, AssertionError):
        text = str(error.args[0]) if error.args else _("a check failed")
        return text.split("\nassert ")[0].strip(), None
    if isinstance(error, pytest.fail.Exception):
        return str(error), None
    where = harness.student_location(excinfo.tb)
    return harness.describe(error), where


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and not report.passed):
        record: dict[str, Any] = {"event": "end", "id": item.nodeid, "outcome": report.outcome,
                                  "when": report.when, "seconds": round(report.duration, 3)}
        if call.excinfo is not None and not report.skipped:
            record["message"], record["where"] = _hint(call.excinfo)
            record["traceback"] = "".join(
                traceback.format_exception(call.excinfo.value))
            thread_error = harness.first_thread_exception()
            if thread_error:
                record["thread_error"] = thread_error
        elif report.skipped and call.excinfo is not None:
            record["message"] = str(call.excinfo.value)
        _write(record)

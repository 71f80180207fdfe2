"""The pytest plugin that watches what a student's code does to the check process itself.

It runs beside ``plugin.py`` and appends to the same report (``isolation.py``
explains the file), each line with the ``pid`` that wrote it:

- ``forked``: written by a copy that ``os.fork()`` made, with where it forked;
- ``exit``: ``os._exit()`` is ending the process, with the status and where;
- ``finished``: the session's end, with the non-daemon threads still running
  after a short wait (they keep the process from exiting): how many, their
  most common names with counts, and where in the student's code they wait.

Lines are written with ``os.write`` on a file opened for appending: no lock
is taken, so a copy forked while another thread writes cannot deadlock.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from typing import Any, NoReturn

import pytest

from . import harness

THREAD_WAIT = 1.0  # seconds the session's end gives non-daemon threads to finish
NAMES_KEPT = 5  # thread names and places reported at most

_fd: int | None = None
_check: str | None = None  # the node id of the check now running
_real_exit = os._exit


def _write(record: dict[str, Any]) -> None:
    if _fd is not None:
        line = json.dumps({**record, "pid": os.getpid()}) + "\n"
        os.write(_fd, line.encode("utf-8"))


def _here() -> str | None:
    """Where in the student's code the caller of the caller is."""
    return harness.student_location_of_frame(sys._getframe(2))


def _forked() -> None:
    _write({"event": "forked", "parent": os.getppid(), "check": _check, "where": _here()})


def _exit(status: int) -> NoReturn:
    _write({"event": "exit", "code": status, "check": _check, "where": _here()})
    _real_exit(status)


def pytest_configure(config: pytest.Config) -> None:
    global _fd  # noqa: PLW0603 - a plugin module's state: one run per process
    report = os.environ.get("SOCKETLAB_LAB_REPORT")
    if report:
        _fd = os.open(report, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    if hasattr(os, "register_at_fork"):  # not on Windows, which cannot fork
        os.register_at_fork(after_in_child=_forked)
    os._exit = _exit


def pytest_runtest_logstart(nodeid: str) -> None:
    global _check  # noqa: PLW0603
    _check = nodeid


def pytest_runtest_logfinish() -> None:
    global _check  # noqa: PLW0603
    _check = None


def pytest_sessionfinish() -> None:
    deadline = time.monotonic() + THREAD_WAIT
    running = []
    for thread in threading.enumerate():
        if thread.daemon or thread is threading.main_thread():
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            running.append(thread)
    frames = sys._current_frames()
    places = [harness.student_location_of_frame(frames.get(thread.ident or -1))
              for thread in running]
    _write({"event": "finished", "threads": len(running),
            "names": Counter(thread.name for thread in running).most_common(NAMES_KEPT),
            "places": [place for place in dict.fromkeys(places) if place][:NAMES_KEPT]})

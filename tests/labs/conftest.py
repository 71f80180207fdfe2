"""The labs' meta-tests run students' Tk code (lab 05): give them a display.

A lab whose ``lab.toml`` says ``needs_display = true`` opens real Tk windows
in its checks. Its check runs (child processes) find the display in
``$DISPLAY``: the desktop's when there is one, else (on X11 systems) the
session's private Xvfb (``display`` in tests/conftest.py). Without either,
that lab's meta-tests skip on a laptop and fail under CI; the other labs'
tests run regardless.
"""

from __future__ import annotations

import os
import sys

import pytest

from socketlab.labs.catalog import Lab, all_labs

X11 = os.name == "posix" and sys.platform != "darwin"  # Windows and macOS always have a display


@pytest.fixture(scope="session")
def lab_display(request: pytest.FixtureRequest) -> str | None:
    """The X display the check runs get (in ``$DISPLAY``); None where none can be had."""
    if os.environ.get("DISPLAY") or not X11:
        return os.environ.get("DISPLAY")
    if not any(lab.needs_display for lab in all_labs()):
        return None
    try:
        display: str = request.getfixturevalue("display")  # sets $DISPLAY for the session
    except (pytest.skip.Exception, pytest.fail.Exception):
        return None  # each test of a lab that needs one says why (needs_display)
    return display


@pytest.fixture(autouse=True)
def needs_display(request: pytest.FixtureRequest, lab_display: str | None,
                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A test of a lab that opens windows gets the display, or skips (fails under CI) saying why."""
    callspec = getattr(request.node, "callspec", None)
    lab = callspec.params.get("lab") if callspec else None
    if not isinstance(lab, Lab) or not lab.needs_display:
        return
    if X11 and lab_display is None:
        request.getfixturevalue("display")  # raises its own skip (or CI failure) with the reason
    if lab_display:
        monkeypatch.setenv("DISPLAY", lab_display)

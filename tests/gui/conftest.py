"""A real Tk window on a private Xvfb display, a real server, and helpers to drive them.

The display is started here, once per session. Without Xvfb (or if no
display can be had) the GUI tests skip on a laptop, but fail under CI=true:
CI must run them.
"""

from __future__ import annotations

import gc
import os
import tkinter as tk
from collections.abc import Iterator

import pytest

from client.gui_xvfb import Xvfb, XvfbUnavailable


def _no_display(reason: str) -> None:
    # Same rule as tests/conftest.py's skip_or_fail: a laptop may skip, CI may not.
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"GUI tests must run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    xvfb = Xvfb("1280x800x24")
    try:
        name = xvfb.start()
    except XvfbUnavailable as exc:
        _no_display(str(exc))
    try:
        yield name
    finally:
        xvfb.stop()


@pytest.fixture
def root(display: str) -> Iterator[tk.Tk]:
    try:
        window = tk.Tk()
    except tk.TclError as exc:
        _no_display(f"no Tk window on {display}: {exc}")
    yield window
    try:
        window.destroy()
    except tk.TclError:
        pass  # the app already destroyed it
    del window
    # Widgets form reference cycles. Collected later by whichever thread the GC
    # happens to run in (a server thread), the Tcl interpreter would be deleted
    # from the wrong thread, and Tcl aborts the process. Collect them here.
    gc.collect()



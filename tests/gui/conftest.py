"""A real Tk window on a private Xvfb display, a real server, and helpers to drive them.

The display is started here, once per session. Without Xvfb (or if no
display can be had) the GUI tests skip on a laptop, but fail under CI=true:
CI must run them.
"""

from __future__ import annotations

import gc
import tkinter as tk
from collections.abc import Iterator

import pytest

from tests.ci_rules import skip_or_fail
from tools.xvfb import Xvfb, XvfbUnavailable


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    xvfb = Xvfb("1280x800x24")
    try:
        name = xvfb.start()
    except XvfbUnavailable as exc:
        skip_or_fail(str(exc))
    try:
        yield name
    finally:
        xvfb.stop()


@pytest.fixture
def root(display: str) -> Iterator[tk.Tk]:
    try:
        window = tk.Tk()
    except tk.TclError as exc:
        skip_or_fail(f"no Tk window on {display}: {exc}")
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



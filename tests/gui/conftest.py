"""A real Tk window on the session's private Xvfb display (``display``, in
tests/conftest.py), a real server, and helpers to drive them.

Without Xvfb (or if no display can be had) the GUI tests skip on a laptop,
but fail under CI=true: CI must run them.
"""

from __future__ import annotations

import gc
import tkinter as tk
from collections.abc import Iterator

import pytest

from tests.ci_rules import skip_or_fail


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



"""What to say when this Python has no tkinter: the window client and lab 05 need it,
and "No module named 'tkinter'" does not tell a student what to install."""

from __future__ import annotations

TK_MISSING = (
    "this Python has no tkinter, which the window needs: on Debian/Ubuntu install python3-tk "
    "(sudo apt install python3-tk); on Windows run the python.org installer again, "
    "choose Modify and tick 'tcl/tk and IDLE'; on macOS with Homebrew: brew install python-tk"
)

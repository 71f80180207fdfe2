"""The labs' meta-tests run students' Tk code (lab 05): give them a display."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def lab_display() -> str | None:
    """An X display for the check runs (the session's Xvfb under Linux, else the desktop)."""
    display = os.environ.get("DISPLAY")
    if display:
        os.environ.setdefault("DISPLAY", display)
    return display


@pytest.fixture
def needs_display(lab_display: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if lab_display:
        monkeypatch.setenv("DISPLAY", lab_display)

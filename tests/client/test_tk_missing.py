"""A Python without tkinter (Debian without python3-tk, a Windows install without
Tcl/Tk): the window client and lab 05 say what to install, in one line, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def without_tkinter(tmp_path: Path, home: Path) -> dict[str, str]:
    """An environment whose Python finds no tkinter (a module of that name first on
    the path that fails to import, as the real one does where it is not installed)."""
    shadow = tmp_path / "no-tk"
    shadow.mkdir()
    (shadow / "tkinter.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'tkinter'\", name='tkinter')\n"
    )
    return {**os.environ, "PYTHONPATH": str(shadow), "SOCKETLAB_HOME": str(home)}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "socketlab", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def says_what_to_install(text: str) -> None:
    assert "Traceback" not in text
    assert "sudo apt install python3-tk" in text
    assert "tick 'tcl/tk and IDLE'" in text


def test_the_window_client_says_what_to_install(without_tkinter: dict[str, str]) -> None:
    done = run(without_tkinter, "client", "--name", "alice", "--port", "9")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    says_what_to_install(lines[0])
    assert "--tui" in lines[0]


def test_lab_05_says_what_to_install(without_tkinter: dict[str, str]) -> None:
    done = run(without_tkinter, "lab", "check", "05", "--solution")
    assert done.returncode != 0
    says_what_to_install(done.stdout + done.stderr)

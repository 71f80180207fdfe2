"""``socketlab client --name NAME`` end to end: a real process, a real keyboard (xdotool)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from socketlab.protocol import Joined, Left, Message
from socketlab.server.app import ChatServer
from tests.gui.gui_helpers import headless, next_event

REPO = Path(__file__).resolve().parents[2]


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=15)


@pytest.mark.needs_tool("xdotool")
def test_name_option_connects_at_once_and_the_keyboard_alone_chats_and_quits(
    display: str, server: ChatServer
) -> None:
    host, port = server.address
    bob = headless(server, "bob")
    window = subprocess.Popen(
        [
            sys.executable, "-m", "socketlab", "client",
            "--name", "alice", "--host", host, "--port", str(port),
        ],
        cwd=REPO,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        next_event(bob, lambda e: isinstance(e, Joined) and e.name == "alice", "alice", timeout=15)
        # Focus starts in the entry: typing needs no click.
        xdotool("search", "--sync", "--name", "^socketlab chat: alice", "windowfocus", "--sync")
        xdotool("type", "--delay", "2", "typed, not clicked")
        xdotool("key", "Return")
        said = next_event(bob, lambda e: isinstance(e, Message), "alice's message")
        assert (said.sender, said.text) == ("alice", "typed, not clicked")
        xdotool("type", "--delay", "2", "/quit")
        xdotool("key", "Return")
        left = next_event(bob, lambda e: isinstance(e, Left), "alice leaving")
        assert left.reason == "quit"
        _out, err = window.communicate(timeout=15)
        assert window.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if window.poll() is None:
            window.kill()
            window.communicate()
        bob.close()

"""The window against a server older than end-to-end whispers (lab 09's): logged in
after the client's fallback, one log line says so, and whispers are marked
transport-encrypted only."""

from __future__ import annotations

import tkinter as tk
from pathlib import Path

import pytest

from socketlab.client.chat_client import ChatClient
from socketlab.client.gui import ChatApp, Settings
from socketlab.client.gui_styles import ERROR, LOCK, WHISPER_OUT
from socketlab.protocol import Message
from tests.client.conftest import serving_lab, wait_for
from tests.gui.gui_helpers import pump


def test_the_window_says_the_server_has_no_e2e_and_marks_whispers(
    root: tk.Tk, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with serving_lab("09-slow-clients", monkeypatch) as (host, port):
        bob = ChatClient(host, port, timeout=5.0)
        bob.connect()
        bob.login("bob")
        app = ChatApp(
            root,
            Settings(host=host, port=port, name="alice", timeout=5.0, home=tmp_path / "alice"),
            connect_now=True,
        )
        try:
            pump(root, lambda: app.client is not None, "alice to log in")
            note = (
                f"! the server {host}:{port} does not know end-to-end whispers (bad_message): "
                "whispers are transport-encrypted only (the server can read them)"
            )
            pump(
                root,
                lambda: any(line.endswith(note) for line in app.window.log_lines(ERROR)),
                "the note that the server has no end-to-end whispers",
            )
            status = app.window.status_text()
            assert "end-to-end whispers off: the server can read your whispers" in status
            assert not any("whispers are end-to-end" in line for line in app.window.log_lines())
            app.send_line("/w bob psst")
            got = wait_for(bob, lambda e: isinstance(e, Message) and e.text == "psst")
            assert (got.sender, got.to) == ("alice", "bob")
            pump(root, lambda: app.window.log_lines(WHISPER_OUT), "alice's own copy")
            [copy] = app.window.log_lines(WHISPER_OUT)
            assert copy.endswith(
                "[whisper to bob · transport-encrypted only: the server can read it] psst"
            )
            assert copy not in app.window.icon_lines(LOCK)
        finally:
            bob.close()
            app.close()

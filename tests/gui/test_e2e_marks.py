"""How the window marks whispers: end to end (padlock), transport-only, and a changed
identity (a warning window with both fingerprints); /fingerprint shows our key."""

from __future__ import annotations

import tkinter as tk
from pathlib import Path

from socketlab.client.chat_client import ChatClient
from socketlab.client.gui_styles import E2E_IN, E2E_OUT, E2E_WARN, ERROR, LOCK, SYSTEM, WHISPER_IN
from socketlab.protocol import PinStore
from socketlab.server.app import ChatServer
from tests.gui.gui_helpers import pump, start_app


def e2e_peer(server: ChatServer, name: str, home: Path, *, e2e: bool = True) -> ChatClient:
    client = ChatClient(*server.address, pins=PinStore(), timeout=5.0, e2e=e2e, home=home)
    client.connect()
    client.login(name)
    return client


def test_whispers_are_marked_by_what_the_client_could_check(
    root: tk.Tk, server: ChatServer, tmp_path: Path
) -> None:
    app = start_app(root, server, "alice", home=tmp_path / "alice")
    bob = e2e_peer(server, "bob", tmp_path / "bob")
    olly = e2e_peer(server, "olly", tmp_path / "olly", e2e=False)
    try:
        assert app.client is not None
        own = app.client.user_fingerprint
        assert own is not None and f"your key {own}" in app.window.status_text()
        bob.whisper("alice", "sealed for alice")
        pump(root, lambda: app.window.log_lines(E2E_IN), "bob's end-to-end whisper")
        [line] = app.window.log_lines(E2E_IN)
        assert line.endswith("[end-to-end from bob · new contact, key pinned now] sealed for alice")
        assert app.window.icon_lines(LOCK) == [line]
        # The new contact's fingerprint is shown, to compare with bob out of band.
        assert any(str(bob.user_fingerprint) in text for text in app.window.log_lines(SYSTEM))
        assert f"bob {bob.user_fingerprint}" in app.window.status_text()
        app.send_line("/w bob and back")
        pump(root, lambda: app.window.log_lines(E2E_OUT), "alice's own copy")
        assert app.window.log_lines(E2E_OUT)[0].endswith("[end-to-end to bob] and back")
        olly.whisper("alice", "from an old client")
        pump(root, lambda: app.window.log_lines(WHISPER_IN), "olly's plain whisper")
        [plain] = app.window.log_lines(WHISPER_IN)
        assert "transport-encrypted only: the server can read it" in plain
        assert plain not in app.window.icon_lines(LOCK)
        app.send_line("/fingerprint")
        pump(root, lambda: any(own in t for t in app.window.log_lines()[-1:]), "/fingerprint")
        assert app.window.log_lines()[-1].endswith(
            f"* your end-to-end key: {own} (read it to the people you whisper with)"
        )
    finally:
        bob.close()
        olly.close()
        app.close()


def test_a_changed_identity_opens_a_warning_with_both_fingerprints(
    root: tk.Tk, server: ChatServer, tmp_path: Path
) -> None:
    app = start_app(root, server, "alice", home=tmp_path / "alice")
    bob = e2e_peer(server, "bob", tmp_path / "bob")
    try:
        bob.whisper("alice", "the real bob")
        pump(root, lambda: app.window.log_lines(E2E_IN), "the real bob's whisper")
        pinned = bob.user_fingerprint
        bob.close()
        pump(root, lambda: app.window.user_names() == ["alice"], "bob leaving")
        bob = e2e_peer(server, "bob", tmp_path / "another-bob")
        bob.whisper("alice", "trust me, I am bob")
        pump(root, lambda: app.warning is not None, "the warning window")
        assert app.warning is not None
        assert app.warning.title() == "bob's identity changed"
        assert app.warning.fingerprints == {"pinned": pinned, "offered": bob.user_fingerprint}
        pump(root, lambda: app.window.log_lines(E2E_WARN), "the whisper marked NOT verified")
        [line] = app.window.log_lines(E2E_WARN)
        assert line.endswith("⚠ [from bob · IDENTITY CHANGED, NOT verified] trust me, I am bob")
        assert line not in app.window.icon_lines(LOCK)
        assert "NOT verified" in app.window.status_text()
        app.warning.close()
        app.send_line("/w bob are you?")
        assert app.window.log_lines(ERROR)[-1].endswith(
            f"! WARNING: bob's identity changed (pinned {pinned}, offered "
            f"{bob.user_fingerprint}); their whispers are NOT verified"
        )
        app.send_line("/w bob are you?")
        refusal = "! whisper to bob not sent (identity_changed)"
        pump(root, lambda: refusal in app.window.log_lines(ERROR)[-1], "the refusal to send")
    finally:
        bob.close()
        app.close()

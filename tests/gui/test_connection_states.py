"""The connect dialog, a server that goes away, and a server whose identity changed."""

from __future__ import annotations

import socket
import tkinter as tk
from collections.abc import Iterator

import pytest
from nacl.signing import SigningKey

from socketlab.client.gui import ChatApp, Settings
from socketlab.client.gui_dialog import HOST, NAME, PORT
from socketlab.client.gui_styles import CIPHER, PLAINTEXT
from socketlab.protocol import Message, PinStore
from socketlab.server.app import ChatServer
from tests.gui.gui_helpers import (
    headless,
    impostor_of_a_pinned_server,
    next_event,
    pump,
    start_app,
)


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port on 127.0.0.1 where nothing listens (held, so nobody else takes it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def submit(root: tk.Tk, app: ChatApp, **fields: str) -> None:
    """Fill dialog fields (host=, port=, name=) and press Enter in the name field."""
    for field, value in fields.items():
        entry = app.dialog.entries[field]
        entry.delete(0, "end")
        entry.insert(0, value)
    name = app.dialog.entries[NAME]
    name.focus_force()  # key events go to the focused widget
    root.update()
    name.event_generate("<Return>")
    root.update()


def test_connect_dialog_explains_bad_input_and_lets_the_user_correct_it(
    root: tk.Tk, server: ChatServer, dead_port: int, capfd: pytest.CaptureFixture[str]
) -> None:
    app = ChatApp(root, Settings(port=dead_port, timeout=5.0))
    dialog = app.dialog
    root.update()
    assert dialog.values() == ("127.0.0.1", str(dead_port), "")
    assert root.focus_lastfor() is dialog.entries[NAME]  # the one empty field

    cases = [
        ({"name": ""}, NAME, "Choose a name"),
        ({"name": "a b"}, NAME, "U+0020"),
        ({"name": "x" * 21}, NAME, "1 to 20 characters"),
        ({"name": "ok", "port": "77x7"}, PORT, "must be a number"),
        ({"port": "70000"}, PORT, "must be a number"),
        ({"port": str(dead_port), "host": " "}, HOST, "host"),
    ]
    for fields, field, text in cases:
        submit(root, app, **fields)
        assert text in dialog.message.cget("text"), fields
        assert root.focus_lastfor() is dialog.entries[field], fields
        assert not dialog.connect_button.instate(["disabled"])
    assert app._worker is None  # nothing above reached the network

    submit(root, app, host="127.0.0.1", port=str(dead_port), name="alice")
    pump(root, lambda: not dialog.connect_button.instate(["disabled"]), "the failed connect")
    message = dialog.message.cget("text")
    assert f"127.0.0.1:{dead_port}" in message and "Is the server running" in message

    submit(root, app, port=str(server.address[1]))
    pump(root, lambda: app.client is not None, "login after correcting the port")
    assert app.window.winfo_ismapped()
    app.close()
    assert "Traceback" not in capfd.readouterr().err


def test_server_gone_is_shown_and_reconnect_works(root: tk.Tk) -> None:
    identity = SigningKey.generate()
    first = ChatServer("127.0.0.1", 0, identity=identity)
    first.start()
    host, port = first.address
    app = start_app(root, first, "alice")
    window = app.window
    first.stop()
    pump(root, lambda: app.client is None, "the disconnect")
    assert window.status_text().startswith(f"Disconnected from {host}:{port}: shutting_down")
    root.update()
    assert window.entry.instate(["disabled"]) and window.send_button.instate(["disabled"])
    assert window.reconnect_button.winfo_ismapped()
    assert window.user_names() == []
    assert root.focus_lastfor() is window.reconnect_button  # Enter/space reconnects

    window.reconnect_button.invoke()  # nothing listens yet: fails, and stays offered
    pump(root, lambda: "reconnect failed" in window.status_text(), "the failed reconnect")
    assert not window.reconnect_button.instate(["disabled"])

    with ChatServer(host, port, identity=identity) as second:
        window.reconnect_button.invoke()
        pump(root, lambda: app.client is not None, "the reconnect")
        root.update()
        assert window.status_text().startswith(f"Connected to {host}:{port} as alice")
        assert (
            not window.entry.instate(["disabled"]) and not window.reconnect_button.winfo_ismapped()
        )
        bob = headless(second, "bob")
        window.entry.insert(0, "back again")
        window.send_button.invoke()
        got = next_event(bob, lambda e: isinstance(e, Message), "alice's message")
        assert (got.sender, got.text) == ("alice", "back again")
        bob.close()
        app.close()


def test_changed_server_identity_is_refused_with_a_modal_warning(root: tk.Tk) -> None:
    with impostor_of_a_pinned_server() as (first, impostor):
        host, port = impostor.address
        pinned = first.fingerprint
        app = ChatApp(
            root, Settings(host=host, port=port, name="alice", timeout=5.0), connect_now=True
        )
        pump(root, lambda: app.warning is not None and root.grab_current() is not None, "warning")
        warning = app.warning
        assert warning is not None and root.grab_current() is warning  # modal
        assert warning.fingerprints == {"pinned": pinned, "offered": impostor.fingerprint}
        assert pinned != impostor.fingerprint
        assert app.client is None and app.dialog.winfo_ismapped()
        assert "refused" in app.dialog.message.cget("text")
        assert PinStore().check(host, port, bytes(first.identity.verify_key)) == "known"
        warning.ok_button.invoke()
        root.update()
        assert not warning.winfo_exists() and root.grab_current() is None
        app.close()


def test_status_bar_names_the_cipher_and_the_server_key(root: tk.Tk, server: ChatServer) -> None:
    app = start_app(root, server, "alice")
    status = app.window.status_text()
    assert f"Connected to 127.0.0.1:{server.address[1]} as alice" in status
    assert CIPHER in status and server.fingerprint in status
    assert app.window.mode_label.cget("style") == "Ok.Status.TLabel"
    app.close()


def test_plaintext_session_is_marked_in_warning_colour(root: tk.Tk) -> None:
    with ChatServer("127.0.0.1", 0, allow_plaintext=True) as server:
        app = start_app(root, server, "alice", mode="plain")
        assert app.window.mode_label.cget("text") == PLAINTEXT
        assert app.window.mode_label.cget("style") == "Warn.Status.TLabel"
        app.close()

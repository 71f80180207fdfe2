"""The chat window against a real server, with headless clients on the other side."""

from __future__ import annotations

import threading
import tkinter as tk

from socketlab.client.chat_client import ChatClient
from socketlab.client.gui import ChatApp, Settings
from socketlab.client.gui_styles import OTHER, OWN, SYSTEM, WHISPER_IN, WHISPER_OUT
from socketlab.protocol import Left, Message, name_key
from socketlab.server.app import ChatServer
from tests.gui.gui_helpers import headless, next_event, pump, settle, start_app


def has_line(lines: list[str], text: str) -> bool:
    """``text`` is one of the log ``lines`` (after its timestamp)."""
    return any(line.endswith(" " + text) for line in lines)


def type_and_enter(root: tk.Tk, entry: tk.Misc, text: str) -> None:
    """Type ``text`` into the entry and press Enter, as a keyboard user would."""
    entry.focus_force()
    entry.delete(0, "end")
    entry.insert(0, text)
    root.update()
    entry.event_generate("<Return>")
    root.update()


def test_message_from_headless_client_appears_in_the_log(root: tk.Tk, server: ChatServer) -> None:
    app = start_app(root, server, "alice")
    bob = headless(server, "bob")
    try:
        bob.say("hello from bob")
        pump(
            root, lambda: has_line(app.window.log_lines(OTHER), "bob: hello from bob"), "bob's line"
        )
        # Timestamped: "HH:MM:SS bob: hello from bob".
        line = next(text for text in app.window.log_lines() if text.endswith("bob: hello from bob"))
        assert line[2] == line[5] == ":" and line[8] == " "
    finally:
        bob.close()
        app.close()


def test_text_entered_in_the_window_reaches_the_headless_client(
    root: tk.Tk, server: ChatServer
) -> None:
    app = start_app(root, server, "alice")
    bob = headless(server, "bob")
    try:
        type_and_enter(root, app.window.entry, "hi bob, from the window")
        got = next_event(
            bob, lambda e: isinstance(e, Message) and e.sender == "alice", "alice's say"
        )
        assert got.text == "hi bob, from the window" and got.to is None
        assert app.window.entry.get() == ""
        pump(
            root,
            lambda: has_line(app.window.log_lines(OWN), "alice: hi bob, from the window"),
            "own line",
        )
    finally:
        bob.close()
        app.close()


def test_user_list_follows_joins_and_leaves(root: tk.Tk, server: ChatServer) -> None:
    app = start_app(root, server, "alice")
    assert app.window.user_names() == ["alice"]
    bob = headless(server, "bob")
    pump(root, lambda: app.window.user_names() == ["alice", "bob"], "bob in the list")
    carol = headless(server, "Carol")
    pump(root, lambda: app.window.user_names() == ["alice", "bob", "Carol"], "Carol in the list")
    bob.close()
    pump(root, lambda: app.window.user_names() == ["alice", "Carol"], "bob gone from the list")
    assert any("bob joined" in line for line in app.window.log_lines(SYSTEM))
    assert any("bob left" in line for line in app.window.log_lines(SYSTEM))
    carol.close()
    app.close()


def test_whisper_is_shown_as_a_whisper_and_reaches_no_third_client(
    root: tk.Tk, server: ChatServer
) -> None:
    app = start_app(root, server, "alice")
    bob, carol = headless(server, "bob"), headless(server, "carol")
    seen_by_carol: list[object] = []
    try:
        pump(root, lambda: len(app.window.user_names()) == 3, "three users")
        bob.whisper("alice", "psst, alice")
        pump(root, lambda: app.window.log_lines(WHISPER_IN), "the whisper from bob")
        [line] = app.window.log_lines(WHISPER_IN)
        # bob's client has no e2e key: the whisper is marked as one the server could read.
        assert line.endswith(
            " [whisper from bob · transport-encrypted only: the server can read it] psst, alice"
        )
        type_and_enter(root, app.window.entry, "/w bob only for bob")
        got = next_event(bob, lambda e: isinstance(e, Message) and e.sender == "alice", "whisper")
        assert (got.to, got.text) == ("bob", "only for bob")
        pump(root, lambda: app.window.log_lines(WHISPER_OUT), "the echo of alice's whisper")
        assert app.window.log_lines(WHISPER_OUT)[0].endswith(
            "[whisper to bob · transport-encrypted only: the server can read it] only for bob"
        )
        # carol speaks after both whispers were delivered: a leaked whisper would
        # sit in her queue before her own line.
        carol.say("marker")
        next_event(
            carol,
            lambda e: seen_by_carol.append(e) or (isinstance(e, Message) and e.text == "marker"),
            "carol's own marker",
        )
        assert not [e for e in seen_by_carol if isinstance(e, Message) and e.to is not None]
    finally:
        bob.close()
        carol.close()
        app.close()


def test_name_taken_asks_again_on_the_same_connection(root: tk.Tk, server: ChatServer) -> None:
    holder = headless(server, "alice")
    host, port = server.address
    app = ChatApp(root, Settings(host=host, port=port, name="ALICE", timeout=5.0), connect_now=True)
    try:
        pump(root, lambda: app.dialog.name_only, "the name prompt")
        assert "taken" in app.dialog.message.cget("text")
        assert app.dialog.entries["host"].instate(["disabled"])  # same server, same connection
        assert root.focus_lastfor() is app.dialog.entries["name"]  # where typing goes
        waiting = app._waiting
        assert waiting is not None
        app.dialog.entries["name"].delete(0, "end")
        app.dialog.entries["name"].insert(0, "alice2")
        app.dialog.connect_button.invoke()
        pump(root, lambda: app.client is not None, "login as alice2")
        assert app.client is waiting  # no second connection was opened
        assert app.window.user_names() == ["alice", "alice2"]
        assert app.window.winfo_ismapped() and not app.dialog.winfo_ismapped()
    finally:
        holder.close()
        app.close()


def test_closing_the_window_says_bye_and_ends_every_thread(root: tk.Tk, server: ChatServer) -> None:
    app = start_app(root, server, "alice")
    bob = headless(server, "bob")
    try:
        pump(root, lambda: "bob" in app.window.user_names(), "bob in the list")
        assert app.client is not None
        receive = app.client._thread
        assert receive is not None and receive.is_alive()
        root.tk.call(root.protocol("WM_DELETE_WINDOW"))  # what the close button runs
        left = next_event(bob, lambda e: isinstance(e, Left), "alice leaving")
        assert (left.name, left.reason) == ("alice", "quit")  # a bye, not a lost connection
        assert not receive.is_alive()
        assert not [t for t in threading.enumerate() if t.name == "connect"]
        assert app.closed
    finally:
        bob.close()


def test_quit_command_closes_the_window(root: tk.Tk, server: ChatServer) -> None:
    app = start_app(root, server, "alice")
    type_and_enter(root, app.window.entry, "/quit")
    assert app.closed


def test_help_and_usage_lines_are_local(root: tk.Tk, server: ChatServer) -> None:
    app = start_app(root, server, "alice")
    bob = headless(server, "bob")
    try:
        type_and_enter(root, app.window.entry, "/help")
        assert any("/w NAME MESSAGE" in line for line in app.window.log_lines(SYSTEM))
        type_and_enter(root, app.window.entry, "/w bob")
        assert app.window.log_lines("error")[-1].endswith("usage: /w NAME MESSAGE")
        assert app.window.entry.get() == "/w bob"  # kept, to be corrected
        type_and_enter(root, app.window.entry, "/w nobody hello")
        pump(root, lambda: any("no_such_user" in x for x in app.window.log_lines("error")), "error")
        settle(root, 0.1)
        assert not [e for e in _drain(bob) if isinstance(e, Message)]
    finally:
        bob.close()
        app.close()


def _drain(client: ChatClient) -> list[object]:
    events: list[object] = []
    while not client.events.empty():
        events.append(client.events.get_nowait())
    return events


def test_own_name_is_marked_in_the_user_list(root: tk.Tk, server: ChatServer) -> None:
    app = start_app(root, server, "alice")
    item = app.window.users.item(name_key("alice"))
    assert item["text"] == "alice (you)" and "me" in item["tags"]
    app.close()

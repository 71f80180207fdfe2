"""Keyboard-only use, the user list's double-click, and a log that grows with the window."""

from __future__ import annotations

import itertools
import tkinter as tk

from socketlab.client.gui import ChatApp, Settings
from socketlab.client.gui_dialog import NAME
from socketlab.protocol import name_key
from socketlab.server.app import ChatServer
from tests.gui.gui_helpers import headless, pump, start_app


def test_focus_starts_in_the_entry_and_tab_order_is_sensible(
    root: tk.Tk, server: ChatServer
) -> None:
    app = start_app(root, server, "alice")
    window = app.window
    assert root.focus_lastfor() is window.entry
    assert window.entry.tk_focusNext() is window.send_button
    assert window.send_button.tk_focusNext() is window.users
    assert window.users.tk_focusNext() is window.entry  # the log is skipped: read-only
    # ... so Page Up / Page Down in the entry scroll it.
    for i in range(200):
        window.system(f"line {i}")
    root.update()
    assert window.log.yview()[1] == 1.0
    window.entry.focus_force()
    root.update()
    window.entry.event_generate("<Prior>")
    root.update()
    assert window.log.yview()[1] < 1.0
    app.close()


def test_dialog_tab_order_runs_through_fields_then_buttons(root: tk.Tk) -> None:
    app = ChatApp(root, Settings())
    dialog = app.dialog
    root.update()  # only viewable widgets take focus
    order = [
        dialog.entries["host"],
        dialog.entries["port"],
        dialog.entries[NAME],
        dialog.connect_button,
        dialog.cancel_button,
    ]
    for widget, following in itertools.pairwise(order):
        assert widget.tk_focusNext() is following
    app.close()


def test_double_click_on_a_user_starts_a_whisper(root: tk.Tk, server: ChatServer) -> None:
    app = start_app(root, server, "alice")
    bob = headless(server, "bob")
    users = app.window.users
    try:
        pump(root, lambda: "bob" in app.window.user_names(), "bob in the list")
        root.update()
        x, y, _w, h = users.bbox(name_key("bob"))
        for _ in range(2):  # two clicks at one spot, at once: a double-click
            users.event_generate("<ButtonPress-1>", x=x + 10, y=y + h // 2)
            users.event_generate("<ButtonRelease-1>", x=x + 10, y=y + h // 2)
        root.update()
        assert app.window.entry.get() == "/w bob "
        assert root.focus_lastfor() is app.window.entry
        # Keyboard path: select the name and press Enter.
        app.window.entry.delete(0, "end")
        users.selection_set(name_key("bob"))
        users.focus_force()
        root.update()
        users.event_generate("<Return>")
        assert app.window.entry.get() == "/w bob "
    finally:
        bob.close()
        app.close()


def test_the_log_grows_with_the_window(root: tk.Tk, server: ChatServer) -> None:
    app = start_app(root, server, "alice")
    root.geometry("700x450")
    pump(root, lambda: root.winfo_width() == 700, "the first size")
    small = app.window.log.winfo_width(), app.window.log.winfo_height()
    root.geometry("1100x700")
    pump(root, lambda: root.winfo_width() == 1100, "the second size")
    large = app.window.log.winfo_width(), app.window.log.winfo_height()
    assert large[0] - small[0] >= 350 and large[1] - small[1] >= 200
    app.close()

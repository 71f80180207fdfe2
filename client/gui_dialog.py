"""The connect dialog: host, port and name, checked before anything touches the network.

It is a frame inside the main window rather than a separate toplevel, so the
window a user starts with is the window they chat in. Every problem (a bad
field, a server that is not there, a name taken) is shown in the dialog, next
to the field to correct.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from dataclasses import dataclass
from tkinter import ttk

from socketlab.protocol import ProtocolError, check_login_name

from .language import N_, _

HOST, PORT, NAME = "host", "port", "name"


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    """Checked connect-dialog values."""

    host: str
    port: int
    name: str


class FieldError(ValueError):
    """A dialog field holds something unusable; ``field`` is HOST, PORT or NAME."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_fields(host: str, port: str, name: str) -> ConnectRequest:
    """Validate the dialog's text; raise ``FieldError`` naming the first bad field."""
    host = host.strip()
    if not host:
        raise FieldError(HOST, _("Enter the server's host name or address."))
    port = port.strip()
    if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise FieldError(
            PORT, _("The port must be a number from 1 to 65535, not {port!r}.").format(port=port)
        )
    if not name:
        raise FieldError(NAME, _("Choose a name to chat under."))
    try:
        check_login_name(name)
    except ProtocolError as exc:
        raise FieldError(
            NAME, _("That name cannot be used: {reason}.").format(reason=exc.message)
        ) from None
    return ConnectRequest(host, int(port), name)


class ConnectDialog(ttk.Frame):
    """Host, port and name fields, a message line, and Connect / Quit.

    ``on_submit`` gets a checked ``ConnectRequest``; ``on_cancel`` is called
    by Quit (or Cancel, while only a new name is asked for) and by Escape.
    """

    def __init__(
        self,
        master: tk.Misc,
        *,
        host: str,
        port: int,
        name: str,
        notes: list[str],
        on_submit: Callable[[ConnectRequest], None],
        on_cancel: Callable[[], None],
    ) -> None:
        super().__init__(master, padding=(24, 18, 24, 16))
        self._on_submit = on_submit
        self._on_cancel = on_cancel
        self.name_only = False

        ttk.Label(self, text=_("socketlab chat"), style="Title.TLabel").grid(
            row=0, column=0, columnspan=2, sticky="w"
        )
        ttk.Label(
            self,
            text=_("Connect to a chat server (start one with: socketlab server)"),
            style="Muted.TLabel",
        ).grid(row=1, column=0, columnspan=2, sticky="w", pady=(2, 14))
        self.entries: dict[str, ttk.Entry] = {}
        fields = [(HOST, _("Host"), host), (PORT, _("Port"), str(port)), (NAME, _("Name"), name)]
        for row, (field, label, value) in enumerate(fields, start=2):
            ttk.Label(self, text=label).grid(row=row, column=0, sticky="w", padx=(0, 12), pady=3)
            entry = ttk.Entry(self, width=28)
            entry.insert(0, value)
            entry.grid(row=row, column=1, sticky="ew", pady=3)
            entry.bind("<Return>", self._submit)
            entry.bind("<KP_Enter>", self._submit)
            self.entries[field] = entry
        for row, note in enumerate(notes, start=5):
            ttk.Label(self, text=note, style="Warn.Status.TLabel").grid(
                row=row, column=0, columnspan=2, sticky="ew", pady=(6, 0)
            )
        self.message = ttk.Label(
            self, text="", style="Message.TLabel", wraplength=380, justify="left"
        )
        self.message.grid(row=9, column=0, columnspan=2, sticky="ew", pady=(10, 0))

        buttons = ttk.Frame(self)
        buttons.grid(row=10, column=0, columnspan=2, sticky="e", pady=(12, 0))
        # Created in Tab order (fields, Connect, Quit), packed so Connect is rightmost.
        self.connect_button = ttk.Button(
            buttons, text=_("Connect"), command=self._submit, default="active"
        )
        self.cancel_button = ttk.Button(buttons, text=_("Quit"), command=self._on_cancel)
        self.connect_button.pack(side="right")
        self.cancel_button.pack(side="right", padx=(0, 8))
        for button in (self.connect_button, self.cancel_button):
            button.bind("<Return>", lambda e: e.widget.invoke())
        self.columnconfigure(1, weight=1)
        # Escape anywhere in the dialog does what Quit/Cancel does.
        for widget in (*self.entries.values(), self.connect_button, self.cancel_button):
            widget.bind("<Escape>", lambda _e: self._on_cancel())

    def focus_first_empty(self) -> None:
        """Put the cursor where typing is most likely needed (usually the name)."""
        for field in (HOST, PORT, NAME):
            if not self.entries[field].get().strip():
                self.focus_field(field)
                return
        self.focus_field(NAME)

    def focus_field(self, field: str) -> None:
        entry = self.entries[field]
        entry.focus_set()
        entry.select_range(0, "end")
        entry.icursor("end")

    def show_message(self, text: str, field: str | None = None, *, error: bool = True) -> None:
        """Show ``text`` under the fields; focus ``field`` so it can be corrected."""
        self.message.configure(text=text, style="Message.TLabel" if error else "Busy.TLabel")
        if field is not None:
            self.focus_field(field)

    def set_busy(self, busy: bool) -> None:
        """While connecting: fields and Connect are locked, and the dialog says so."""
        for field, entry in self.entries.items():
            locked = busy or (self.name_only and field != NAME)
            entry.state(["disabled"] if locked else ["!disabled"])
        self.connect_button.state(["disabled"] if busy else ["!disabled"])
        if busy:
            self.show_message(_("Connecting…"), error=False)

    def ask_name(self, message: str) -> None:
        """The connection is open but the name was refused: ask for another one."""
        self.name_only = True
        self.cancel_button.configure(text=_("Cancel"))
        self.set_busy(False)
        self.show_message(message, NAME)

    def ask_all(self, message: str = "", field: str | None = None) -> None:
        """Back to a fresh connect (after a failure or a cancelled name prompt)."""
        self.name_only = False
        self.cancel_button.configure(text=_("Quit"))
        self.set_busy(False)
        self.show_message(message, field)
        if field is None:
            self.focus_first_empty()

    def values(self) -> tuple[str, str, str]:
        return self.entries[HOST].get(), self.entries[PORT].get(), self.entries[NAME].get()

    def _submit(self, _event: tk.Event | None = None) -> str:
        if self.connect_button.instate(["disabled"]):
            return "break"
        try:
            request = check_fields(*self.values())
        except FieldError as exc:
            self.show_message(exc.message, exc.field)
        else:
            self.set_busy(True)
            self._on_submit(request)
        return "break"


SERVER_CHANGED = N_("Server identity changed")
SERVER_CHANGED_TEXT = N_(
    "The server at {where} presented a different identity key than the one "
    "pinned the first time you connected. Someone may be intercepting the "
    "connection (a man in the middle), or the server's key was replaced.\n\n"
    "The connection was refused."
)


class IdentityWarning(tk.Toplevel):
    """Modal warning: the server at ``where`` (or, with ``title`` and ``text``, a
    user) shows another identity than the pinned one; both fingerprints shown.

    ``title`` and ``text`` are shown as given (the defaults through ``_``).
    Non-blocking (no ``wait_window``): the grab makes it modal while the main
    loop, and with it the rest of the app, keeps running.
    """

    def __init__(
        self,
        master: tk.Misc,
        *,
        where: str,
        known: str,
        offered: str,
        forget_hint: str,
        title: str | None = None,
        text: str | None = None,
    ) -> None:
        super().__init__(master)
        title = title or _(SERVER_CHANGED)
        text = text or _(SERVER_CHANGED_TEXT).format(where=where)
        self.title(title)
        self.transient(master.winfo_toplevel())
        self.resizable(False, False)
        frame = ttk.Frame(self, padding=(20, 16))  # a ttk frame: the theme's background
        frame.pack(fill="both", expand=True)
        ttk.Label(frame, text=f"⚠ {title}", style="Warning.TLabel").grid(
            row=0, column=0, columnspan=2, sticky="w"
        )
        ttk.Label(
            frame,
            text=text,
            wraplength=460,
            justify="left",
        ).grid(row=1, column=0, columnspan=2, sticky="w", pady=(10, 10))
        self.fingerprints = {"pinned": known, "offered": offered}
        labels = {"pinned": _("Pinned:"), "offered": _("Offered:")}
        for row, (label, value) in enumerate(self.fingerprints.items(), start=2):
            ttk.Label(frame, text=labels[label], style="Heading.TLabel").grid(
                row=row, column=0, sticky="w", padx=(0, 10)
            )
            ttk.Label(frame, text=value, style="Fingerprint.TLabel").grid(
                row=row, column=1, sticky="w"
            )
        ttk.Label(
            frame, text=forget_hint, style="Muted.TLabel", wraplength=460, justify="left"
        ).grid(row=4, column=0, columnspan=2, sticky="w", pady=(10, 0))
        self.ok_button = ttk.Button(frame, text=_("OK"), command=self.close, default="active")
        self.ok_button.grid(row=5, column=0, columnspan=2, sticky="e", pady=(14, 0))
        for sequence in ("<Return>", "<KP_Enter>", "<Escape>"):
            self.bind(sequence, lambda _e: self.close())
        self.protocol("WM_DELETE_WINDOW", self.close)
        self.ok_button.focus_set()
        self._grab()

    def _grab(self) -> None:
        # A grab needs the window mapped; until the window manager shows it, retry.
        if not self.winfo_exists():
            return
        try:
            self.grab_set()
        except tk.TclError:
            self.after(20, self._grab)

    def close(self) -> None:
        self.grab_release()
        self.destroy()

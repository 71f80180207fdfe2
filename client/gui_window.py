"""The chat window's widgets: log, user list, entry with Send, status bar.

The status bar's second row is about end-to-end whispers: your own key's
fingerprint, and the key of the last person you whispered with end to end
(what you compare out of band).

Pure presentation: it knows nothing of sockets or threads. ``gui.ChatApp``
calls it from the Tk main thread only, with whole batches of lines, so a
flood of messages costs one text insert per batch instead of one per message.
"""

from __future__ import annotations

import time
import tkinter as tk
import tkinter.font as tkfont
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from tkinter import ttk
from typing import Any

from socketlab.protocol import name_key

from .commands import describe_reason
from .gui_styles import (
    CIPHER,
    LOCK,
    NICK,
    PLAINTEXT,
    SYSTEM,
    TIME,
    configure_log_tags,
    log_icons,
)
from .language import _

# Older lines are dropped beyond this, so a long session cannot eat memory
# and the text widget stays fast.
MAX_LOG_LINES = 5000


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of the chat log: its text, its kind (a gui_styles tag) and when.

    The first ``lead`` characters (a sender's "name:") are shown in bold;
    ``icon`` (a gui_styles icon name, e.g. LOCK) is drawn before the text.
    """

    text: str
    tag: str
    when: float  # seconds since the epoch
    lead: int = 0
    icon: str | None = None


class ChatWindow(ttk.Frame):
    """Everything the user sees while chatting.

    ``on_send`` gets the entry's text when Enter or Send is pressed (it clears
    the entry by calling ``clear_entry`` once the line was handled);
    ``on_reconnect`` is the status bar's Reconnect action.
    """

    def __init__(
        self,
        master: tk.Misc,
        fonts: dict[str, tkfont.Font],
        *,
        on_send: Callable[[str], None],
        on_reconnect: Callable[[], None],
    ) -> None:
        super().__init__(master, padding=(10, 10, 10, 0))
        self._on_send = on_send
        self._names: dict[str, str] = {}  # name_key -> name as the server spells it
        self._me: str | None = None
        self._last_tag: str | None = None

        # The input row is created first so Tab starts there: entry, Send, users.
        bottom = ttk.Frame(self)
        self.entry = ttk.Entry(bottom, font=fonts["normal"])
        self.send_button = ttk.Button(bottom, text=_("Send"), command=self._send)
        self.entry.pack(side="left", fill="x", expand=True, ipady=2)
        self.send_button.pack(side="left", padx=(8, 0))
        for widget in (self.entry, self.send_button):
            widget.bind("<Return>", self._send)
            widget.bind("<KP_Enter>", self._send)

        panes = ttk.Panedwindow(self, orient="horizontal")
        log_frame = ttk.Frame(panes)
        self.log = tk.Text(
            log_frame,
            wrap="word",
            state="disabled",
            takefocus=0,
            width=64,
            height=20,
            padx=10,
            pady=8,
            borderwidth=0,
            highlightthickness=1,
            spacing1=2,
            spacing3=2,
            cursor="arrow",
        )
        configure_log_tags(self.log, fonts)
        self._icons = log_icons(self.log)
        self._icon_of_image = {str(image): name for name, image in self._icons.items()}
        log_scroll = ttk.Scrollbar(log_frame, orient="vertical", command=self.log.yview)
        self.log.configure(yscrollcommand=log_scroll.set)
        self.log.pack(side="left", fill="both", expand=True)
        log_scroll.pack(side="left", fill="y")
        # The log takes no focus (it is read-only), so its keys live on the entry.
        self.entry.bind("<Prior>", lambda _e: self.log.yview_scroll(-1, "pages"))
        self.entry.bind("<Next>", lambda _e: self.log.yview_scroll(1, "pages"))

        users_frame = ttk.Frame(panes, padding=(8, 0, 0, 0))
        self.users_label = ttk.Label(users_frame, text=_("Online"), style="Heading.TLabel")
        self.users = ttk.Treeview(users_frame, show="tree", selectmode="browse", height=8)
        self.users.column("#0", width=160, minwidth=100)
        self.users.tag_configure("me", font=fonts["bold"])
        self.users_label.pack(side="top", anchor="w", pady=(0, 4))
        self.users.pack(side="top", fill="both", expand=True)
        self.users.bind("<Double-1>", self._pick_user_at)
        self.users.bind("<Return>", self._pick_selected_user)
        ttk.Label(users_frame, text=_("double-click: whisper"), style="Muted.TLabel").pack(
            side="top", anchor="w", pady=(4, 0)
        )

        panes.add(log_frame, weight=1)
        panes.add(users_frame, weight=0)

        status = ttk.Frame(self, padding=(0, 6, 0, 6))
        self.where_label = ttk.Label(status, style="Status.TLabel")
        self.mode_label = ttk.Label(status, style="Status.TLabel")
        self.fingerprint_label = ttk.Label(status, style="Fingerprint.Status.TLabel")
        self.reconnect_button = ttk.Button(status, text=_("Reconnect"), command=on_reconnect)
        self.reconnect_button.bind("<Return>", lambda _e: self.reconnect_button.invoke())
        self.where_label.pack(side="left")
        ttk.Separator(status, orient="vertical").pack(side="left", fill="y", padx=2)
        self.mode_label.pack(side="left")
        ttk.Separator(status, orient="vertical").pack(side="left", fill="y", padx=2)
        self.fingerprint_label.pack(side="left")

        e2e_status = ttk.Frame(self, padding=(0, 0, 0, 6))
        self.own_key_label = ttk.Label(e2e_status, style="Fingerprint.Status.TLabel")
        self.peer_key_label = ttk.Label(e2e_status, style="Fingerprint.Status.TLabel")
        self.own_key_label.pack(side="left")
        ttk.Separator(e2e_status, orient="vertical").pack(side="left", fill="y", padx=2)
        self.peer_key_label.pack(side="left")

        panes.grid(row=0, column=0, sticky="nsew")
        bottom.grid(row=1, column=0, sticky="ew", pady=(8, 0))
        ttk.Separator(self, orient="horizontal").grid(row=2, column=0, sticky="ew", pady=(8, 0))
        status.grid(row=3, column=0, sticky="ew")
        e2e_status.grid(row=4, column=0, sticky="ew")
        self.rowconfigure(0, weight=1)
        self.columnconfigure(0, weight=1)

    # -- the log ---------------------------------------------------------------

    def append(self, lines: Iterable[LogLine]) -> None:
        """Add lines to the log in one insert; keep the view at the bottom if it was."""
        args: list[Any] = []  # text, tags, text, tags, ...
        lines = list(lines)
        # The batch's first line: the log's last one, or the next if it holds text.
        first = int(self.log.index("end-1c").split(".")[0]) + (self._last_tag is not None)
        icons: list[tuple[int, int, LogLine]] = []  # (line, column, line)
        for number, line in enumerate(lines, start=first):
            if self._last_tag is not None:
                # A line's newline carries its tag, so a whisper's band spans the width.
                args += ["\n", self._last_tag]
            stamp = time.strftime("%H:%M:%S ", time.localtime(line.when))
            args += [stamp, (TIME, line.tag)]
            if line.icon is not None:
                icons.append((number, len(stamp), line))
            if line.lead:
                args += [line.text[: line.lead], (NICK, line.tag)]
            args += [line.text[line.lead :], line.tag]
            self._last_tag = line.tag
        if not args:
            return
        follow = self.log.yview()[1] >= 0.999
        self.log.configure(state="normal")
        self.log.insert("end", *args)
        for number, column, line in icons:
            assert line.icon is not None
            where = f"{number}.{column}"
            self.log.image_create(where, image=self._icons[line.icon], padx=3)
            self.log.tag_add(line.tag, where)  # the line's band goes on behind the icon
        excess = int(self.log.index("end-1c").split(".")[0]) - MAX_LOG_LINES
        if excess > 0:
            self.log.delete("1.0", f"{excess + 1}.0")
        self.log.configure(state="disabled")
        if follow:
            self.log.see("end")

    def system(self, text: str) -> None:
        self.append([LogLine(text, SYSTEM, time.time())])

    def icon_lines(self, icon: str) -> list[str]:
        """The text of each log line that shows ``icon`` (timestamp included)."""
        found = []
        for _key, image, index in self.log.dump("1.0", "end", image=True):
            # Each use of an image in the text is named after it: "pyimage1", "pyimage1#1"...
            if self._icon_of_image.get(image.split("#")[0]) == icon:
                found.append(self.log.get(f"{index} linestart", f"{index} lineend"))
        return found

    def log_lines(self, tag: str | None = None) -> list[str]:
        """The log, one string per line, timestamp included (only ``tag``'s lines if given)."""
        if tag is None:
            return self.log.get("1.0", "end-1c").splitlines()
        ranges = self.log.tag_ranges(tag)
        lines: list[str] = []
        # Start and end indexes alternate; adjacent lines share one range.
        for start, end in zip(ranges[::2], ranges[1::2], strict=True):
            lines += self.log.get(start, end).splitlines()
        return lines

    # -- the user list -----------------------------------------------------------

    def set_users(self, names: Iterable[str], me: str | None) -> None:
        """Replace the user list (a welcome or an answer to /who)."""
        self._me = me
        self._names = {name_key(n): n for n in names}
        self._refresh_users()

    def add_user(self, name: str) -> None:
        self._names[name_key(name)] = name
        self._refresh_users()

    def remove_user(self, name: str) -> None:
        self._names.pop(name_key(name), None)
        self._refresh_users()

    def user_names(self) -> list[str]:
        """Names in the list, in display order."""
        return [self._names[iid] for iid in self.users.get_children()]

    def _refresh_users(self) -> None:
        me = name_key(self._me) if self._me else None
        self.users.delete(*self.users.get_children())
        for key in sorted(self._names):
            name = self._names[key]
            if key == me:
                mine = _("{name} (you)").format(name=name)
                self.users.insert("", "end", iid=key, text=mine, tags=("me",))
            else:
                self.users.insert("", "end", iid=key, text=name)
        self.users_label.configure(text=_("Online · {count}").format(count=len(self._names)))

    def _pick_user_at(self, event: tk.Event) -> str:
        iid = self.users.identify_row(event.y)
        if iid:
            self.whisper_to(self._names[iid])
        return "break"

    def _pick_selected_user(self, _event: tk.Event) -> str:
        selected = self.users.selection()
        if selected:
            self.whisper_to(self._names[selected[0]])
        return "break"

    def whisper_to(self, name: str) -> None:
        """Start a whisper to ``name`` in the entry, ready to type the message."""
        if self.entry.instate(["disabled"]):
            return
        self.entry.delete(0, "end")
        self.entry.insert(0, f"/w {name} ")
        self.entry.focus_set()
        self.entry.icursor("end")

    # -- input -------------------------------------------------------------------

    def _send(self, _event: tk.Event | None = None) -> str:
        if not self.entry.instate(["disabled"]):
            self._on_send(self.entry.get())
        return "break"

    def clear_entry(self) -> None:
        self.entry.delete(0, "end")

    # -- the status bar ------------------------------------------------------------

    def show_connected(
        self, where: str, name: str, *, encrypted: bool, fingerprint: str | None, verified: bool
    ) -> None:
        """Status for a live session; entry enabled and focused."""
        self.where_label.configure(
            text=_("Connected to {where} as {name}").format(where=where, name=name),
            style="Status.TLabel",
        )
        if encrypted:
            self.mode_label.configure(text=_(CIPHER), style="Ok.Status.TLabel")
        else:
            self.mode_label.configure(text=_(PLAINTEXT), style="Warn.Status.TLabel")
        if fingerprint is None:
            self.fingerprint_label.configure(text=_("no server key"))
        elif verified:
            self.fingerprint_label.configure(text=_("key {key}").format(key=fingerprint))
        else:
            self.fingerprint_label.configure(
                text=_("key {key} (NOT verified)").format(key=fingerprint)
            )
        self.reconnect_button.pack_forget()
        for widget in (self.entry, self.send_button):
            widget.state(["!disabled"])
        self.entry.focus_set()

    def show_own_key(self, fingerprint: str | None) -> None:
        """The second status row: our end-to-end key, or that whispers are not end to end."""
        if fingerprint is None:
            self.own_key_label.configure(
                text=_("end-to-end whispers off: the server can read your whispers"),
                style="Warn.Status.TLabel",
            )
        else:
            self.own_key_label.configure(
                text=_("your key {key}").format(key=fingerprint),
                style="Fingerprint.Status.TLabel",
            )

    def show_peer_key(self, name: str, fingerprint: str, *, verified: bool) -> None:
        """The key of the last user whispered with end to end (NOT verified: it changed)."""
        if verified:
            self.peer_key_label.configure(
                text=f"{name} {fingerprint}",
                image=self._icons[LOCK],
                compound="left",
                style="E2E.Status.TLabel",
            )
        else:
            self.peer_key_label.configure(
                text=_("{name} {key} NOT verified: identity changed").format(
                    name=name, key=fingerprint
                ),
                image="",
                style="Changed.Status.TLabel",
            )

    def show_disconnected(self, where: str, reason: str) -> None:
        """Status for a lost session: say why, lock the input, offer Reconnect."""
        self.set_users([], self._me)  # nobody is known to be online any more
        self.where_label.configure(
            text=_("Disconnected from {where}: {reason}").format(
                where=where, reason=describe_reason(reason)
            ),
            style="Warn.Status.TLabel",
        )
        for widget in (self.entry, self.send_button):
            widget.state(["disabled"])
        self.reconnect_button.state(["!disabled"])
        # Packed before the labels, so long status texts cannot squeeze it out.
        self.reconnect_button.pack(side="right", before=self.where_label)
        self.reconnect_button.focus_set()

    def show_reconnecting(self, where: str) -> None:
        self.where_label.configure(
            text=_("Reconnecting to {where}…").format(where=where), style="Status.TLabel"
        )
        self.reconnect_button.state(["disabled"])

    def status_text(self) -> str:
        """The status bar as one string (for tests and screen readers alike)."""
        parts = (
            self.where_label,
            self.mode_label,
            self.fingerprint_label,
            self.own_key_label,
            self.peer_key_label,
        )
        return " | ".join(str(label.cget("text")) for label in parts)

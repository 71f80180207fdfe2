"""The Tk chat client: ``socketlab client`` (``main``), built on ``ChatClient``.

The lesson of the original project is in ``ChatApp``'s threads:

* ``ChatClient``'s ``receive`` thread blocks in ``recv()`` and puts every
  message on its ``events`` queue;
* connecting and logging in run on a short-lived ``connect`` thread, because
  a TCP connect or a handshake can wait for seconds (an unreachable host
  waits for the whole timeout) and a window that waits with it freezes,
  exactly as the original did; its outcome comes back on a queue too;
* the Tk main thread is the only one that touches widgets: every
  ``POLL_MS`` an ``after()`` callback drains both queues, in slices of at
  most ``BATCH`` events or ``BUDGET_S`` seconds, so a flood cannot starve
  redraws and clicks.

Whispers are end to end unless ``Settings.e2e`` is off (``--no-e2e``): each
whisper's line is marked with what ``ChatClient`` found (a padlock and
"end-to-end", a new contact, a changed identity with a warning window, or
"transport-encrypted only"), and the status bar's second row shows your key's
fingerprint and the last peer's. A server older than end-to-end whispers gets
a login without them (``ChatClient`` notices and says so in the log).
"""

from __future__ import annotations

import argparse
import logging
import queue
import sys
import threading
import time
import tkinter as tk
from dataclasses import dataclass
from pathlib import Path

from socketlab.protocol import (
    DEFAULT_PORT,
    Error,
    IdentityError,
    Joined,
    Left,
    Message,
    Ping,
    PinStore,
    Pong,
    Say,
    Users,
    Welcome,
    Whisper,
    name_key,
)
from socketlab.trace import NullTracer, Tracer, open_tracer

from .chat_client import ChatClient, ChatError
from .commands import (
    HELP_TEXT,
    Fingerprint,
    Help,
    Quit,
    Usage,
    describe_fingerprint,
    format_event,
    parse_command,
)
from .events import (
    E2E_CHANGED,
    E2E_NEW,
    Disconnected,
    E2EUnavailable,
    PeerIdentityChanged,
    Whispered,
    WhisperRefused,
)
from .gui_dialog import HOST, NAME, ConnectDialog, ConnectRequest, IdentityWarning
from .gui_styles import (
    E2E_IN,
    E2E_OUT,
    E2E_WARN,
    ERROR,
    LOCK,
    OTHER,
    OWN,
    SYSTEM,
    WHISPER_IN,
    WHISPER_OUT,
    apply_theme,
)
from .gui_window import ChatWindow, LogLine
from .language import N_, _

log = logging.getLogger(__name__)

POLL_MS = 30
# A tick handles at most BATCH events and stops after BUDGET_S: a flood is
# shown in slices, with redraws and clicks served between them.
BATCH = 500
BUDGET_S = 0.008
# After a slice that left events waiting, the next one comes this soon; Tk
# runs its pending redraws in between.
CATCH_UP_MS = 1


@dataclass
class Settings:
    """Where and how to connect; the dialog fills in host, port and name."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    name: str = ""
    mode: str = "box"
    verify: bool = True
    keylog: str | None = None
    trace: str | None = None  # thread-activity JSON lines, for the inspector's timeline
    pins: PinStore | None = None
    timeout: float = 10.0
    e2e: bool = True  # end-to-end whispers (off: like an old client, --no-e2e)
    home: Path | None = None  # user identity and known_users (default: the socketlab home)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


# What the connect thread hands back to the main thread.
@dataclass(frozen=True, slots=True)
class _LoggedIn:
    client: ChatClient
    welcome: Welcome


@dataclass(frozen=True, slots=True)
class _NameRefused:
    client: ChatClient  # still connected: the next try reuses it


@dataclass(frozen=True, slots=True)
class _Failed:
    message: str
    field: str = HOST  # the dialog field to correct


@dataclass(frozen=True, slots=True)
class _IdentityRefused:
    error: IdentityError


_Outcome = _LoggedIn | _NameRefused | _Failed | _IdentityRefused


class ChatApp:
    """The connect dialog and the chat window in one Tk root, and the session behind them."""

    def __init__(self, root: tk.Tk, settings: Settings, *, connect_now: bool = False) -> None:
        self.root = root
        self.settings = settings
        self.client: ChatClient | None = None  # logged in, its events drained by _poll
        self._waiting: ChatClient | None = None  # connected, waiting for an accepted name
        self._outcomes: queue.Queue[_Outcome] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._closing = threading.Event()
        self._reconnecting = False
        self._chat_sized = False
        self.warning: IdentityWarning | None = None
        # One trace for the whole window, across reconnects: each ChatClient would
        # otherwise start the file afresh. Named after the login, see _logged_in.
        self.tracer: Tracer | NullTracer = open_tracer(settings.trace, "client")

        fonts = apply_theme(root)
        root.title(_("socketlab chat"))
        root.protocol("WM_DELETE_WINDOW", self.close)
        # Destroyed some other way (by an embedding program, a test): still end the session.
        root.bind("<Destroy>", self._on_destroy, add="+")
        notes = []
        if settings.mode == "plain":
            notes.append(_("PLAINTEXT: nothing you send will be encrypted (--plain)"))
        if not settings.verify:
            notes.append(_("The server's identity will not be checked (--no-verify)"))
        self.dialog = ConnectDialog(
            root,
            host=settings.host,
            port=settings.port,
            name=settings.name,
            notes=notes,
            on_submit=self._submit,
            on_cancel=self._cancel,
        )
        self.window = ChatWindow(root, fonts, on_send=self.send_line, on_reconnect=self.reconnect)
        self._show_dialog()
        self.dialog.focus_first_empty()
        self._poll_id: str | None = root.after(POLL_MS, self._poll)
        if connect_now:
            self.dialog.connect_button.invoke()

    # -- which screen ------------------------------------------------------------

    def _show_dialog(self) -> None:
        self.window.pack_forget()
        self.dialog.pack(fill="both", expand=True)
        self.root.title(_("socketlab chat: connect"))
        self.root.geometry("")  # shrink to the dialog's own size
        self.root.minsize(1, 1)

    def _show_window(self) -> None:
        self.dialog.pack_forget()
        self.window.pack(fill="both", expand=True)
        if not self._chat_sized:
            self.root.geometry("1040x600")
            self._chat_sized = True
        self.root.minsize(520, 320)

    # -- connecting (main thread side) ---------------------------------------------

    def _submit(self, request: ConnectRequest) -> None:
        """The dialog's checked values: connect, or try a new name on the open connection."""
        self.settings.name = request.name
        if self._waiting is not None:
            self._start_worker(self._waiting, request.name, connect=False)
            return
        self.settings.host, self.settings.port = request.host, request.port
        self._start_worker(self._new_client(), request.name, connect=True)

    def _cancel(self) -> None:
        """Quit from the dialog; or, while asked for another name, drop that connection."""
        if self._waiting is None:
            self.close()
            return
        self._waiting.close()
        self._waiting = None
        self._reconnecting = False
        self.dialog.ask_all("", NAME)

    def reconnect(self) -> None:
        """A fresh connection with the same host, port and name (the status bar's action)."""
        if self.client is not None or self._worker_busy():
            return
        self._reconnecting = True
        self.window.show_reconnecting(self.settings.where)
        self._start_worker(self._new_client(), self.settings.name, connect=True)

    def _new_client(self) -> ChatClient:
        s = self.settings
        return ChatClient(
            s.host,
            s.port,
            mode=s.mode,
            verify=s.verify,
            pins=s.pins,
            keylog=s.keylog,
            timeout=s.timeout,
            trace=self.tracer if isinstance(self.tracer, Tracer) else None,
            e2e=s.e2e,
            home=s.home,
        )

    def _worker_busy(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def _start_worker(self, client: ChatClient, name: str, *, connect: bool) -> None:
        self._waiting = None
        self._worker = threading.Thread(
            target=self._connect_and_login,
            args=(client, name, connect),
            name="connect",
            daemon=True,
        )
        self._worker.start()

    # -- connecting (the connect thread: no widgets here) ----------------------------

    def _connect_and_login(self, client: ChatClient, name: str, connect: bool) -> None:
        outcome: _Outcome
        try:
            if connect:
                client.connect()
            outcome = _LoggedIn(client, client.login(name))
        except IdentityError as exc:
            outcome = _IdentityRefused(exc)
        except ChatError as exc:
            if exc.code == "name_taken":  # the only refusal that keeps the connection open
                outcome = _NameRefused(client)
            else:
                client.close()
                field = NAME if exc.code == "bad_name" else HOST
                outcome = _Failed(_describe_failure(exc, self.settings.where), field)
        except Exception as exc:  # any surprise must reach the window, not hang it
            log.exception("connecting to %s failed", self.settings.where)
            client.close()
            outcome = _Failed(
                _("Could not connect to {where}: {problem}").format(
                    where=self.settings.where, problem=exc
                )
            )
        if self._closing.is_set():
            # The window is gone: nobody will take this session over.
            client.close()
            return
        self._outcomes.put(outcome)

    # -- the main loop's tick ----------------------------------------------------------

    def _poll(self) -> None:
        """Every POLL_MS: take the connect thread's outcome, then a batch of events."""
        while True:
            try:
                outcome = self._outcomes.get_nowait()
            except queue.Empty:
                break
            self._take(outcome)
        behind = False
        if self.client is not None and not self.client.events.empty():
            self.tracer.record("handling", "drain")
            behind = self._drain(self.client)
            self.tracer.record("queue_wait")
        self._poll_id = self.root.after(CATCH_UP_MS if behind else POLL_MS, self._poll)

    def _take(self, outcome: _Outcome) -> None:
        reconnecting, self._reconnecting = self._reconnecting, False
        if isinstance(outcome, _LoggedIn):
            self._logged_in(outcome.client, outcome.welcome, reconnecting)
        elif isinstance(outcome, _NameRefused):
            self._waiting = outcome.client
            self._reconnecting = reconnecting  # still the same (re)connection
            self._show_dialog()
            self.dialog.ask_name(
                _("The name {name!r} is taken. Choose another one.").format(
                    name=self.settings.name
                )
            )
        elif isinstance(outcome, _IdentityRefused):
            error = outcome.error
            if reconnecting:
                self.window.show_disconnected(
                    self.settings.where, _("server identity changed; refused")
                )
            else:
                self.dialog.ask_all(
                    _("Connection refused: the server's identity changed ({code}).").format(
                        code=error.code
                    ),
                    HOST,
                )
            self._warn_identity(error)
        elif reconnecting:
            self.window.append([LogLine(f"! {outcome.message}", ERROR, time.time())])
            self.window.show_disconnected(self.settings.where, _("reconnect failed"))
        else:
            self.dialog.ask_all(outcome.message, outcome.field)

    def _warn_user_identity(self, event: PeerIdentityChanged) -> None:
        self.warning = IdentityWarning(
            self.root,
            where=event.where,
            known=event.pinned,
            offered=event.offered,
            forget_hint=_(
                "If {name} really has a new identity (another computer), and you "
                "compared the new fingerprint with them, forget the old one: "
                "socketlab client --forget-user {where} {name}"
            ).format(name=event.name, where=event.where),
            title=_("{name}'s identity changed").format(name=event.name),
            text=_(
                "{name} signs with a different identity key than the one pinned the "
                "first time you whispered. The server may be passing someone else's key "
                "off as {name}'s, or {name} has a new identity.\n\n"
                "Whispers from {name} are marked NOT verified; yours to them are not sent."
            ).format(name=event.name),
        )

    def _warn_identity(self, error: IdentityError) -> None:
        where = self.settings.where
        self.warning = IdentityWarning(
            self.root,
            where=where,
            known=error.known or _("(unknown)"),
            offered=error.offered or _("(none: bad signature)"),
            forget_hint=_(
                "If you know the server's key was changed on purpose, forget the old one: "
                "socketlab client --forget-server {where}"
            ).format(where=where),
        )

    def _logged_in(self, client: ChatClient, welcome: Welcome, reconnected: bool) -> None:
        self.client = client
        self.settings.name = welcome.name
        if isinstance(self.tracer, Tracer):
            self.tracer.proc = f"client:{welcome.name}"
        self.dialog.ask_all()
        self._show_window()
        self.window.set_users(welcome.users, welcome.name)
        self.window.show_connected(
            self.settings.where,
            welcome.name,
            encrypted=client.mode == "box",
            fingerprint=client.server_fingerprint,
            verified=client.verify,
        )
        self.root.title(
            _("socketlab chat: {name} @ {where}").format(
                name=welcome.name, where=self.settings.where
            )
        )
        now = time.time()
        lines = [LogLine(_("* reconnected") if reconnected else _("* connected"), SYSTEM, now)]
        if client.pin_status == "new":
            lines.append(
                LogLine(
                    _("* first visit: the server's key {key} is now pinned").format(
                        key=client.server_fingerprint
                    ),
                    SYSTEM,
                    now,
                )
            )
        lines.append(LogLine(format_event(welcome, welcome.name), SYSTEM, now))
        own_key = client.user_fingerprint
        if own_key is not None:
            lines.append(
                LogLine(
                    _("* whispers are end-to-end; your key {key} (/fingerprint shows it)").format(
                        key=own_key
                    ),
                    SYSTEM,
                    now,
                )
            )
        lines.append(LogLine(_("* type /help for commands"), SYSTEM, now))
        self.window.append(lines)
        self.window.show_own_key(own_key)

    def _drain(self, client: ChatClient) -> bool:
        """Show one slice of ``client``'s events; True if more are waiting."""
        lines: list[LogLine] = []
        ended: str | None = None
        deadline = time.perf_counter() + BUDGET_S
        for _count in range(BATCH):
            if time.perf_counter() > deadline:
                break
            try:
                event = client.events.get_nowait()
            except queue.Empty:
                break
            if isinstance(event, Disconnected):
                ended = event.reason
                lines.append(LogLine(format_event(event), ERROR, time.time()))
                break
            lines += self._apply(event)
        self.window.append(lines)
        if ended is not None:
            self.client = None
            client.close()  # the receive thread has ended; this only releases the socket
            self.window.show_disconnected(self.settings.where, ended)
            return False
        return not client.events.empty()

    def _apply(self, event: object) -> list[LogLine]:
        """Update the user list and status for ``event``; return its log lines."""
        me = self.settings.name
        if isinstance(event, (Ping, Pong)):
            return []
        if isinstance(event, Whispered):
            return self._whisper_lines(event)
        if isinstance(event, PeerIdentityChanged):
            self._warn_user_identity(event)
            return [LogLine(format_event(event, me), ERROR, time.time())]
        if isinstance(event, (WhisperRefused, E2EUnavailable)):
            return [LogLine(format_event(event, me), ERROR, time.time())]
        if isinstance(event, Message):
            mine = name_key(event.sender) == name_key(me)
            if event.to is None:
                tag = OWN if mine else OTHER
            else:
                tag = WHISPER_OUT if mine else WHISPER_IN
            text = format_event(event, me)
            lead = (
                len(event.sender) + 1
                if event.to is None and text.startswith(f"{event.sender}:")
                else 0
            )
            return [LogLine(text, tag, event.ts / 1000, lead)]
        if isinstance(event, Joined):
            self.window.add_user(event.name)
        elif isinstance(event, Left):
            self.window.remove_user(event.name)
        elif isinstance(event, (Users, Welcome)):
            self.window.set_users(event.names if isinstance(event, Users) else event.users, me)
        tag = ERROR if isinstance(event, Error) else SYSTEM
        return [LogLine(format_event(event, me), tag, time.time())]

    def _whisper_lines(self, event: Whispered) -> list[LogLine]:
        """A whisper's line: its look and icon say end to end or not, verified or not;
        a new contact's key follows it, to compare out of band."""
        outgoing = name_key(event.sender) == name_key(self.settings.name)
        peer = event.to if outgoing else event.sender
        text = format_event(event, self.settings.name)
        when = event.ts / 1000
        if not event.end_to_end:
            return [LogLine(text, WHISPER_OUT if outgoing else WHISPER_IN, when)]
        assert event.fingerprint is not None
        changed = event.security == E2E_CHANGED
        self.window.show_peer_key(peer, event.fingerprint, verified=not changed)
        if changed:
            return [LogLine(f"⚠ {text}", E2E_WARN, when)]
        lines = [LogLine(text, E2E_OUT if outgoing else E2E_IN, when, icon=LOCK)]
        if event.security == E2E_NEW:
            note = _(
                "* {peer}'s end-to-end key {key} is pinned now: "
                "compare it with {peer} out of band (they type /fingerprint)"
            ).format(peer=peer, key=event.fingerprint)
            lines.append(LogLine(note, SYSTEM, when))
        return lines

    # -- input ---------------------------------------------------------------------------

    def send_line(self, line: str) -> None:
        """Handle one line typed in the entry with the shared command parser."""
        command = parse_command(line)
        if command is None:
            return
        now = time.time()
        if isinstance(command, Usage):
            self.window.append([LogLine(f"! {command.text}", ERROR, now)])
            return  # keep the line so it can be corrected
        if isinstance(command, Help):
            self.window.append([LogLine(text, SYSTEM, now) for text in _(HELP_TEXT).splitlines()])
        elif isinstance(command, Quit):
            self.close()
            return
        elif isinstance(command, Fingerprint):
            client = self.client
            own = client.user_fingerprint if client is not None else None
            peer = (
                client.peer_fingerprint(command.name)
                if client is not None and command.name is not None
                else None
            )
            self.window.append([LogLine(describe_fingerprint(command, own, peer), SYSTEM, now)])
        elif self.client is not None:
            try:
                if isinstance(command, Say):
                    self.client.say(command.text)
                elif isinstance(command, Whisper):
                    self.client.whisper(command.to, command.text)
                else:
                    self.client.who()
            except ChatError as exc:
                self.window.append(
                    [LogLine(_("! not sent: {reason}").format(reason=exc.message), ERROR, now)]
                )
                return
        self.window.clear_entry()

    # -- closing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Say bye, end every thread this window started, destroy the window. Idempotent."""
        if self._closing.is_set():
            return
        self.root.withdraw()  # looks closed at once while bye is said
        self._end_session()
        self.root.destroy()

    def _on_destroy(self, event: tk.Event) -> None:
        if event.widget is self.root and not self._closing.is_set():
            self._end_session()

    def _end_session(self) -> None:
        self._closing.set()
        if self._poll_id is not None:
            self.root.after_cancel(self._poll_id)
            self._poll_id = None
        for client in (self.client, self._waiting):
            if client is not None:
                client.close()
        self.client = self._waiting = None
        if self._worker is not None:
            # Bounded by the connect timeout; the thread closes its own client.
            self._worker.join(self.settings.timeout + 1.0)
        while True:  # an outcome posted just before _closing was set
            try:
                outcome = self._outcomes.get_nowait()
            except queue.Empty:
                break
            if isinstance(outcome, (_LoggedIn, _NameRefused)):
                outcome.client.close()
        self.tracer.record("exit")
        self.tracer.close()

    @property
    def closed(self) -> bool:
        return self._closing.is_set()


# The client's own explanation of each stable error code (the server's message kept).
_FAILURES = {
    "connect_failed": N_("{reason}. Is the server running, and are host and port right?"),
    "bad_name": N_("The server refused the name: {reason}"),
    "plaintext_refused": N_("The server at {where} refuses unencrypted connections ({reason})."),
}
_FAILED = N_("Could not connect to {where}: {reason} ({code})")


def _describe_failure(error: ChatError, where: str) -> str:
    explain = _FAILURES.get(error.code, _FAILED)
    return _(explain).format(where=where, reason=error.message, code=error.code)


def main(args: argparse.Namespace) -> int:
    """Run the window client with ``socketlab client``'s parsed arguments (``args.e2e``
    is set by ``socketlab client``'s main from --no-e2e and --plain)."""
    settings = Settings(
        host=args.host,
        port=args.port,
        name=args.name or "",
        mode="plain" if args.plain else "box",
        verify=not args.no_verify,
        keylog=args.keylog,
        trace=args.trace,
        e2e=args.e2e,
    )
    try:
        root = tk.Tk(className="socketlab")
    except tk.TclError as exc:
        sys.stderr.write(
            _("error: cannot open a window ({problem}); use --tui for the terminal client").format(
                problem=exc
            )
            + "\n"
        )
        return 2
    app = ChatApp(root, settings, connect_now=args.name is not None)
    try:
        root.mainloop()
    except KeyboardInterrupt:
        app.close()
    return 0

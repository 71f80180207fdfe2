"""The terminal client: lines from stdin in, one line per event on stdout.

Three threads: ``stdin`` reads and sends what the user types (it blocks on
input), ``printer`` drains the client's event queue and prints, and the main
thread waits for either to finish, then closes the connection. Works the same
with a keyboard or a pipe; on end of input it says bye and exits 0.
Notices and errors that are not chat events go to stderr. Whispers are marked
as the window marks them (end to end, new contact, identity changed, or
transport-encrypted only), and a changed user identity prints both
fingerprints.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import BinaryIO

from socketlab.protocol import IdentityError, KeyLogWriter, Say, Whisper, Who

from .chat_client import ChatClient, ChatError
from .commands import (
    HELP_TEXT,
    Fingerprint,
    Help,
    Quit,
    Usage,
    describe_fingerprint,
    format_event,
    identity_change_lines,
    parse_command,
)
from .events import Disconnected, PeerIdentityChanged
from .language import _

EXIT_OK = 0
EXIT_ENDED = 1  # name refused, or the server ended the session
EXIT_CONNECT = 2  # could not connect, or the server's identity was refused


class _Output:
    """Whole lines to stdout from several threads, each flushed at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # A terminal or pipe that cannot show a character gets an escape, not a crash.
        sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]

    def line(self, text: str) -> None:
        with self._lock:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()


class _Input:
    """Lines from stdin, read unbuffered.

    The reading thread may still be blocked here when the program exits; a
    buffered reader would hold its lock then, and the interpreter aborts at
    shutdown waiting for it. The raw stream has no lock.
    """

    def __init__(self) -> None:
        self._raw: BinaryIO = sys.stdin.buffer.raw  # type: ignore[union-attr]
        self._encoding = sys.stdin.encoding or "utf-8"
        self.interactive = sys.stdin.isatty()

    def readline(self) -> str | None:
        """The next line without its ending; None at end of input."""
        data = self._raw.readline()
        if not data:
            return None
        return data.decode(self._encoding, errors="replace").rstrip("\r\n")

    def ask(self, prompt: str) -> str | None:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        return self.readline()


def _error(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _identity_warning(exc: IdentityError, where: str) -> str:
    if exc.code != "identity_changed":
        return _(
            "WARNING: refusing {where}: {reason}.\n"
            "Someone may be intercepting the connection (a man in the middle)."
        ).format(where=where, reason=exc.message)
    return _(
        "WARNING: the server at {where} is not the one you talked to before.\n"
        "  pinned:  {pinned}\n"
        "  offered: {offered}\n"
        "Someone may be intercepting the connection (a man in the middle), or the\n"
        "server's key was replaced. Refusing to connect. If you trust the new key,\n"
        "forget the old one:  socketlab client --forget-server {where}"
    ).format(where=where, pinned=exc.known, offered=exc.offered)


def _refusal(exc: ChatError, name: str) -> str:
    if exc.code == "name_taken":
        return _("! the name {name} is taken").format(name=name)
    return f"! {exc.code}: {exc.message}"


def run(
    host: str,
    port: int,
    name: str | None,
    *,
    mode: str = "box",
    verify: bool = True,
    keylog: str | os.PathLike[str] | KeyLogWriter | None = None,
    trace: str | os.PathLike[str] | None = None,
    e2e: bool = True,
) -> int:
    """Run the terminal client until end of input, /quit or disconnect; the exit status."""
    out, keyboard = _Output(), _Input()
    where = f"{host}:{port}"
    client = ChatClient(host, port, mode=mode, verify=verify, keylog=keylog, trace=trace, e2e=e2e)
    try:
        client.connect()
    except IdentityError as exc:
        _error(_identity_warning(exc, where))
        return EXIT_CONNECT
    except ChatError as exc:
        hint = _(" (is the server running?)") if exc.code == "connect_failed" else ""
        _error(_("error: {problem}").format(problem=exc) + hint)
        return EXIT_CONNECT
    try:
        _notices(client, where)
        try:
            status = _login(client, name, keyboard, out)
        except IdentityError as exc:  # the second connection, for a server without e2e
            _error(_identity_warning(exc, where))
            return EXIT_CONNECT
        if status is not None:
            return status
        if client.user_fingerprint is not None:  # known now: each name has its own
            own = client.user_fingerprint
            _error(_("* your end-to-end key: {key} (/fingerprint shows it again)").format(key=own))
        return _chat(client, keyboard, out)
    finally:
        client.close()


def _notices(client: ChatClient, where: str) -> None:
    if client.mode == "plain":
        _error(_("* plaintext session: anyone on the path can read it"))
    elif not client.verify:
        _error(
            _("* NOT verifying the server's identity (--no-verify): {key}").format(
                key=client.server_fingerprint
            )
        )
    elif client.pin_status == "new":
        _error(
            _("* first connection to {where}: pinned its identity {key}").format(
                where=where, key=client.server_fingerprint
            )
        )


def _login(client: ChatClient, name: str | None, keyboard: _Input, out: _Output) -> int | None:
    """Log in, asking for another name after a refusal when someone is typing; None
    once logged in, else the exit status (/quit at a prompt leaves, as in the chat)."""
    if not name and keyboard.interactive:
        name = keyboard.ask(_("your name: "))
    while True:
        if not keyboard.interactive and not name:
            _error(_("error: give a name with --name"))
            return EXIT_ENDED
        if name is None or not name.strip():
            _error(_("no name given: leaving without logging in"))
            return EXIT_ENDED
        if isinstance(parse_command(name), Quit):
            return EXIT_OK
        try:
            out.line(format_event(client.login(name), name))
            return None
        except ChatError as exc:
            out.line(_refusal(exc, name))
            if exc.code not in ("name_taken", "bad_name") or not keyboard.interactive:
                return EXIT_ENDED
        name = keyboard.ask(_("choose another name: "))


def _chat(client: ChatClient, keyboard: _Input, out: _Output) -> int:
    done = threading.Event()
    user_ended = threading.Event()

    def read_input() -> None:
        try:
            if _read_commands(client, keyboard, out):
                user_ended.set()
        finally:
            done.set()

    def print_events() -> None:
        try:
            while True:
                client.tracer.record("queue_wait")
                event = client.events.get()
                client.tracer.record("handling", type(event).__name__)
                if isinstance(event, PeerIdentityChanged):
                    for line in identity_change_lines(event):
                        out.line(line)
                else:
                    out.line(format_event(event, client.name))
                if isinstance(event, Disconnected):
                    return
        finally:
            done.set()

    # Daemons: the reader may block on input forever, and neither may keep the
    # process alive if the connection cannot be wound down.
    threading.Thread(target=read_input, name="stdin", daemon=True).start()
    printer = threading.Thread(target=print_events, name="printer", daemon=True)
    printer.start()
    try:
        while not done.wait(0.5):  # a timed wait lets Ctrl-C through on Windows too
            pass
    except KeyboardInterrupt:
        user_ended.set()
    client.close()
    printer.join(client.timeout)
    return EXIT_OK if user_ended.is_set() else EXIT_ENDED


def _read_commands(client: ChatClient, keyboard: _Input, out: _Output) -> bool:
    """Send what the user types; True at end of input or /quit, False if the line died."""
    while True:
        client.tracer.record("recv", "stdin")
        line = keyboard.readline()
        if line is None:
            return True
        client.tracer.record("handling")
        command = parse_command(line)
        try:
            match command:
                case None:
                    pass
                case Quit():
                    return True
                case Help():
                    for help_line in _(HELP_TEXT).splitlines():
                        out.line(help_line)
                case Usage(text=text):
                    out.line(f"! {text}")
                case Fingerprint(name=name):
                    peer = client.peer_fingerprint(name) if name is not None else None
                    out.line(describe_fingerprint(command, client.user_fingerprint, peer))
                case Say(text=text):
                    client.say(text)
                case Whisper(to=to, text=text):
                    client.whisper(to, text)
                case Who():
                    client.who()
        except ChatError as exc:
            out.line(f"! {exc.code}: {exc.message}")
            if exc.code in ("not_connected", "connection_lost"):
                return False

"""A headless chat client: one socket, the protocol's state machine, one thread.

``connect()`` and ``login()`` are synchronous, so a front end can show a
refused name or a changed server identity before anything else happens.
After login a thread named ``receive`` reads the socket and puts every
message on ``events`` (a ``queue.Queue``), ending with ``Disconnected``.
Front ends drain that queue on their own thread (Tk: with ``after()``).

With ``e2e=True`` whispers are end to end (docs/protocol.md, "End-to-end
whispers"): ``whisper()`` looks the recipient's signed key up (once per name
while they stay), pins their identity, and sends the text sealed to that key;
a recipient without a key (an old client) gets a plain whisper instead. The
server answers each lookup and each whisper in the order they were sent, so
``_outstanding`` pairs every answer with its request without any id on the
wire. Every whisper reaches ``events`` as a ``Whispered`` that says how far it
can be trusted; a whisper that fails a check arrives as ``WhisperRefused``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import queue
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from socketlab.protocol import (
    AnyMessage,
    Bye,
    ClientConnection,
    E2EError,
    E2EKeys,
    E2EMessage,
    Error,
    KeyLogWriter,
    Left,
    LocalProtocolError,
    Login,
    Lookup,
    Message,
    Peer,
    Ping,
    PinStore,
    Pong,
    ProtocolError,
    Say,
    SocketlabError,
    UserKey,
    UserPinStore,
    Welcome,
    Whisper,
    Who,
    accept_user_key,
    encode_message,
    fingerprint,
    keylog_from_env,
    name_key,
    open_e2e_message,
    seal_whisper,
    socketlab_home,
)
from socketlab.trace import NullTracer, Tracer, open_tracer

from .events import (
    CLOSED_BY_SERVER,
    CLOSED_BY_YOU,
    CONNECTION_LOST,
    E2E_CHANGED,
    E2E_NEW,
    E2E_VERIFIED,
    TRANSPORT,
    Disconnected,
    E2EUnavailable,
    PeerIdentityChanged,
    Security,
    Whispered,
    WhisperRefused,
)
from .identities import UserIdentities

log = logging.getLogger(__name__)

_RECV_SIZE = 65536
# How long close() waits for the server to answer our bye by closing its end.
_LINGER = 2.0
# The errors that answer a lookup or a whisper (the server sends nothing else back
# for them that could be confused with these).
_ANSWER_ERRORS = frozenset({"no_such_user", "no_e2e_key", "bad_name"})
# What a server older than end-to-end whispers answers a login with e2e fields
# (a strict decoder: an unknown field); each of them closes the connection.
_E2E_UNKNOWN = frozenset({"bad_message", "unknown_type", "unexpected_message"})
_SECURITY_OF_PIN: dict[str, Security] = {
    "new": E2E_NEW,
    "known": E2E_VERIFIED,
    "changed": E2E_CHANGED,
}

Event = (
    AnyMessage | Disconnected | Whispered | WhisperRefused | PeerIdentityChanged | E2EUnavailable
)


@dataclass
class _Lookup:
    """A lookup on its way: the name asked for, and the texts waiting for its key."""

    name: str
    texts: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Sent:
    """A whisper on its way; its copy comes back to us (or an error does)."""

    to_key: str
    peer: Peer | None  # None: a plain whisper (the recipient has no e2e key)
    security: Security


_Outstanding = _Lookup | _Sent


class ChatError(SocketlabError):
    """A chat operation failed, with a stable ``code``.

    Either the server's error code (name_taken, bad_name, plaintext_refused, ...)
    or one of the client's own: connect_failed, timeout, connection_lost,
    not_connected, not_logged_in, already_connected, already_logged_in.
    """


class _E2EUnknown(ChatError):
    """The server refused our login's e2e fields as unknown, and hung up."""


def _why(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or str(exc) or type(exc).__name__


class ChatClient:
    """One chat session with a server. Sends are safe from any thread.

    ``keylog`` is a path or a ``KeyLogWriter``; without one, ``$SOCKETLAB_KEYLOG``
    is used if set, else no key log is written. ``verify=False`` skips identity
    pinning (only for the lab that shows the man-in-the-middle attack).
    ``trace`` (a path or a ``Tracer``) records thread activity from login on,
    as process ``client:NAME``; ``tracer`` lets a front end add its own threads.
    ``e2e=True`` makes whispers end to end (see the module's docstring): each
    chat name has its own user identity on each server, kept in ``home``
    (default: the socketlab home, ``$SOCKETLAB_HOME``; see ``identities``), and
    other users' identities are pinned in its ``known_users``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        mode: str = "box",
        verify: bool = True,
        pins: PinStore | None = None,
        keylog: str | os.PathLike[str] | KeyLogWriter | None = None,
        timeout: float = 10.0,
        trace: str | os.PathLike[str] | Tracer | None = None,
        e2e: bool = False,
        home: str | os.PathLike[str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.mode = mode
        self.verify = verify
        self.timeout = timeout
        self.events: queue.Queue[Event] = queue.Queue()
        self.name: str | None = None
        self.server_fingerprint: str | None = None
        # "new" (pinned just now) or "known" after a verified box connect, else None.
        self.pin_status: Literal["new", "known"] | None = None
        self._pins = pins
        self._keylog = keylog if isinstance(keylog, KeyLogWriter) else keylog_from_env(keylog)
        self._sock: socket.socket | None = None
        self._conn = ClientConnection(mode)
        # Messages read but not yet handled: one recv can carry several frames.
        self._pending: deque[AnyMessage] = deque()
        self._trace_target = trace
        self.tracer: Tracer | NullTracer = NullTracer()
        self._owns_tracer = not isinstance(trace, Tracer)
        # Sealing advances a nonce counter, so seal and write must happen in one step.
        self._send_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._closing = False
        self._thread: threading.Thread | None = None
        # End-to-end whispers: our keys (made at login: the identity is our name's),
        # other users' pins and keys, requests in flight.
        self.e2e: E2EKeys | None = None
        self._identities: UserIdentities | None = None
        # True after the server refused our e2e key as unknown: whispers are marked
        # transport-encrypted only (see login()).
        self.e2e_unavailable = False
        self._user_pins: UserPinStore | None = None
        if e2e:
            folder = Path(home) if home is not None else socketlab_home()
            self._identities = UserIdentities(folder)
            self._user_pins = UserPinStore(folder / "known_users")
        # name_key -> the user's checked key, or None: that user's client has no e2e key.
        self._peers: dict[str, Peer | None] = {}
        self._outstanding: deque[_Outstanding] = deque()
        self._warned: set[tuple[str, bytes]] = set()  # (name_key, identity) already reported
        # Held while a tracked request is sent and recorded, and while an answer is taken.
        self._e2e_lock = threading.Lock()

    @property
    def user_fingerprint(self) -> str | None:
        """Our own user identity's fingerprint (to compare out of band); None without e2e
        or before login."""
        return fingerprint(bytes(self.e2e.identity.verify_key)) if self.e2e else None

    def peer_fingerprint(self, name: str) -> str | None:
        """The identity fingerprint of ``name`` as checked in this session, if known."""
        with self._e2e_lock:
            peer = self._peers.get(name_key(name))
        return peer.fingerprint if peer is not None else None

    # -- connecting ---------------------------------------------------------

    def connect(self) -> None:
        """Open the TCP connection, run the handshake and check the server's identity.

        Raises ``ChatError`` ("connect_failed", "timeout", or the server's refusal
        such as "plaintext_refused") or ``IdentityError`` (changed identity, bad
        signature); on any error the socket is closed again.
        """
        if self._sock is not None:
            raise ChatError("already_connected", f"already connected to {self._where}")
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise ChatError(
                "connect_failed", f"cannot connect to {self._where}: {_why(exc)}"
            ) from None
        self._sock = sock
        self._conn = ClientConnection(self.mode)
        self._pending.clear()
        try:
            self._handshake(sock)
        except BaseException:
            self._sock = None
            sock.close()
            raise

    def _handshake(self, sock: socket.socket) -> None:
        try:
            sock.sendall(self._conn.hello())
        except OSError as exc:
            raise ChatError("connection_lost", f"{self._where}: {_why(exc)}") from None
        answer = self._next_message()
        if isinstance(answer, Error):
            raise ChatError(answer.code, answer.message or "the server refused the connection")
        identity = self._conn.server_identity
        if identity is not None:
            self.server_fingerprint = fingerprint(identity)
            if self.verify:
                pins = self._pins if self._pins is not None else PinStore()
                self.pin_status = pins.check(self.host, self.port, identity)
        if self._keylog is not None and self._conn.session_key is not None:
            assert self._conn.client_key is not None
            self._keylog.write(self._conn.client_key, self._conn.session_key)

    def login(self, name: str) -> Welcome:
        """Ask for ``name``; return the server's welcome and start receiving.

        A refusal raises ``ChatError`` with the server's code ("name_taken",
        "bad_name", ...) and leaves the connection ready for another try.

        With e2e, a server that predates end-to-end whispers refuses the login's
        e2e fields as unknown and hangs up: then the client connects once more
        (the same identity checks), logs in without them, and says so with an
        ``E2EUnavailable`` event; its whispers are transport-encrypted only. Any
        other refusal is raised as it is (``--no-e2e`` stays the explicit way).
        """
        if self._sock is None or not self._conn.established:
            raise ChatError("not_connected", "connect() first")
        if self.name is not None:
            raise ChatError("already_logged_in", f"already logged in as {self.name}")
        try:
            welcome = self._log_in(name)
        except _E2EUnknown as refusal:
            self._reconnect_without_e2e(refusal.code)
            welcome = self._log_in(name)
        self.name = welcome.name
        if self.e2e is not None and self._identities is not None:
            self._identities.keep(self.host, self.port, self.name, self.e2e.identity)
        if self.e2e is not None and self._keylog is not None:
            self._keylog.write_e2e(self.e2e.public, self.e2e.secret_bytes)
        # Opened only now, because the trace names the process by our chat name.
        self.tracer = open_tracer(self._trace_target, f"client:{self.name}")
        # From now on only the receive thread reads, and it may wait forever
        # for the next message: the server's keepalive checks the line.
        assert self._sock is not None
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._receive, name="receive", daemon=True)
        self._thread.start()
        return welcome

    def _log_in(self, name: str) -> Welcome:
        """Send a login and read up to its answer (the welcome, or raise the refusal)."""
        # The bundle signs the name, so each try is signed afresh, by that name's identity.
        if self._identities is not None and not self.e2e_unavailable:
            self.e2e = E2EKeys(self._identities.find(self.host, self.port, name))
        bundle = self.e2e is not None
        self._send(self.e2e.login(name) if self.e2e is not None else Login(name))
        while True:
            msg = self._next_message()
            if isinstance(msg, Welcome):
                return msg
            if isinstance(msg, Error):
                if bundle and msg.code in _E2E_UNKNOWN and self._hung_up():
                    raise _E2EUnknown(msg.code, msg.message or msg.code)
                raise ChatError(msg.code, msg.message or f"the server refused the name {name!r}")
            if isinstance(msg, Ping):
                self._send(Pong())
            else:
                self.events.put(msg)

    def _hung_up(self) -> bool:
        """True if the server closes the connection next (after an error that closes)."""
        try:
            self._next_message()
        except ChatError as exc:
            return exc.code == "connection_lost"
        return False

    def _reconnect_without_e2e(self, code: str) -> None:
        """A new connection and handshake to the same server, to log in without e2e."""
        assert self._sock is not None
        self._sock.close()
        self._sock = None
        first_visit = self.pin_status == "new"
        self.connect()
        if first_visit:  # pinned by the first connection of this same login
            self.pin_status = "new"
        self.e2e = None
        self.e2e_unavailable = True
        self.events.put(E2EUnavailable(self._where, code))

    def _next_message(self) -> AnyMessage:
        """The next message from the server, reading the socket as needed (before login)."""
        assert self._sock is not None
        while not self._pending:
            try:
                data = self._sock.recv(_RECV_SIZE)
                self._pending.extend(self._conn.receive_data(data))
            except TimeoutError:
                raise ChatError(
                    "timeout", f"no answer from {self._where} within {self.timeout:g} s"
                ) from None
            except OSError as exc:
                raise ChatError("connection_lost", f"{self._where}: {_why(exc)}") from None
            except ProtocolError as exc:
                raise ChatError(exc.code, exc.message) from None
            if not data:
                raise ChatError("connection_lost", f"{self._where} closed the connection")
        return self._pending.popleft()

    # -- the receive thread -------------------------------------------------

    def _receive(self) -> None:
        reason = self._receive_until_end()
        if not self._closing:
            self._shutdown(socket.SHUT_RDWR)  # later sends fail at once instead of hanging
        log.debug("receive thread ends: %s", reason)
        self.tracer.record("exit")
        self.events.put(Disconnected(reason))

    def _receive_until_end(self) -> str:
        assert self._sock is not None
        last: AnyMessage | None = None
        while True:
            while self._pending:
                last = self._pending.popleft()
                if isinstance(last, Ping):
                    self._answer_ping()
                else:
                    self._deliver(last)
            try:
                self.tracer.record("recv")
                data = self._sock.recv(_RECV_SIZE)
                self.tracer.record("handling")
                self._pending.extend(self._conn.receive_data(data))
            except OSError as exc:
                return CLOSED_BY_YOU if self._closing else f"{CONNECTION_LOST} ({_why(exc)})"
            except ProtocolError as exc:
                return f"{exc.code}: {exc.message}"
            if not data:
                return self._end_reason(last)

    def _end_reason(self, last: AnyMessage | None) -> str:
        if self._closing:
            return CLOSED_BY_YOU
        if isinstance(last, Error):  # the server said why, then hung up
            return f"{last.code}: {last.message}" if last.message else last.code
        if isinstance(last, Bye):
            return CLOSED_BY_SERVER
        return CONNECTION_LOST

    def _answer_ping(self) -> None:
        try:
            self._send(Pong())
        except ChatError as exc:
            log.debug("pong not sent: %s", exc)  # the next recv reports the broken line

    # -- end-to-end whispers (the receive thread) ------------------------------

    def _deliver(self, msg: AnyMessage) -> None:
        """Put ``msg`` on ``events``; with e2e, first pair answers with our requests."""
        if self.e2e is None:
            if self.e2e_unavailable and isinstance(msg, Message) and msg.to is not None:
                self.events.put(Whispered(msg.sender, msg.to, msg.text, msg.ts, TRANSPORT))
            else:
                self.events.put(msg)
        elif isinstance(msg, UserKey):
            self._take_user_key(msg)
        elif isinstance(msg, E2EMessage):
            self._take_e2e_message(msg, self.e2e)
        elif isinstance(msg, Message) and msg.to is not None:
            self._take_plain_whisper(msg)
        elif isinstance(msg, Error) and msg.code in _ANSWER_ERRORS:
            self._take_refusal(msg)
        else:
            if isinstance(msg, Left):  # a new user of that name may have another key
                with self._e2e_lock:
                    self._peers.pop(name_key(msg.name), None)
            self.events.put(msg)

    def _take_user_key(self, msg: UserKey) -> None:
        with self._e2e_lock:
            asked = self._outstanding[0] if self._outstanding else None
            if not isinstance(asked, _Lookup):
                log.debug("user_key for %s answers no lookup of ours: ignored", msg.name)
                return
            self._outstanding.popleft()
            if name_key(msg.name) != name_key(asked.name):
                # The signature binds the name: another user's genuine bundle is no use.
                self._refuse_texts(
                    asked,
                    "e2e_misrouted",
                    f"asked for {asked.name}'s key, the server answered with {msg.name}'s",
                )
                return
            try:
                peer = accept_user_key(msg, self._user_pins, self.host, self.port)
            except E2EError as exc:
                self._refuse_texts(asked, exc.code, exc.message)
                return
            key = name_key(peer.name)
            self._peers[key] = peer
            for text in asked.texts:
                # Read again each time: after the first, a new contact is a known one.
                current = self._peers[key]
                assert current is not None
                self._send_waiting(functools.partial(self._send_to_peer, current, text))

    def _take_refusal(self, error: Error) -> None:
        with self._e2e_lock:
            if not self._outstanding:
                self.events.put(error)
                return
            asked = self._outstanding.popleft()
            if isinstance(asked, _Lookup) and error.code == "no_e2e_key":
                # An old client: its whispers can only be transport-encrypted.
                key = name_key(asked.name)
                self._peers[key] = None
                for text in asked.texts:
                    self._send_waiting(
                        functools.partial(
                            self._send_tracked,
                            Whisper(asked.name, text),
                            _Sent(key, None, TRANSPORT),
                        )
                    )
                return
        self.events.put(error)

    def _take_plain_whisper(self, msg: Message) -> None:
        assert msg.to is not None and self.name is not None
        if name_key(msg.sender) == name_key(self.name):
            with self._e2e_lock:
                self._pop_sent(name_key(msg.to), e2e=False)
        self.events.put(Whispered(msg.sender, msg.to, msg.text, msg.ts, TRANSPORT))

    def _take_e2e_message(self, msg: E2EMessage, keys: E2EKeys) -> None:
        assert self.name is not None
        ours = name_key(msg.sender) == name_key(self.name)
        sent: _Sent | None = None
        recipient: Peer | None = None
        if ours:
            with self._e2e_lock:
                sent = self._pop_sent(name_key(msg.to), e2e=True)
                recipient = sent.peer if sent is not None else self._peers.get(name_key(msg.to))
        try:
            opened = open_e2e_message(
                msg,
                keys,
                pins=self._user_pins,
                host=self.host,
                port=self.port,
                recipient=recipient,
            )
        except E2EError as exc:
            other = msg.to if ours else msg.sender
            self.events.put(WhisperRefused(other, exc.code, exc.message, outgoing=False))
            return
        peer = opened.peer
        with self._e2e_lock:
            if peer.pin == "changed":
                self._warn_changed(peer)
            elif not ours:  # a reply needs no lookup: the sender's key is checked and pinned
                self._peers[name_key(peer.name)] = dataclasses.replace(peer, pin="known")
        security = sent.security if sent is not None else _SECURITY_OF_PIN[peer.pin]
        self.events.put(
            Whispered(
                opened.sender,
                opened.to,
                opened.text,
                opened.ts,
                security,
                fingerprint=peer.fingerprint,
                pinned=peer.known_fingerprint,
            )
        )

    def _warn_changed(self, peer: Peer) -> None:
        """Report ``peer``'s changed identity once per session (its whispers stay marked).
        The caller holds ``_e2e_lock``."""
        seen = (name_key(peer.name), peer.identity)
        if seen in self._warned:
            return
        self._warned.add(seen)
        self.events.put(
            PeerIdentityChanged(
                peer.name, self._where, peer.known_fingerprint or "(unknown)", peer.fingerprint
            )
        )

    def _refuse_texts(self, asked: _Lookup, code: str, reason: str) -> None:
        for _text in asked.texts:
            self.events.put(WhisperRefused(asked.name, code, reason, outgoing=True))

    def _pop_sent(self, to_key: str, *, e2e: bool) -> _Sent | None:
        """Our oldest whisper in flight if this copy of one to ``to_key`` answers it."""
        head = self._outstanding[0] if self._outstanding else None
        if isinstance(head, _Sent) and head.to_key == to_key and (head.peer is not None) == e2e:
            self._outstanding.popleft()
            return head
        return None

    # -- end-to-end whispers (sending) -------------------------------------------

    def _whisper_end_to_end(self, to: str, text: str) -> None:
        key = name_key(to)
        with self._e2e_lock:
            if key in self._peers:
                peer = self._peers[key]
                if peer is None:
                    self._send_tracked(Whisper(to, text), _Sent(key, None, TRANSPORT))
                else:
                    self._send_to_peer(peer, text)
                return
            for asked in self._outstanding:
                if isinstance(asked, _Lookup) and name_key(asked.name) == key:
                    asked.texts.append(text)  # one lookup per name is enough
                    return
            self._send_tracked(Lookup(to), _Lookup(to, [text]))

    def _send_to_peer(self, peer: Peer, text: str) -> None:
        """Seal ``text`` for ``peer`` and send it (the caller holds ``_e2e_lock``)."""
        assert self.e2e is not None and self.name is not None
        if peer.pin == "changed":
            # Sealing to a key we cannot vouch for could hand the text to an impostor.
            self._warn_changed(peer)
            self.events.put(
                WhisperRefused(
                    peer.name,
                    "identity_changed",
                    f"not sent: {peer.name} signs with another identity than the one pinned",
                    outgoing=True,
                )
            )
            return
        key = name_key(peer.name)
        sealed = seal_whisper(self.e2e.secret, peer.key, self.name, peer.name, text)
        self._send_tracked(sealed, _Sent(key, peer, _SECURITY_OF_PIN[peer.pin]))
        if peer.pin == "new":  # first contact is marked once; afterwards it is the pin
            self._peers[key] = dataclasses.replace(peer, pin="known")

    def _send_tracked(self, msg: AnyMessage, pending: _Outstanding) -> None:
        """Send a request the server answers, and remember it: the caller holds
        ``_e2e_lock``, so requests are remembered in the order they went out."""
        self._send(msg)
        self._outstanding.append(pending)

    def _send_waiting(self, send: Callable[[], None]) -> None:
        """From the receive thread: send what waited for an answer; a dead line is
        reported by the next recv."""
        try:
            send()
        except ChatError as exc:
            log.debug("whisper not sent: %s", exc)

    # -- sending ------------------------------------------------------------

    def say(self, text: str) -> None:
        """Send ``text`` to everyone."""
        self._send_logged_in(Say(text))

    def whisper(self, to: str, text: str) -> None:
        """Send ``text`` to ``to`` only (the server echoes it back to us).

        With e2e the text is sealed for ``to`` (after a lookup of their key, the
        first time); what becomes of it arrives on ``events``.
        """
        if self.e2e is None or self.name is None:
            self._send_logged_in(Whisper(to, text))
            return
        try:
            encode_message(Whisper(to, text))  # the text's rules, checked before sealing
        except LocalProtocolError as exc:
            raise ChatError(exc.code, exc.message) from None
        self._whisper_end_to_end(to, text)

    def who(self) -> None:
        """Ask who is online; the answer arrives as ``Users`` on ``events``."""
        self._send_logged_in(Who())

    def _send_logged_in(self, msg: AnyMessage) -> None:
        if self.name is None:
            raise ChatError("not_logged_in", "log in first")
        self._send(msg)

    def _send(self, msg: AnyMessage) -> None:
        if self._closing:
            raise ChatError("not_connected", "the connection is closed")
        self._write(msg)

    def _write(self, msg: AnyMessage) -> None:
        assert self._sock is not None
        self.tracer.record("lock_wait")
        with self._send_lock:
            self.tracer.record("sending", msg.TYPE)
            try:
                self._sock.sendall(self._conn.send(msg))
            except LocalProtocolError as exc:  # e.g. text too long: nothing was sent
                raise ChatError(exc.code, exc.message) from None
            except OSError as exc:
                raise ChatError("connection_lost", f"{self._where}: {_why(exc)}") from None
            finally:
                self.tracer.record("handling")  # back in the caller's code

    # -- closing ------------------------------------------------------------

    def close(self) -> None:
        """Say bye, close the connection and wait for the receive thread. Idempotent."""
        with self._state_lock:
            if self._closing or self._sock is None:
                self._closing = True
                return
            sock = self._sock
            # Set before the bye, so the server hanging up in answer reads as our doing.
            self._closing = True
            if self._conn.established:
                # Bounded: after login the socket has no timeout of its own.
                sock.settimeout(self.timeout)
                try:
                    self._write(Bye())
                except ChatError as exc:
                    log.debug("bye not sent: %s", exc)
        # Half-close and let the server hang up first: closing with unread data
        # would send a reset, and the server could lose our bye.
        self._shutdown(socket.SHUT_WR)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(_LINGER)
            if thread.is_alive():
                self._shutdown(socket.SHUT_RDWR)  # wakes the blocked recv
                thread.join(self.timeout)
        sock.close()
        if self._owns_tracer:
            self.tracer.record("exit", "closed")  # the caller's thread is done with this client
            self.tracer.close()

    def _shutdown(self, how: int) -> None:
        assert self._sock is not None
        # Already shut down, reset or closed: nothing is left to do.
        with contextlib.suppress(OSError):
            self._sock.shutdown(how)

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def _where(self) -> str:
        return f"{self.host}:{self.port}"


__all__ = ["ChatClient", "ChatError", "Event"]

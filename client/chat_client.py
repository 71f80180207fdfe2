"""A headless chat client: one socket, the protocol's state machine, one thread.

``connect()`` and ``login()`` are synchronous, so a front end can show a
refused name or a changed server identity before anything else happens.
After login a thread named ``receive`` reads the socket and puts every
message on ``events`` (a ``queue.Queue``), ending with ``Disconnected``.
Front ends drain that queue on their own thread (Tk: with ``after()``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import threading
from collections import deque
from typing import Literal

from socketlab.protocol import (
    AnyMessage,
    Bye,
    ClientConnection,
    Error,
    KeyLogWriter,
    LocalProtocolError,
    Login,
    Ping,
    PinStore,
    Pong,
    ProtocolError,
    Say,
    SocketlabError,
    Welcome,
    Whisper,
    Who,
    fingerprint,
    keylog_from_env,
)
from socketlab.trace import NullTracer, Tracer, open_tracer

from .events import CLOSED_BY_SERVER, CLOSED_BY_YOU, CONNECTION_LOST, Disconnected

log = logging.getLogger(__name__)

_RECV_SIZE = 65536
# How long close() waits for the server to answer our bye by closing its end.
_LINGER = 2.0

Event = AnyMessage | Disconnected


class ChatError(SocketlabError):
    """A chat operation failed, with a stable ``code``.

    Either the server's error code (name_taken, bad_name, plaintext_refused, ...)
    or one of the client's own: connect_failed, timeout, connection_lost,
    not_connected, not_logged_in, already_connected, already_logged_in.
    """


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
        """
        if self._sock is None or not self._conn.established:
            raise ChatError("not_connected", "connect() first")
        if self.name is not None:
            raise ChatError("already_logged_in", f"already logged in as {self.name}")
        self._send(Login(name))
        while True:
            msg = self._next_message()
            if isinstance(msg, Welcome):
                break
            if isinstance(msg, Error):
                raise ChatError(msg.code, msg.message or f"the server refused the name {name!r}")
            if isinstance(msg, Ping):
                self._send(Pong())
            else:
                self.events.put(msg)
        self.name = msg.name
        # Opened only now, because the trace names the process by our chat name.
        self.tracer = open_tracer(self._trace_target, f"client:{self.name}")
        # From now on only the receive thread reads, and it may wait forever
        # for the next message: the server's keepalive checks the line.
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._receive, name="receive", daemon=True)
        self._thread.start()
        return msg

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
                    self.events.put(last)
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

    # -- sending ------------------------------------------------------------

    def say(self, text: str) -> None:
        """Send ``text`` to everyone."""
        self._send_logged_in(Say(text))

    def whisper(self, to: str, text: str) -> None:
        """Send ``text`` to ``to`` only (the server echoes it back to us)."""
        self._send_logged_in(Whisper(to, text))

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

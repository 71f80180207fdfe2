"""One connected client: its socket, protocol state, outbox and two threads.

The ``reader`` thread owns the connection's life: it reads, feeds the bytes
to the protocol, hands messages to the server, and when the stream ends it
waits for the writer, releases the socket and unregisters the client.

A peer knows its server only as a ``PeerHost`` (the three calls its reader
makes), so ``app.py`` imports this module and not the other way round.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Protocol

from socketlab.protocol import (
    MAX_TEXT,
    AnyMessage,
    Error,
    KeyLogWriter,
    LocalProtocolError,
    ProtocolError,
    ServerConnection,
    encode_message,
)
from socketlab.trace import RENAMED, NullTracer, Tracer

from .outbox import Outbox

log = logging.getLogger(__name__)

RECV_SIZE = 65536  # one read may carry many frames; larger buffers cost an allocation each
CLOSE_GRACE = 2.0  # seconds a closing client has to take its last bytes before it is cut


def recv_or_eof(sock: socket.socket) -> bytes:
    """``recv``, with a broken connection read as end of stream.

    The one place the reader meets ``OSError`` (reset, aborted, shut down by
    another thread): every way a stream ends looks alike to the caller.
    """
    try:
        return sock.recv(RECV_SIZE)
    except OSError:
        return b""


def error_for(exc: ProtocolError) -> Error:
    """The ``error`` frame telling a peer what it did wrong (its text kept sendable)."""
    error = Error(exc.code, exc.message[:MAX_TEXT])
    try:
        encode_message(error)
    except LocalProtocolError:
        return Error(exc.code)
    return error


class PeerHost(Protocol):
    """What a peer's reader thread calls on the server that owns it (``ChatServer``)."""

    def dispatch(
        self, peer: Peer, messages: list[AnyMessage]
    ) -> tuple[list[AnyMessage], float]:
        """Run the chat rules on what one read brought, and send the results.

        Returns the messages held back (the client is over its rate) and the
        seconds to wait before giving them again; ``([], 0.0)`` once all are handled.
        """

    def drop(self, peer: Peer, reason: str, error: Error | None, *, flush: bool = True) -> None:
        """Remove ``peer`` from the chat, send ``error`` (if any), close it."""

    def unregister(self, peer: Peer, reason: str) -> None:
        """The reader is finishing: forget ``peer`` (others get ``left`` if not yet)."""


class Peer:
    """A client connection, from accept to close."""

    def __init__(
        self,
        server: PeerHost,
        conn_id: int,
        sock: socket.socket,
        addr: tuple[str, int],
        conn: ServerConnection,
        *,
        sendq: int,
        keylog: KeyLogWriter | None,
        tracer: Tracer | NullTracer,
    ) -> None:
        self.conn_id = conn_id
        self.addr = addr
        self.name: str | None = None
        self.accepted_at = self.last_recv = time.monotonic()
        self.pinged_at = 0.0
        self._server = server
        self._sock = sock
        self._conn = conn
        self._keylog = keylog
        self._trace = tracer
        self._handshaken = False
        self.outbox = Outbox(sock, conn, sendq, tracer)
        label = f"{addr[0]}:{addr[1]}"
        self.reader = threading.Thread(target=self._read_loop, name=f"reader-{label}", daemon=True)
        self.writer = threading.Thread(
            target=self.outbox.run_writer, name=f"writer-{label}", daemon=True
        )

    @property
    def handshaken(self) -> bool:
        """True once the handshake is done (a client that said hello, not an idle socket)."""
        return self._handshaken

    @property
    def label(self) -> str:
        """Who this is, for the log: the user's name, else the address."""
        return self.name or f"{self.addr[0]}:{self.addr[1]}"

    def start(self) -> None:
        self.writer.start()
        self.reader.start()

    def logged_in(self, name: str) -> None:
        """Name the threads after the user, so traces and debuggers say who they serve."""
        self.name = name
        for thread in (self.reader, self.writer):
            new_name = f"{thread.name.split('-', 1)[0]}-{name}"
            # Tells the timeline that the row under the old name goes on under the new one.
            self._trace.record("exit", f"{RENAMED}{new_name}", thread=thread.name)
            thread.name = new_name
        self.outbox.writer_renamed(self.writer.name)

    def _read_loop(self) -> None:
        trace = self._trace
        reason = "connection_lost"
        try:
            while True:
                trace.record("recv")
                data = recv_or_eof(self._sock)
                self.last_recv = time.monotonic()
                if self.outbox.closing:
                    # We are closing: drop what still arrives until the peer hangs
                    # up, so closing does not reset the connection under our last frame.
                    if not data:
                        break
                    continue
                trace.record("handling")
                try:
                    messages = self._conn.receive_data(data)
                except ProtocolError as exc:
                    self._answer_hello()  # it may have come in the same read as the fault
                    reason = exc.code
                    self._server.drop(self, exc.code, error_for(exc))
                    continue
                if not data:
                    break
                if self._answer_hello():
                    messages = messages[1:]  # the client hello, answered by the protocol
                    self.outbox.flush()
                while messages:
                    messages, pause = self._server.dispatch(self, messages)
                    # Over its rate: read nothing more from this client for a while
                    # (TCP then slows the sender down); a close ends the pause early.
                    if messages and self.outbox.closing_event.wait(pause):
                        break
        finally:
            self._server.unregister(self, reason)
            self.outbox.close(None, flush=True)
            self.writer.join(CLOSE_GRACE)
            if self.writer.is_alive():
                self.outbox.abort()
                self.writer.join(CLOSE_GRACE)
            self.outbox.close_socket()
            trace.record("exit")

    def _answer_hello(self) -> bool:
        """Once, when the handshake is done: queue the server hello (plaintext, ahead of
        anything sealed) and log the session key if asked. True the time it happens."""
        if self._handshaken or not self._conn.established:
            return False
        self._handshaken = True
        self.outbox.put_raw(self._conn.data_to_send())
        if self._keylog is not None and self._conn.session_key is not None:
            assert self._conn.client_key is not None
            try:
                self._keylog.write(self._conn.client_key, self._conn.session_key)
            except OSError as exc:
                log.warning("cannot write the key log %s: %s", self._keylog.path, exc)
        return True

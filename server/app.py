"""``ChatServer``: the threads that carry out the hub's commands.

Threads: ``accept`` (accepts, and once per tick enforces the handshake
deadline and the keepalive), and per client ``reader-NAME`` and
``writer-NAME`` (see ``peer.py`` and ``outbox.py``).

One lock guards the registry and the hub. Under it, a reader runs the hub and
*queues* the resulting frames, so every client sees events in the hub's
order. Nothing is written to a socket under it: the writes happen after the
lock is released (``_write``), and never block (see ``outbox.py``).

Reading path: who takes which lock
----------------------------------

Three kinds of lock, always taken in this order (an arrow means "may take
the right one while holding the left one"; nothing is ever taken the other
way round, so no two threads can wait for each other)::

    ChatServer._lock (registry + hub)  ->  Outbox._lock (one client's queue)
    ChatServer._write_turn             ->  Outbox._lock

``_lock`` and ``_write_turn`` are never held together: a thread queues under
the first, lets go, then takes its turn to write under the second.
``Outbox._busy`` is not a lock but a token (the right to seal and write one
client's queue), taken and given back under ``Outbox._lock``; the thread
holding it writes with no lock held.

=============  ===============================  ====================  =============================
thread         ChatServer._lock                 ChatServer._write_    Outbox._lock / _cond
                                                turn
=============  ===============================  ====================  =============================
main           ``stop()``: close every outbox,  --                    via ``close``, ``abort``
               ``hub.disconnect`` each
accept         ``_admit`` (register, evict),    ``_write`` (after     via ``put``, ``close``,
               ``_sweep`` (copy the registry),  the registry lock)    ``flush``, ``abort``
               ``drop``, ``_send``
reader-NAME    ``dispatch`` (hub, then queue),  ``_write`` (after     via ``put``, ``close``,
               ``drop``, ``unregister``         the registry lock)    ``flush``; ``put_raw`` (hello)
writer-NAME    never                            never                 waits on ``_cond`` for work,
                                                                      takes ``_busy``, lets go,
                                                                      then ``sendall``
=============  ===============================  ====================  =============================

Never done under ``_lock``: any socket call, sealing (``Outbox.flush``),
waiting, joining a thread, writing the key log. Never done under
``_write_turn``: a blocking socket call (``flush`` sends with
``MSG_DONTWAIT``). Never done under ``Outbox._lock``: sealing or sending
(``abort``'s ``shutdown`` is the one socket call, and it does not block).
Where a thread may block: ``accept`` in ``select`` (one tick at most), a
reader in ``recv`` or in its flood pause (``Outbox.closing_event``), a writer
in ``sendall`` or on ``_cond``; ``abort`` (a ``shutdown``) frees the reader
and the writer of a client at once.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import selectors
import socket
import threading
import time
from collections import defaultdict
from types import TracebackType
from typing import Self

from nacl.signing import SigningKey

from socketlab.protocol import (
    AnyMessage,
    Error,
    KeyLogWriter,
    Ping,
    ServerConnection,
    SocketlabError,
    encode_frame,
    encode_message,
    fingerprint,
    frame_message,
)
from socketlab.trace import NullTracer, Tracer, open_tracer

from .commands import Broadcast, Close, Command, Log, Send, Throttle
from .flood import FloodLimits
from .hub import Hub
from .outbox import Outbox
from .peer import CLOSE_GRACE, RECV_SIZE, Peer

log = logging.getLogger(__name__)

LISTEN_BACKLOG = 256  # a class connecting at once should not see refused connections
ACCEPT_BATCH = 64  # connections taken per wakeup before the timers get a turn
EVICTION_LOG_EVERY = 10.0  # seconds between log lines about evicted pending connections


class ListenError(SocketlabError):
    """The server cannot listen where it was asked (port in use, address not ours, ...)."""


class _Batch:
    """Frames decided under the registry lock: queued per client, written after it.

    Frames are gathered per recipient first, so a read that carried many
    messages costs each recipient one queue operation and one write.
    """

    __slots__ = ("cut", "outboxes", "pending")

    def __init__(self) -> None:
        # conn_id -> frames not yet queued (``pending[conn_id].append(frame)``)
        self.pending: defaultdict[int, list[bytes]] = defaultdict(list)
        self.outboxes: dict[int, Outbox] = {}  # queued to: write after the lock
        self.cut: list[Outbox] = []  # dropped for sendq_exceeded


class ChatServer:
    """The chat server: ``start()``, ``address``, ``stop()``; also a context manager."""

    loop_thread_name = "accept"  # the thread start() begins (the event engine's loop is "events")
    accept_batch = ACCEPT_BATCH

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allow_plaintext: bool = False,
        identity: SigningKey | None = None,
        keylog: KeyLogWriter | str | os.PathLike[str] | None = None,
        trace: Tracer | NullTracer | str | os.PathLike[str] | None = None,
        max_clients: int = 250,
        max_pending: int = 64,
        max_pending_per_address: int = 16,
        flood: FloodLimits | None = None,
        sendq: int = 1_048_576,
        handshake_timeout: float = 10.0,
        keepalive: float = 30.0,
        nodelay: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.allow_plaintext = allow_plaintext
        self.identity = identity if identity is not None else SigningKey.generate()
        self.keylog = KeyLogWriter(keylog) if isinstance(keylog, (str, os.PathLike)) else keylog
        self._trace_target = trace
        self.trace: Tracer | NullTracer = NullTracer()  # the real one is opened by start()
        self.max_clients = max_clients  # logged-in users
        # Connections that have not logged in yet, bounded apart from the users, so
        # a loop holding idle connections open crowds out nobody (see _admit).
        self.max_pending = max_pending
        self.max_pending_per_address = max_pending_per_address
        self.flood = flood if flood is not None else FloodLimits()
        self.sendq = sendq
        self.handshake_timeout = handshake_timeout
        self.keepalive = keepalive
        # TCP_NODELAY: every frame leaves at once. Off, Nagle's algorithm holds a small
        # frame while an earlier one is unacknowledged: less CPU for the server (the
        # client's ACK carries the send), up to a delayed ACK (40 ms) more latency.
        self.nodelay = nodelay
        self._hub = Hub(max_members=max_clients, flood=self.flood)
        self._lock = threading.Lock()  # guards _hub and _peers
        # One thread at a time takes its turn to seal and send what it queued
        # (non-blocking sends, so a turn is short). Under the GIL, threads that
        # seal in parallel only trade the GIL at every PyNaCl call: measured 3x
        # slower for box at 200 clients. The hub keeps running meanwhile.
        self._write_turn = threading.Lock()
        self._peers: dict[int, Peer] = {}
        # Every peer whose threads may still run, in the chat or already gone from it
        # (its reader still ending): stop() joins them all. Under the lock.
        self._threaded: set[Peer] = set()
        self._prune_at = 64  # the size at which ended peers are dropped from it (amortised)
        self._ids = itertools.count(1)
        self._listener: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._evicted = 0  # pending connections evicted since the last log line
        self._evicted_last = ""  # the label of the last one
        self._evicted_logged_at = -EVICTION_LOG_EVERY

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Bind, listen and start the ``accept`` thread; raises ``ListenError``."""
        if self._listener is not None:
            raise RuntimeError("a ChatServer starts once")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            self._listener = socket.create_server(
                (self.host, self.port), family=family, backlog=LISTEN_BACKLOG
            )
        except OSError as exc:
            in_use = exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", None))
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ListenError(
                "address_in_use" if in_use else "listen_failed",
                f"cannot listen on {self.host}:{self.port}: {reason}",
            ) from None
        try:
            self.trace = open_tracer(self._trace_target, "server")
        except OSError:
            self._listener.close()
            raise
        self._listener.setblocking(False)
        self._wake = socket.socketpair()  # stop() writes a byte to wake the accept thread
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=self.loop_thread_name, daemon=True
        )
        self._accept_thread.start()

    @property
    def address(self) -> tuple[str, int]:
        """Where the server listens (the real port when started with port 0)."""
        if self._listener is None:
            raise RuntimeError("the server is not started")
        host, port = self._listener.getsockname()[:2]
        return host, port

    @property
    def fingerprint(self) -> str:
        """The identity's fingerprint, for clients to compare."""
        return fingerprint(bytes(self.identity.verify_key))

    def stop(self) -> None:
        """Tell every client (``shutting_down``), close the connections, join every thread."""
        if self._accept_thread is None:
            return
        assert self._listener is not None and self._wake is not None
        self._stopping.set()
        try:
            self._wake[1].send(b"!")
        except OSError:
            pass  # the accept thread is gone already; the join below returns at once
        self._accept_thread.join()
        self._accept_thread = None
        with self._lock:
            self._report_evictions(time.monotonic(), final=True)
        for sock in (self._listener, *self._wake):
            sock.close()
        self._close_peers()
        if self.trace is not self._trace_target:  # ours to close, not the caller's
            self.trace.close()
        log.info("server stopped")

    def _close_peers(self) -> None:
        """After the accept thread: ``shutting_down`` to every peer, then join their threads."""
        shutting_down = Error("shutting_down", "the server is shutting down")
        with self._lock:
            peers = list(self._peers.values())
            for peer in peers:
                peer.outbox.close(shutting_down, flush=True)
            for peer in peers:  # (the left notices go to closed outboxes: only the log sees them)
                self._run(self._hub.disconnect(peer.conn_id, "shutting_down"), _Batch())
        deadline = time.monotonic() + CLOSE_GRACE
        for peer in peers:
            peer.writer.join(max(0.0, deadline - time.monotonic()))
        for peer in peers:
            peer.outbox.abort()  # the last frames are out (or the peer stalled): end the readers
        with self._lock:
            ending, self._threaded = self._threaded, set()
        for peer in ending:
            peer.reader.join(2 * CLOSE_GRACE)
            if peer.reader.is_alive():
                log.warning("thread %s did not finish", peer.reader.name)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- called by reader threads ---------------------------------------------------

    def dispatch(
        self, peer: Peer, messages: list[AnyMessage]
    ) -> tuple[list[AnyMessage], float]:
        """Run the hub on what one read brought, queue the results, then write them.

        Returns what the hub held back (the sender is over its rate) and how many
        seconds the reader waits before it gives those again: ``([], 0.0)`` when
        everything was handled.
        """
        now_ms = time.time_ns() // 1_000_000
        batch = _Batch()
        held: list[AnyMessage] = []
        delay_ms = 0
        trace = self.trace
        trace.record("lock_wait")
        with self._lock:
            trace.record("handling")
            for i, msg in enumerate(messages):
                delay_ms = self._run(self._hub.handle(peer.conn_id, msg, now_ms), batch)
                if delay_ms:
                    held = messages[i:]
                    break
            self._queue(batch)
            name = self._hub.name_of(peer.conn_id) if peer.name is None else None
        if name is not None:
            peer.logged_in(name)
        self._write(batch)
        return held, delay_ms / 1000

    def drop(self, peer: Peer, reason: str, error: Error | None, *, flush: bool = True) -> None:
        """Remove ``peer`` from the chat (others get ``left``), send ``error``, close."""
        batch = _Batch()
        with self._lock:
            self._drop(peer, reason, error, flush, batch)
            self._queue(batch)
        self._write(batch)

    def unregister(self, peer: Peer, reason: str) -> None:
        """The reader is finishing: forget the peer (others get ``left`` if not yet)."""
        batch = _Batch()
        with self._lock:
            self._run(self._hub.disconnect(peer.conn_id, reason), batch)
            self._peers.pop(peer.conn_id, None)
            self._queue(batch)
        self._write(batch)

    def _write(self, batch: _Batch) -> None:
        """Write what a batch queued; the caller holds no lock."""
        for outbox in batch.cut:
            if outbox.writer_blocked:
                outbox.abort()  # its writer waits on a client that does not read: free it
        if not batch.outboxes:
            return
        self.trace.record("lock_wait")
        with self._write_turn:
            self.trace.record("sending")
            for outbox in batch.outboxes.values():
                outbox.flush()

    # -- carrying out commands (the caller holds the lock) ---------------------------

    def _run(self, commands: list[Command], batch: _Batch) -> int:
        """Carry out ``commands``; returns a ``Throttle``'s delay in ms, else 0."""
        delay_ms = 0
        for cmd in commands:
            if type(cmd) is Broadcast:
                frame = frame_message(cmd.msg)  # once, whatever the audience
                pending = batch.pending
                for conn_id in self._hub.members():
                    if conn_id != cmd.exclude:
                        pending[conn_id].append(frame)
            elif type(cmd) is Send:
                batch.pending[cmd.conn_id].append(frame_message(cmd.msg))
            elif type(cmd) is Close:
                self._queue(batch)  # what came before the close goes out before it
                peer = self._peers.get(cmd.conn_id)
                if peer is not None:
                    peer.outbox.close(cmd.error, flush=True)
            elif type(cmd) is Log:
                log.log(cmd.level, cmd.text)
            elif type(cmd) is Throttle:
                delay_ms = cmd.delay_ms
        return delay_ms

    def _queue(self, batch: _Batch) -> None:
        """Move the batch's frames into the outboxes; drop clients whose queue overflows."""
        while batch.pending:
            pending, batch.pending = batch.pending, defaultdict(list)
            overflow = []
            for conn_id, frames in pending.items():
                peer = self._peers.get(conn_id)
                if peer is None:
                    continue
                outbox = peer.outbox
                size = len(frames[0]) if len(frames) == 1 else sum(map(len, frames))
                if outbox.put(frames, size):
                    batch.outboxes[conn_id] = outbox
                else:
                    overflow.append(peer)
            for peer in overflow:
                log.warning("%s: SendQ exceeded (%d bytes), dropped", peer.label, self.sendq)
                batch.cut.append(peer.outbox)
                # Its left notices land in batch.pending: the next round queues them.
                self._drop(peer, "sendq_exceeded", _SENDQ_EXCEEDED, False, batch)

    def _drop(
        self, peer: Peer, reason: str, error: Error | None, flush: bool, batch: _Batch
    ) -> None:
        peer.outbox.close(error, flush=flush)  # first, so the left below skips it
        self._run(self._hub.disconnect(peer.conn_id, reason), batch)

    # -- the accept thread -------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None and self._wake is not None
        trace = self.trace
        # The tick bounds how late a deadline is noticed.
        tick = max(0.02, min(0.5, self.handshake_timeout / 4, self.keepalive / 4))
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ)
        selector.register(self._wake[0], selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                trace.record("recv", "accept")
                ready = selector.select(tick)
                trace.record("handling")
                if any(key.fileobj is self._listener for key, _ in ready):
                    self._accept_ready()
                self._sweep(time.monotonic())
        finally:
            selector.close()
            trace.record("exit")

    def _accept_ready(self) -> None:
        assert self._listener is not None
        for _ in range(self.accept_batch):
            try:
                sock, addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. out of file descriptors: keep serving the others
                log.warning("accept failed: %s", exc)
                return
            self._admit(sock, (addr[0], addr[1]))

    def _admit(self, sock: socket.socket, addr: tuple[str, int]) -> None:
        sock.setblocking(True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(self.nodelay))
        conn = ServerConnection(self.identity, allow_plaintext=self.allow_plaintext)
        batch = _Batch()
        with self._lock:
            full = self._hub.member_count() >= self.max_clients
            if not full:
                self._make_room(addr[0], batch)
                peer = self._new_peer(next(self._ids), sock, addr, conn)
                self._peers[peer.conn_id] = peer
                self._run(self._hub.connect(peer.conn_id, time.time_ns() // 1_000_000), batch)
            self._queue(batch)
        self._write(batch)
        if full:
            log.warning("refused %s:%d: the server is full (%d users)", *addr, self.max_clients)
            _refuse(sock, Error("server_full", f"the server is full ({self.max_clients} users)"))
            return
        log.debug("connection %d from %s:%d", peer.conn_id, *addr)
        peer.start()

    def _new_peer(
        self, conn_id: int, sock: socket.socket, addr: tuple[str, int], conn: ServerConnection
    ) -> Peer:
        """A peer with its two threads (the event engine makes its own kind). Under the lock."""
        peer = Peer(
            self, conn_id, sock, addr, conn, sendq=self.sendq, keylog=self.keylog, tracer=self.trace
        )
        if len(self._threaded) >= self._prune_at:
            self._threaded = {p for p in self._threaded if p.reader.is_alive()}
            self._prune_at = 2 * len(self._threaded) + 64
        self._threaded.add(peer)
        return peer

    def _make_room(self, host: str, batch: _Batch) -> None:
        """Before a new connection from ``host`` joins the pending ones (not logged in):
        if ``host`` has its share, or all pending places are taken, evict one pending
        connection, never a user. The victim is the least advanced (no hello yet
        before handshaken), oldest first, from ``host`` (or else from the address with
        the most pending): a loop of idle connections evicts its own, and a user who
        has said hello is not pushed out by connections that said nothing. The
        caller holds the lock."""
        pending = [
            peer
            for peer in self._peers.values()
            if not peer.outbox.closing and not self._hub.is_member(peer.conn_id)
        ]
        by_host: dict[str, list[Peer]] = {}
        for peer in pending:
            by_host.setdefault(peer.addr[0], []).append(peer)
        if len(by_host.get(host, ())) >= self.max_pending_per_address:
            victims = by_host[host]
        elif len(pending) >= self.max_pending:
            victims = max(by_host.values(), key=len)
        else:
            return
        victim = min(victims, key=lambda p: (p.handshaken, p.accepted_at))
        self._evicted += 1
        self._evicted_last = victim.label
        self._report_evictions(time.monotonic())
        text = "too many connections have not logged in yet; this one was the oldest"
        victim.outbox.close(Error("too_many_pending", text), flush=True, hang_up=True)
        self._run(self._hub.disconnect(victim.conn_id, "too_many_pending"), batch)

    def _report_evictions(self, now: float, *, final: bool = False) -> None:
        """Log the evictions not reported yet: at most one line every EVICTION_LOG_EVERY
        seconds, so a loop cannot flood the log, and every one counted (the sweep and
        the stop report the rest). The caller holds the lock."""
        if self._evicted and (final or now - self._evicted_logged_at >= EVICTION_LOG_EVERY):
            log.warning(
                "evicted %d connection(s) that had not logged in (too many pending; "
                "the last from %s)", self._evicted, self._evicted_last,
            )  # fmt: skip
            self._evicted, self._evicted_logged_at = 0, now

    def _sweep(self, now: float) -> None:
        """Deadlines: handshake and login, keepalive pings, idle peers, closing peers;
        evictions not reported yet."""
        with self._lock:
            self._report_evictions(now)
            peers = list(self._peers.values())
        quiet: list[Peer] = []
        for peer in peers:
            if peer.outbox.closing:
                if now - peer.outbox.closed_at > CLOSE_GRACE:
                    peer.outbox.abort()
            elif peer.name is None:
                if now - peer.accepted_at > self.handshake_timeout:
                    text = f"no handshake and login within {self.handshake_timeout:g} s"
                    self.drop(peer, "handshake_timeout", Error("handshake_timeout", text))
            elif now - peer.last_recv > 2 * self.keepalive:
                text = f"nothing heard for {2 * self.keepalive:g} s"
                self.drop(peer, "idle_timeout", Error("idle_timeout", text), flush=False)
            elif now - peer.last_recv > self.keepalive and peer.pinged_at < peer.last_recv:
                peer.pinged_at = now
                quiet.append(peer)
        if quiet:
            self._ping(quiet)

    def _ping(self, peers: list[Peer]) -> None:
        """Keepalive pings: a class that went quiet together is pinged in one batch."""
        batch = _Batch()
        ping = frame_message(Ping())  # once, like a broadcast
        with self._lock:
            for peer in peers:
                batch.pending[peer.conn_id].append(ping)
            self._queue(batch)
        self._write(batch)


_SENDQ_EXCEEDED = Error("sendq_exceeded", "you were not reading fast enough (SendQ exceeded)")


def _refuse(sock: socket.socket, error: Error) -> None:
    """Tell a connection we will not serve it (in plaintext: no handshake yet), then close."""
    try:
        sock.setblocking(False)
        sock.send(encode_frame(encode_message(error)))
        sock.shutdown(socket.SHUT_WR)
        # Read the client's hello if it is here: closing with unread data would
        # reset the connection and could destroy the error frame in flight.
        sock.recv(RECV_SIZE)
    except OSError:
        pass  # best effort: the client may already be gone
    finally:
        sock.close()

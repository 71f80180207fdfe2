"""``EventServer``: the same chat server on one thread, a ``selectors`` loop.

The threaded engine (``app.py``) gives every client a reader and a writer
thread: 1,000 clients are 2,000 threads taking turns at one GIL, and past a
few hundred clients the turns cost more than the work (the C10k problem).
This engine serves every client from one thread, ``events``: it waits in
``select`` for whichever sockets are ready, reads them (non-blocking), runs
the *same* hub and protocol objects, and writes what the socket takes now.

What changes and what does not:

* The hub, the commands it returns and how they are carried out (``_run``,
  ``_queue``, ``_make_room``, ``_sweep``) are ``ChatServer``'s own: this class
  only replaces the I/O. Its locks are still taken, never contended.
* Writes never block: a peer's outbox seals its queue and sends what the
  socket takes; the rest waits for the socket to be writable (``EVENT_WRITE``).
  The SendQ limit still drops a client that stops reading.
* Writes wait for the end of a loop turn, so the messages every ready socket
  brought in one turn go to each recipient in one sealed frame and one
  ``send``: the busier the server, the bigger the batches.
* Flood control: a client over its rate is taken out of the selector's read
  set until its delay has passed (TCP then slows it down), as the threaded
  reader sleeps.
* A deadline (handshake, keepalive, a close that takes too long) is checked
  once per tick, as the threaded ``accept`` thread does.

With ``trace=``, the timeline has one row, ``events``: waiting in ``select``
(``recv``), running the hub (``handling``), writing (``sending``).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import selectors
import socket
import time
from collections.abc import Callable, Iterable
from typing import cast

from socketlab.protocol import (
    AnyMessage,
    Error,
    KeyLogWriter,
    ProtocolError,
    ServerConnection,
    frame_message,
)
from socketlab.trace import NullTracer, Tracer

from .app import ChatServer, _Batch
from .outbox import Outbox, Phase
from .peer import CLOSE_GRACE, RECV_SIZE, Peer, PeerHost, error_for

log = logging.getLogger(__name__)

_READ, _WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
_LISTENER, _WAKE = "listener", "wake"  # selector data of the two sockets that are not peers


class EventOutbox(Outbox):
    """An outbox whose writer is the event loop: ``pump()`` sends what the socket takes.

    ``flush()`` (and anything else that leaves bytes to write) only tells the
    loop, through ``ready``; the loop pumps at the end of its turn.
    """

    def __init__(
        self,
        sock: socket.socket,
        conn: ServerConnection,
        limit: int,
        tracer: Tracer | NullTracer,
        ready: Callable[[], None],
    ) -> None:
        super().__init__(sock, conn, limit, tracer)
        self._ready = ready
        self.ended = False  # our side of the stream is shut (or cut): nothing more goes out
        self.peer: EventPeer  # set by the peer that owns it
        self._refused = False  # the last send left bytes the socket did not take

    @property
    def waiting(self) -> bool:
        """Bytes the socket did not take: wait until it is writable."""
        return self._refused and not self.ended

    @property
    def writer_blocked(self) -> bool:
        return False  # no thread ever waits on a peer that does not read

    def put(self, frames: list[bytes], size: int) -> bool:
        # Outbox.put without its lock: only the loop's thread ever touches this outbox.
        if self._phase is not Phase.OPEN:
            return True
        if self._queued + size > self._limit:
            return False
        self._frames += frames
        self._queued += size
        return True

    def put_raw(self, data: bytes) -> None:
        super().put_raw(data)
        self._ready()

    def flush(self) -> None:
        self._ready()

    def close(self, error: Error | None, *, flush: bool, hang_up: bool = False) -> None:
        super().close(error, flush=flush, hang_up=hang_up)
        self._ready()

    def abort(self) -> None:
        super().abort()
        self.ended = True

    def pump(self) -> bool:
        """Seal what is queued and send what the socket takes now; once closing and
        everything is out, end our side of the stream. Never blocks.

        True if what the selector watches may have to change (the socket did not
        take everything, or our side has ended); False in the usual case, all sent.
        """
        if self.ended or self._phase is Phase.CLOSED:
            return False
        last = self._phase is not Phase.OPEN
        raw, frames = self._take()
        if last and self._final is not None:
            frames.append(frame_message(self._final))
            self._final = None
        data = self._seal(raw, frames)
        if data:
            try:
                sent = self._sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self.abort()  # the peer is gone: its read sees the end and cleans up
                return True
            self._refused = sent < len(data)
            if self._refused:
                self._raw = data[sent:]
                self._queued += len(data) - sent
                return True
        if last:
            try:
                self._sock.shutdown(socket.SHUT_RDWR if self._hang_up else socket.SHUT_WR)
            except OSError:
                pass  # already disconnected
            self.ended = True
        return last


class EventPeer(Peer):
    """A client served by the event loop: a ``Peer`` without threads.

    ``Peer.__init__`` is not called: it makes the reader and writer threads
    this engine does without. What the server reads of a peer is set here.
    """

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
        ready: Callable[[EventPeer], None],
        started: Callable[[EventPeer], None],
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
        sock.setblocking(False)
        self.outbox: EventOutbox = EventOutbox(sock, conn, sendq, tracer, lambda: ready(self))
        self.outbox.peer = self
        self.reason = "connection_lost"  # why it ends, for the others' ``left``
        self.held: list[AnyMessage] = []  # messages held back by flood control
        self.finished = False  # unregistered from the chat; the socket may still be writing
        self.released = False  # the socket is closed
        self.events = 0  # what the selector watches for now
        self._started = started

    @property
    def sock(self) -> socket.socket:
        return self._sock

    @property
    def conn(self) -> ServerConnection:
        return self._conn

    def start(self) -> None:
        """No threads to start: the loop reads what the client already sent."""
        self._started(self)

    def logged_in(self, name: str) -> None:
        self.name = name

    def answer_hello(self) -> bool:
        """Queue the server hello once the handshake is done (see ``Peer``)."""
        return self._answer_hello()


class EventServer(ChatServer):
    """The chat server on one thread (``events``); same constructor and API as ``ChatServer``."""

    loop_thread_name = "events"
    # Few accepts per turn: the hellos of those just accepted are read before more
    # newcomers arrive, so a loop of idle connections cannot evict a user mid-handshake.
    accept_batch = 4

    def start(self) -> None:
        self._selector = selectors.DefaultSelector()
        # conn_id -> the outbox of a peer with bytes to pump at the end of the turn
        self._dirty: dict[int, Outbox] = {}
        self._paused: list[tuple[float, int, EventPeer]] = []  # heap of flood pauses
        self._pause_ids = itertools.count()  # ties in the heap never compare peers
        self._lingering: dict[EventPeer, None] = {}  # finished, last bytes still going out
        super().start()

    def _close_peers(self) -> None:
        """Nothing left to do: the loop said goodbye to everyone before it ended."""

    def _new_peer(
        self, conn_id: int, sock: socket.socket, addr: tuple[str, int], conn: ServerConnection
    ) -> Peer:
        peer = EventPeer(
            self,
            conn_id,
            sock,
            addr,
            conn,
            sendq=self.sendq,
            keylog=self.keylog,
            tracer=self.trace,
            ready=self._mark_ready,
            started=self._readable,
        )
        self._watch(peer)
        return peer

    def _mark_ready(self, peer: EventPeer) -> None:
        self._dirty[peer.conn_id] = peer.outbox

    def _write(self, batch: _Batch) -> None:
        """Nothing is written now: what a batch queued is pumped at the end of the turn
        (a peer cut for its SendQ needs nothing more: no thread of it can be blocked)."""
        self._dirty.update(batch.outboxes)

    # -- the loop -----------------------------------------------------------------------

    def _accept_loop(self) -> None:
        """The ``events`` thread: select, read, run the hub, write; until ``stop()``."""
        assert self._listener is not None and self._wake is not None
        trace = self.trace
        selector = self._selector
        selector.register(self._listener, _READ, _LISTENER)
        selector.register(self._wake[0], _READ, _WAKE)
        tick = max(0.02, min(0.5, self.handshake_timeout / 4, self.keepalive / 4))
        next_sweep = time.monotonic() + tick
        try:
            while not self._stopping.is_set():
                wake_at = min(next_sweep, self._paused[0][0]) if self._paused else next_sweep
                trace.record("recv", "select")
                ready = selector.select(max(0.0, wake_at - time.monotonic()))
                trace.record("handling")
                accept = False
                for key, mask in ready:
                    if key.data is _LISTENER:
                        accept = True
                    elif key.data is _WAKE:
                        self._drain_wake()
                    else:
                        peer: EventPeer = key.data
                        if mask & _WRITE:
                            self._writable(peer)
                        if mask & _READ and not peer.finished:
                            self._readable(peer)
                if accept:  # after the reads: a hello that is here counts before newcomers
                    self._accept_ready()
                now = time.monotonic()
                self._resume(now)
                if now >= next_sweep:
                    self._sweep(now)
                    self._reap(now)
                    next_sweep = now + tick
                self._pump_ready()
            self._say_goodbye()
        finally:
            selector.close()
            trace.record("exit")

    def _drain_wake(self) -> None:
        assert self._wake is not None
        try:
            self._wake[0].recv(64)
        except OSError:
            pass

    def _readable(self, peer: EventPeer) -> None:
        """What the threaded reader does with one ``recv``."""
        try:
            data = peer.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""  # reset, aborted: the end of the stream like any other
        peer.last_recv = time.monotonic()
        if peer.outbox.closing:
            # Closing: drop what still arrives until the peer hangs up, so closing
            # does not reset the connection under our last frame.
            if not data:
                self._finish(peer)
            return
        try:
            messages = peer.conn.receive_data(data)
        except ProtocolError as exc:
            peer.answer_hello()  # it may have come in the same read as the fault
            peer.reason = exc.code
            self.drop(peer, exc.code, error_for(exc))
            return
        if not data:
            self._finish(peer)
            return
        if peer.answer_hello():
            messages = messages[1:]  # the client hello, answered by the protocol
        if messages:
            self._deliver(peer, messages)

    def _deliver(self, peer: EventPeer, messages: list[AnyMessage]) -> None:
        """Run the hub; a flooder's rest is held and its socket no longer read."""
        held, pause = self.dispatch(peer, messages)
        peer.held = held if held and not peer.outbox.closing else []
        if peer.held:
            resume_at = time.monotonic() + pause
            heapq.heappush(self._paused, (resume_at, next(self._pause_ids), peer))
        self._watch(peer)

    def _resume(self, now: float) -> None:
        """Give held messages again once their delay has passed."""
        while self._paused and self._paused[0][0] <= now:
            _, _, peer = heapq.heappop(self._paused)
            if peer.held and not peer.finished and not peer.outbox.closing:
                self._deliver(peer, peer.held)

    def _writable(self, peer: EventPeer) -> None:
        self.trace.record("sending")
        peer.outbox.pump()
        self._watch(peer)
        self.trace.record("handling")

    def _pump_ready(self) -> None:
        """The end of a turn: each peer with something queued gets one seal and one send."""
        if not self._dirty:
            return
        self.trace.record("sending")
        outboxes, self._dirty = self._dirty, {}
        for outbox in cast("Iterable[EventOutbox]", outboxes.values()):
            if outbox.waiting:
                continue  # the socket is full: EVENT_WRITE will tell
            if outbox.pump():  # (the common case, all sent, changes nothing)
                self._watch(outbox.peer)
        self.trace.record("handling")

    def _watch(self, peer: EventPeer) -> None:
        """Make the selector watch what this peer needs now; release a finished peer."""
        if peer.released:
            return
        outbox = peer.outbox
        if peer.finished and (outbox.ended or not outbox.waiting):
            self._release(peer)
            return
        # A flooder is not read while it is held, unless it is closing: then what it
        # still sends is read and dropped, to see it hang up (as the threaded reader).
        reading = not peer.finished and (not peer.held or outbox.closing)
        events = (_WRITE if outbox.waiting else 0) | (_READ if reading else 0)
        if events == peer.events:
            return
        if peer.events == 0:
            self._selector.register(peer.sock, events, peer)
        elif events == 0:
            self._selector.unregister(peer.sock)
        else:
            self._selector.modify(peer.sock, events, peer)
        peer.events = events

    # -- the end of a connection ------------------------------------------------------

    def _finish(self, peer: EventPeer) -> None:
        """The stream ended: forget the peer, send what is left, then close (as the
        threaded reader's ``finally`` does)."""
        if peer.finished:
            return
        peer.finished = True
        peer.held = []
        self.unregister(peer, peer.reason)
        peer.outbox.close(None, flush=True)
        peer.outbox.pump()
        self._dirty.pop(peer.conn_id, None)
        if peer.outbox.waiting:
            self._lingering[peer] = None
        self._watch(peer)

    def _release(self, peer: EventPeer) -> None:
        if peer.events:
            self._selector.unregister(peer.sock)
            peer.events = 0
        peer.released = True
        self._lingering.pop(peer, None)
        peer.outbox.close_socket()

    def _reap(self, now: float) -> None:
        """Finished peers whose last bytes did not go out within the grace: cut them."""
        for peer in list(self._lingering):
            if now - peer.outbox.closed_at > CLOSE_GRACE:
                peer.outbox.abort()
                self._release(peer)

    def _say_goodbye(self) -> None:
        """``stop()``: ``shutting_down`` to everyone, then up to ``CLOSE_GRACE`` for it
        to go out (reading and dropping what clients still send), then close all."""
        shutting_down = Error("shutting_down", "the server is shutting down")
        with self._lock:
            peers = list(self._peers.values())
            for peer in peers:
                peer.outbox.close(shutting_down, flush=True)
            for peer in peers:  # (the left notices go to closed outboxes: only the log sees them)
                self._run(self._hub.disconnect(peer.conn_id, "shutting_down"), _Batch())
        self._pump_ready()
        everyone = [p for p in peers if isinstance(p, EventPeer)] + list(self._lingering)
        deadline = time.monotonic() + CLOSE_GRACE
        while any(p.outbox.waiting for p in everyone if not p.released):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, mask in self._selector.select(left):
                if isinstance(key.data, EventPeer):
                    peer = key.data
                    if mask & _WRITE:
                        peer.outbox.pump()
                    if mask & _READ and not self._discard_input(peer):
                        peer.finished = True  # it hung up: stop watching it read
                    self._watch(peer)
        for peer in everyone:
            if not peer.released:
                peer.outbox.abort()
                self._release(peer)

    @staticmethod
    def _discard_input(peer: EventPeer) -> bool:
        """Read and drop what a closing peer sends; False once it has hung up."""
        try:
            return bool(peer.sock.recv(RECV_SIZE))
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False

"""One client's outgoing side: a bounded queue, and one writer at a time.

Why not ``sendall`` straight from the thread that broadcasts? One client that
stops reading would then stall everyone. Why not hand each message to the
writer thread? Under the GIL a thread hand-off per message costs several times
the send itself. So:

* a broadcast only *queues* a frame (a cheap append, bounded by ``limit``
  bytes: overflow means the client is dropped, IRC's "SendQ exceeded");
* then, holding no lock, the broadcasting thread tries ``flush()``: if nobody
  is writing to this client it seals the whole queue and makes one
  non-blocking ``send``; whatever the socket does not take is left for
* the writer thread, which drains the whole queue into one blocking
  ``sendall`` each time it wakes.

Only the thread holding ``_busy`` (the write right) seals and writes, so
frames are sealed in counter order and reach the wire in that order.

State, all under ``_lock``: ``_busy`` is a token that either a flushing
thread or the writer holds; ``_phase`` is the outbox's life
(OPEN -> CLOSING -> CLOSED, never back); ``_writer_at`` is where the writer
thread is (waiting for work, sealing, or inside a ``sendall`` that a peer
which does not read can block). They are three separate things because they
change independently: the writer may hold the token while the outbox is
OPEN or CLOSING, and a flushing thread may hold it while the writer waits.
"""

from __future__ import annotations

import socket
import threading
import time
from enum import Enum

from socketlab.protocol import Error, ServerConnection, frame_message
from socketlab.trace import NullTracer, Tracer

# A non-blocking send on a socket other threads use in blocking mode. POSIX
# has the flag; where it is missing (Windows) every write goes through the
# writer thread, which is correct, only slower.
_DONTWAIT: int = getattr(socket, "MSG_DONTWAIT", 0)


class Phase(Enum):
    """An outbox's life; it only moves forward."""

    OPEN = "open"  # messages are queued and written
    CLOSING = "closing"  # no new messages; what is left (and a final error) goes, then EOF
    CLOSED = "closed"  # the socket is released


class WriterAt(Enum):
    """Where the writer thread is, for the two callers that must know."""

    WORKING = "working"  # sealing or between steps
    WAITING = "waiting"  # idle on the condition, waiting for work
    IN_SENDALL = "in_sendall"  # may be blocked on a peer that does not read


class Outbox:
    """What is waiting to be written to one client, and who may write it."""

    def __init__(
        self,
        sock: socket.socket,
        conn: ServerConnection,
        limit: int,
        tracer: Tracer | NullTracer,
    ) -> None:
        self._sock = sock
        self._conn = conn
        self._limit = limit
        self._trace = tracer
        # Callers take the plain lock (cheaper than the Condition's Python-level
        # __enter__); only the writer waits on the condition.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._frames: list[bytes] = []  # framed messages (frame_message), not yet sealed
        self._raw = b""  # wire bytes that go first: the handshake reply, or a partial send's rest
        self._queued = 0  # bytes in _frames and _raw, checked against the limit
        self._busy = False  # a thread holds the right to seal and write
        self._phase = Phase.OPEN
        self._writer_at = WriterAt.WORKING
        self._final: Error | None = None
        self._hang_up = False
        self.closed_at = 0.0  # time.monotonic() when closing began
        # Set when closing begins, so a reader pausing a flooder wakes at once.
        self.closing_event = threading.Event()

    @property
    def closing(self) -> bool:
        """True once the outbox stopped taking messages (closing or closed)."""
        return self._phase is not Phase.OPEN

    # -- called by any thread ----------------------------------------------------

    def put_raw(self, data: bytes) -> None:
        """Queue bytes to go out as they are, before any frame (the handshake reply)."""
        with self._lock:
            self._raw += data
            self._queued += len(data)

    def put(self, frames: list[bytes], size: int) -> bool:
        """Queue framed messages (``size`` bytes in all); False if over the limit."""
        with self._lock:
            if self._phase is not Phase.OPEN:
                return True  # nobody listens any more; not an overflow
            if self._queued + size > self._limit:
                return False
            self._frames += frames
            self._queued += size
            return True

    def flush(self) -> None:
        """Write what is queued now if that cannot block; else leave it to the writer."""
        with self._lock:
            if self._busy or self._phase is not Phase.OPEN or not (self._frames or self._raw):
                return
            if not _DONTWAIT:
                self._cond.notify()
                return
            self._busy = True
            raw, frames = self._take()
        data = self._seal(raw, frames)
        try:
            sent = self._sock.send(data, _DONTWAIT)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self.abort()  # the peer is gone; its reader sees that and cleans up
            sent = len(data)
        with self._lock:
            self._busy = False
            if sent < len(data):
                self._raw = data[sent:]
                self._queued += len(data) - sent
            if self._raw or self._frames or self._phase is not Phase.OPEN:
                self._cond.notify()

    def close(self, error: Error | None, *, flush: bool, hang_up: bool = False) -> None:
        """Send what is queued (if ``flush``), then ``error``, then end the stream.

        ``hang_up``: then also stop reading, instead of waiting for the peer to
        close its side (for a connection that may never do so, e.g. evicted).
        """
        with self._lock:
            if self._phase is not Phase.OPEN:
                return
            self._begin_closing()
            self._final = error
            self._hang_up = hang_up
            if not flush:
                self._frames.clear()
                self._queued = len(self._raw)  # a partial frame must still be completed
            self._cond.notify()

    def writer_renamed(self, name: str) -> None:
        """Start the writer's trace row under its new name if it is idle (idle writes no row)."""
        with self._lock:
            if self._writer_at is WriterAt.WAITING:
                self._trace.record("queue_wait", thread=name)

    @property
    def writer_blocked(self) -> bool:
        """True while the writer waits in ``sendall`` for a peer that does not read."""
        return self._writer_at is WriterAt.IN_SENDALL

    def abort(self) -> None:
        """Cut the connection now: wakes a reader in ``recv`` and a writer in ``sendall``."""
        with self._lock:
            if self._phase is Phase.OPEN:
                self._begin_closing()
            self._cond.notify()  # a waiting writer finishes (its sendall will fail fast)
            if self._phase is Phase.CLOSED:
                return
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already disconnected: the goal is reached

    def close_socket(self) -> None:
        """Release the socket (by its reader, once the writer has finished)."""
        with self._lock:
            self._phase = Phase.CLOSED
            self._sock.close()

    # -- the writer thread ----------------------------------------------------------

    def run_writer(self) -> None:
        """Body of the ``writer-NAME`` thread: drain the queue, one ``sendall`` per wakeup."""
        trace = self._trace
        try:
            while True:
                trace.record("queue_wait")
                with self._cond:
                    while self._busy or not (self._frames or self._raw or self.closing):
                        self._writer_at = WriterAt.WAITING
                        self._cond.wait()
                    self._writer_at = WriterAt.WORKING
                    last = self.closing
                    self._busy = True
                    raw, frames = self._take()
                    if last and self._final is not None:
                        frames.append(frame_message(self._final))
                trace.record("handling")
                data = self._seal(raw, frames)
                if data:
                    trace.record("sending")
                    self._writer_at = WriterAt.IN_SENDALL
                    self._sock.sendall(data)
                    self._writer_at = WriterAt.WORKING
                with self._lock:
                    self._busy = False
                if last:
                    self._sock.shutdown(socket.SHUT_RDWR if self._hang_up else socket.SHUT_WR)
                    return
        except OSError:
            self.abort()  # the reader sees the end and cleans up
        finally:
            self._writer_at = WriterAt.WORKING
            trace.record("exit")

    # -- helpers -----------------------------------------------------------------------

    def _begin_closing(self) -> None:  # the caller holds _lock
        self._phase = Phase.CLOSING
        self.closed_at = time.monotonic()
        self.closing_event.set()

    # (the caller holds _busy)

    def _take(self) -> tuple[bytes, list[bytes]]:
        raw, frames = self._raw, self._frames
        self._raw, self._frames, self._queued = b"", [], 0
        return raw, frames

    def _seal(self, raw: bytes, frames: list[bytes]) -> bytes:
        # One sealed frame carries as many queued messages as fit (one encryption each).
        if not frames:
            return raw
        data = self._conn.send_frames(frames)
        return raw + data if raw else data

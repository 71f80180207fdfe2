"""TCP stream reassembly that reports what it could not see instead of guessing.

Feed ``Segment``s in capture order to ``Reassembler.add``; it returns events:
``Opened``, ``Data`` (in-order bytes with their stream offset), ``Gap`` (a byte
range that was sent but never captured), ``Conflict`` (a retransmission whose
bytes differ from the first copy, which is the one kept) and ``Closed``.

Offsets count from the first byte after the SYN, or from the first byte seen
when the capture started mid-connection. They are Python ints, unwrapped from
the 32-bit sequence space, so wraparound and streams over 4 GiB just work.

Memory stays flat: out-of-order bytes are buffered up to ``max_buffer`` per
direction (beyond it the oldest hole is declared a gap), only a short tail of
delivered bytes is kept for conflict checks, closed connections are dropped,
and at most ``max_connections`` stay open.

Those two memories (closed connections, open ones) decide what a packet
means, so ``lifecycle``, if set, hears of every decision about them:
``("open", key)``, ``("close", key)`` and ``("stale", key)`` (a straggler
dropped because its connection is remembered as closed). ``read --jobs N``
uses it to check that a share of the connections decides as one process would.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import OrderedDict, deque

from socketlab.inspector.events import (
    Closed,
    CloseReason,
    Conflict,
    Connection,
    Data,
    Direction,
    Gap,
    Opened,
    StreamEvent,
)
from socketlab.inspector.packets import ACK, FIN, RST, SYN, Segment

_MOD = 1 << 32
_HALF = 1 << 31
_SYN_ACK = SYN | ACK
# Each buffered or remembered piece costs a tuple and a bytes object besides its
# payload: bound the count too, so a flood of 1-byte segments stays small.
_MAX_PIECES = 4096
# Remember this many closed 4-tuples, so stragglers (last ACK, retransmitted
# FIN) do not open a phantom connection.
CLOSED_MEMORY = 1024
MAX_CONNECTIONS = 10_000  # open at once; past it the least recently active is evicted


class _Half:
    """Reassembly state of one direction."""

    __slots__ = (
        "acked",
        "base",
        "conn",
        "direction",
        "fin_at",
        "next",
        "pending",
        "pending_bytes",
        "recent",
        "recent_bytes",
    )

    def __init__(self, conn: Connection, direction: Direction) -> None:
        self.conn = conn
        self.direction: Direction = direction
        self.base: int | None = None  # sequence number of offset 0
        self.next = 0  # next offset to deliver
        self.pending: list[tuple[int, bytes]] = []  # sorted, non-overlapping
        self.pending_bytes = 0
        self.fin_at: int | None = None
        self.acked = 0  # highest offset the peer acknowledged
        self.recent: deque[tuple[int, bytes]] = deque()  # delivered tail, for conflicts
        self.recent_bytes = 0

    @property
    def done(self) -> bool:
        return self.fin_at is not None and self.next >= self.fin_at


class _Conn:
    __slots__ = ("c2s", "conn", "last_ts", "s2c")

    def __init__(self, conn: Connection, ts: float) -> None:
        self.conn = conn
        self.c2s = _Half(conn, "c2s")
        self.s2c = _Half(conn, "s2c")
        self.last_ts = ts


def _unwrap(seq: int, base: int, expected: int) -> int:
    """A 32-bit sequence number as the stream offset nearest ``expected``."""
    delta = (seq - base - expected) % _MOD
    return expected + delta - _MOD if delta >= _HALF else expected + delta


def _start(piece: tuple[int, bytes]) -> int:
    return piece[0]


_Key = tuple[tuple[str, int], tuple[str, int]]  # the 4-tuple, in a fixed order
Lifecycle = tuple[str, _Key]  # ("open" | "close" | "stale", key)


def _key(a: tuple[str, int], b: tuple[str, int]) -> _Key:
    return (a, b) if a <= b else (b, a)


class Reassembler:
    """Turns TCP segments, in capture order, into per-connection byte-stream events."""

    def __init__(self, *, max_buffer: int = 1 << 20, history: int = 1 << 16,
                 max_connections: int = MAX_CONNECTIONS,
                 lifecycle: list[Lifecycle] | None = None) -> None:
        self.max_buffer = max_buffer  # out-of-order bytes held per direction
        self.history = history  # delivered bytes kept per direction to spot conflicts
        self.max_connections = max_connections
        self._open: OrderedDict[_Key, _Conn] = OrderedDict()  # least recently active first
        self._closed: OrderedDict[_Key, None] = OrderedDict()
        self._count = 0
        self.lifecycle = lifecycle

    def add(self, seg: Segment) -> list[StreamEvent]:
        # Runs once per captured packet: fields as locals, and no property or
        # ``_accept`` call for an in-order segment or a bare ACK (most of a capture).
        out: list[StreamEvent] = []
        ts, src, dst, seq, ack, flags, payload = seg
        key = (src, dst) if src <= dst else (dst, src)
        opening = flags & _SYN_ACK == SYN
        state = self._open.get(key)
        if state is not None:
            half = state.c2s if src == state.conn.client else state.s2c
            if opening and half.base is not None and (seq + 1) % _MOD != half.base:
                # A new SYN on a live 4-tuple: the old connection ended unseen.
                self._close(key, "evicted", state.last_ts, out)
                state = None
            else:
                self._open.move_to_end(key)
        if state is None:
            if key in self._closed and not opening:
                if self.lifecycle is not None:
                    self.lifecycle.append(("stale", key))
                return out  # straggler of a finished connection
            self._closed.pop(key, None)
            state = self._new_conn(key, seg, out)
            half = state.c2s if src == state.conn.client else state.s2c
        state.last_ts = ts
        other = state.s2c if half is state.c2s else state.c2s

        if flags & RST:
            self._close(key, "rst", ts, out)
            return out
        if half.base is None:
            half.base = (seq + 1) % _MOD if flags & SYN else seq
        if flags & ACK and other.base is not None:
            acked = _unwrap(ack, other.base, other.next)
            if acked > other.acked:
                other.acked = acked
        off = _unwrap(seq, half.base, half.next) + (1 if flags & SYN else 0)
        if payload:
            if off == half.next and half.fin_at is None and not half.pending:
                self._deliver(half, off, payload, ts, out)  # in order: _accept's common case
            else:
                self._accept(half, off, payload, ts, out)
        if flags & FIN and half.fin_at is None and off + len(payload) >= half.next:
            half.fin_at = off + len(payload)
            self._trim_to_fin(half)
        if half.fin_at is not None and other.fin_at is not None and half.done and other.done:
            self._close(key, "fin", ts, out)
        return out

    def finish(self) -> list[StreamEvent]:
        """End of capture: flush buffered data (gaps first) and close every open connection."""
        out: list[StreamEvent] = []
        for key in list(self._open):
            self._close(key, "capture_end", self._open[key].last_ts, out)
        self._closed.clear()
        return out

    def _new_conn(self, key: _Key, seg: Segment, out: list[StreamEvent]) -> _Conn:
        if seg.syn:
            client, server = (seg.dst, seg.src) if seg.has_ack else (seg.src, seg.dst)
        elif seg.src[1] >= seg.dst[1]:  # no SYN seen: the ephemeral (higher) port is the client
            client, server = seg.src, seg.dst
        else:
            client, server = seg.dst, seg.src
        conn = Connection(client, server, self._count)
        self._count += 1
        if self.lifecycle is not None:
            self.lifecycle.append(("open", key))
        if len(self._open) >= self.max_connections:
            oldest = next(iter(self._open))
            self._close(oldest, "evicted", seg.ts, out)
        state = self._open[key] = _Conn(conn, seg.ts)
        out.append(Opened(conn, seg.ts, seg.syn))
        return state

    def _close(self, key: _Key, how: CloseReason, ts: float, out: list[StreamEvent]) -> None:
        state = self._open.pop(key)
        if how != "fin":
            self._flush(state.c2s, ts, out)
            self._flush(state.s2c, ts, out)
        out.append(Closed(state.conn, how, ts))
        if self.lifecycle is not None:
            self.lifecycle.append(("close", key))
        self._closed[key] = None
        if len(self._closed) > CLOSED_MEMORY:
            self._closed.popitem(last=False)

    def _accept(self, half: _Half, off: int, data: bytes, ts: float,
                out: list[StreamEvent]) -> None:
        if half.fin_at is not None and off + len(data) > half.fin_at:
            data = data[:max(0, half.fin_at - off)]  # bytes past the FIN are not stream data
            if not data:
                return
        end = off + len(data)
        if off < half.next:  # overlaps what was delivered: a retransmission
            self._check_delivered(half, off, data[:half.next - off], ts, out)
            if end <= half.next:
                return
            data = data[half.next - off:]
            off = half.next
        if off == half.next and not half.pending:  # the common case: in order
            self._deliver(half, off, data, ts, out)
            return
        self._buffer(half, off, data, ts, out)
        self._drain(half, ts, out)
        while half.pending_bytes > self.max_buffer or len(half.pending) > _MAX_PIECES:
            start = half.pending[0][0]
            out.append(Gap(half.conn, half.direction, half.next, start - half.next, ts))
            half.next = start
            self._drain(half, ts, out)

    def _buffer(self, half: _Half, off: int, data: bytes, ts: float,
                out: list[StreamEvent]) -> None:
        """Add the parts of ``data`` not already buffered; compare the parts that are."""
        pending = half.pending
        end = off + len(data)
        i = max(0, bisect_right(pending, off, key=_start) - 1)
        pos = off
        pieces = []
        while pos < end and i < len(pending):
            start, chunk = pending[i]
            stop = start + len(chunk)
            if start >= end:
                break
            if stop > pos:
                if start > pos:
                    pieces.append((pos, data[pos - off:start - off]))
                lo, hi = max(start, pos), min(stop, end)
                if data[lo - off:hi - off] != chunk[lo - start:hi - start]:
                    out.append(Conflict(half.conn, half.direction, lo, hi - lo, ts))
                pos = stop
            i += 1
        if pos < end:
            pieces.append((pos, data[pos - off:]))
        for piece in pieces:
            insort(pending, piece, key=_start)
            half.pending_bytes += len(piece[1])

    def _drain(self, half: _Half, ts: float, out: list[StreamEvent]) -> None:
        """Deliver buffered pieces that now continue the stream, as one Data event."""
        pending = half.pending
        n = 0
        expected = half.next
        while n < len(pending) and pending[n][0] == expected:
            expected += len(pending[n][1])
            n += 1
        if n:
            chunks = [p[1] for p in pending[:n]]
            del pending[:n]
            data = b"".join(chunks)
            half.pending_bytes -= len(data)
            self._deliver(half, half.next, data, ts, out)

    def _deliver(self, half: _Half, off: int, data: bytes, ts: float,
                 out: list[StreamEvent]) -> None:
        out.append(Data(half.conn, half.direction, off, data, ts))
        half.next = off + len(data)
        half.recent.append((off, data))
        half.recent_bytes += len(data)
        recent = half.recent
        while recent and (half.recent_bytes - len(recent[0][1]) >= self.history
                          or len(recent) > _MAX_PIECES):
            half.recent_bytes -= len(recent.popleft()[1])

    def _check_delivered(self, half: _Half, off: int, data: bytes, ts: float,
                         out: list[StreamEvent]) -> None:
        """Report retransmitted bytes that differ from what was delivered (as far as kept)."""
        end = off + len(data)
        found = []
        for start, chunk in reversed(half.recent):  # newest first: retransmits are recent
            stop = start + len(chunk)
            if stop <= off:
                break
            lo, hi = max(start, off), min(stop, end)
            if lo < hi and data[lo - off:hi - off] != chunk[lo - start:hi - start]:
                found.append(Conflict(half.conn, half.direction, lo, hi - lo, ts))
        out.extend(reversed(found))

    def _trim_to_fin(self, half: _Half) -> None:
        fin_at = half.fin_at
        assert fin_at is not None
        kept = []
        for start, chunk in half.pending:
            if start < fin_at:
                kept.append((start, chunk[:fin_at - start]))
        half.pending[:] = kept
        half.pending_bytes = sum(len(c) for _, c in kept)

    def _flush(self, half: _Half, ts: float, out: list[StreamEvent]) -> None:
        """Give up on holes: report each as a gap and deliver what follows it."""
        while half.pending:
            start = half.pending[0][0]
            out.append(Gap(half.conn, half.direction, half.next, start - half.next, ts))
            half.next = start
            self._drain(half, ts, out)
        # Bytes sent (up to the FIN, or acknowledged by the peer) but never captured.
        end = half.fin_at if half.fin_at is not None else half.acked
        if half.base is not None and end > half.next:
            out.append(Gap(half.conn, half.direction, half.next, end - half.next, ts))
            half.next = end

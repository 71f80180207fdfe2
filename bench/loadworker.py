"""One load-generator process: a selectors loop over its share of the clients.

The parent (``bench.loadgen``) steers every worker through the same phases
with one shared integer, and workers publish their progress in shared
arrays: no messages between processes on the hot path. Every loop here is
bounded by ``LoadSpec.time_limit``.

While running, the parent also moves a shared *mark*: mark 2k starts the
warm-up of step k, 2k+1 starts its measurement and 2k+2 ends it. Each worker
notes its delivery count at every mark. At saturation step k keeps
``windows[k]`` messages in flight, so one run finds each server's plateau.
"""

from __future__ import annotations

import selectors
import socket
import time
from array import array
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Literal

from socketlab.protocol import SocketlabError

from .loadclients import WHISPER_SIZE, ChatLoadClient, IrcLoadClient, LoadClient, SetupError

# Phases, set by the parent in Shared.phase.
# STOP: report; CLOSE: close the sockets (only once every worker has counted, so
# one worker's closing cannot add "left" frames to another's counts).
SETUP, QUIET, PREFILL, RUN, DRAIN, STOP, CLOSE = range(7)

_RECV_SIZE = 65536
_SETUP_CONCURRENCY = 8  # handshakes in flight: within ngircd's listen backlog of 10
_QUIET_NS = 150_000_000  # no bytes for this long: the joins have settled
_MAX_WAIT = 0.005  # longest select(): phase changes are seen within this
_BURST = 64  # most messages one sender queues per loop turn
_PUBLISH_NS = 1_000_000  # saturation: how often a worker refreshes its slowest reader
SAMPLE_EVERY = 10  # decode="sample": one reader in this many decodes everything


@dataclass(frozen=True)
class LoadSpec:
    """What to run. ``rate=None`` saturates: senders keep ``windows[k]`` messages in flight."""

    address: tuple[str, int]
    protocol: Literal["socketlab", "irc"] = "socketlab"
    mode: Literal["plain", "box"] = "plain"
    clients: int = 50
    senders: int = 4
    rate: float | None = None  # messages/s offered by all senders together
    per_sender: int | None = None  # each sender stops after this many messages
    windows: tuple[int, ...] = (256,)  # saturation: sent but not yet at every reader, per step
    warmup: float = 0.5  # per step
    duration: float = 3.0  # measured, per step
    silent: int = 0  # clients that log in and then never read
    silent_rcvbuf: int = 4096  # their SO_RCVBUF: bounds what their kernel absorbs
    # Whispered to each silent client before the run, to fill its socket buffers
    # at once rather than after minutes of class load.
    prefill_bytes: int = 0
    prefill_timeout: float = 5.0  # a server that stalls on the silent client never finishes
    # probe: one decoding reader per process; sample: every SAMPLE_EVERY-th reader, so
    # latency comes from all along the join order while the rest only count cheaply.
    decode: Literal["all", "probe", "sample"] = "all"
    procs: int = 1
    setup_timeout: float = 30.0
    drain_timeout: float = 3.0

    @property
    def steps(self) -> int:
        """Measured steps: one per window at saturation, one when paced."""
        return len(self.windows) if self.rate is None else 1

    @property
    def time_limit(self) -> float:
        """A worker gives up after this long, whatever the parent does."""
        run = self.steps * (self.warmup + self.duration)
        return self.setup_timeout + 5.0 + self.prefill_timeout + run + self.drain_timeout + 30.0


@dataclass
class Shared:
    """Counters in shared memory, one slot per worker process."""

    phase: Any  # RawValue("i")
    mark: Any  # RawValue("i"): step boundaries while running (see the module's doc)
    ready: Any  # RawArray("i"): 1 once every client of the worker has logged in
    quiet: Any  # RawArray("i"): 1 while nothing arrives
    sent: Any  # RawArray("q"): messages sent by the worker's senders
    done: Any  # RawArray("i"): 1 once ``sent`` is final
    progress: Any  # RawArray("q"): least deliveries any reader has (saturation window)
    drained: Any  # RawArray("i"): 1 once every reader has everything it is owed
    prefilled: Any  # RawArray("i"): 1 once the prefill whispers came back to their sender

    @classmethod
    def create(cls, ctx: Any, procs: int) -> Shared:
        return cls(
            ctx.RawValue("i", SETUP),
            ctx.RawValue("i", 0),
            *(ctx.RawArray(code, procs) for code in "iiqiqii"),
        )


class _Conn:
    """A client and its socket."""

    def __init__(self, client: LoadClient, sender: int | None, silent: bool) -> None:
        self.client = client
        self.sender = sender  # global sender index, or None
        self.silent = silent
        self.sock: socket.socket | None = None
        self.writing = False


def run_worker(spec: LoadSpec, proc: int, shared: Shared, out: Connection) -> None:
    """Process entry point: run, send the result dict (or {"error": ...}), close."""
    worker = _Worker(spec, proc, shared)
    try:
        out.send(worker.run())
        while shared.phase.value != CLOSE:
            worker.check_deadline()
            time.sleep(0.01)
    except (OSError, SetupError, SocketlabError, TimeoutError) as exc:  # e.g. decrypt_failed
        out.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        worker.close()
        out.close()


class _Worker:
    """This process's clients, their sockets and counters."""

    def __init__(self, spec: LoadSpec, proc: int, shared: Shared) -> None:
        self.spec = spec
        self.proc = proc
        self.shared = shared
        self.latencies = array("q")
        self.sel = selectors.DefaultSelector()
        self.phase = SETUP
        self.last_rx_ns = time.perf_counter_ns()
        self.mark = 0
        self.at_mark: list[int] = [0]  # deliveries when each mark was seen
        self.published_ns = 0
        prefix = f"u{proc}n"
        first_silent = spec.clients - spec.silent
        self.conns: list[_Conn] = []
        for index in range(proc, spec.clients, spec.procs):
            name = f"{prefix}{index}"
            client: LoadClient
            if spec.protocol == "irc":
                client = IrcLoadClient(name, self.latencies, prefix)
            else:
                client = ChatLoadClient(name, self.latencies, prefix, spec.mode)
            sender = index if index < spec.senders else None
            self.conns.append(_Conn(client, sender, index >= first_silent))
        self.readers = [c for c in self.conns if not c.silent]
        self.senders = [c for c in self.conns if c.sender is not None]
        self.due_ns = [0] * len(self.senders)
        self.next_sender = 0
        idle = [c for c in self.readers if c.sender is None]
        self.probe = idle[0] if idle else None
        self.deadline = time.monotonic() + spec.time_limit

    def run(self) -> dict[str, Any]:
        self._setup()
        self.shared.ready[self.proc] = 1
        while True:
            self.check_deadline()
            phase = self.shared.phase.value
            if self.phase == RUN and self.shared.mark.value != self.mark:
                self._next_mark(self.shared.mark.value)
            if phase != self.phase:
                self._enter(phase)
            if self.phase >= STOP:
                return self._result()
            self._poll(self._send())
            self._publish()

    def close(self) -> None:
        for conn in self.conns:
            if conn.sock is not None:
                conn.sock.close()
        self.sel.close()

    def check_deadline(self) -> None:
        if time.monotonic() > self.deadline:
            raise TimeoutError(f"worker {self.proc} passed its time limit")

    # --- setup -------------------------------------------------------------

    def _setup(self) -> None:
        pending = deque(self.conns)
        starting: list[_Conn] = []
        limit = time.monotonic() + self.spec.setup_timeout
        while pending or starting:
            if time.monotonic() > limit:
                ready = sum(c.client.ready for c in self.conns)
                raise SetupError(
                    f"only {ready} of {len(self.conns)} clients logged in "
                    f"within {self.spec.setup_timeout:.0f} s"
                )
            while pending and len(starting) < _SETUP_CONCURRENCY:
                conn = pending.popleft()
                self._connect(conn)
                starting.append(conn)
            self._poll(0.05)
            if any(c.client.closed for c in starting):
                raise SetupError("the server closed a connection during login")
            starting = [c for c in starting if not c.client.ready]

    def _connect(self, conn: _Conn) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if conn.silent:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.spec.silent_rcvbuf)
        sock.settimeout(5.0)
        sock.connect(self.spec.address)
        sock.setblocking(False)
        # Nagle plus delayed ACKs would add tens of ms that are not the server's.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sock = sock
        self.sel.register(sock, selectors.EVENT_READ, conn)
        conn.client.start()
        self._flush(conn)

    # --- I/O ---------------------------------------------------------------

    def _poll(self, timeout: float) -> None:
        for key, mask in self.sel.select(timeout):
            conn: _Conn = key.data
            if mask & selectors.EVENT_READ:
                self._read(conn)
            if mask & selectors.EVENT_WRITE:
                self._flush(conn)

    def _read(self, conn: _Conn) -> None:
        assert conn.sock is not None
        try:
            data = conn.sock.recv(_RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            conn.client.closed = True
            self.sel.unregister(conn.sock)
            return
        now = time.perf_counter_ns()
        self.last_rx_ns = now
        conn.client.feed(data, now)
        if conn.client.outbox:
            self._flush(conn)
        if conn.silent and conn.client.ready:
            self.sel.unregister(conn.sock)  # from now on it never reads

    def _flush(self, conn: _Conn) -> None:
        assert conn.sock is not None
        if conn.client.closed:
            return  # the server dropped it (and it is out of the selector)
        outbox = conn.client.outbox
        try:
            sent = conn.sock.send(outbox)
        except BlockingIOError:
            sent = 0
        except OSError:
            conn.client.closed = True
            return
        del outbox[:sent]
        if bool(outbox) != conn.writing and not conn.silent:
            conn.writing = bool(outbox)
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if outbox else 0)
            self.sel.modify(conn.sock, events, conn)

    # --- phases and sending --------------------------------------------------

    def _enter(self, phase: int) -> None:
        now = time.perf_counter_ns()
        if phase == PREFILL:
            self._prefill()
        if phase >= RUN > self.phase:
            if self.spec.decode == "probe":
                for conn in self.readers:
                    conn.client.count_only = conn is not self.probe
            elif self.spec.decode == "sample":
                for i, conn in enumerate(self.readers):
                    conn.client.count_only = i % SAMPLE_EVERY != 0
            if self.spec.rate:
                period = self._period_ns()
                for i, conn in enumerate(self.senders):
                    assert conn.sender is not None
                    self.due_ns[i] = now + conn.sender * period // self.spec.senders
        if phase >= DRAIN > self.phase:
            self._next_mark(self.shared.mark.value)  # set before DRAIN: final by now
            self.shared.sent[self.proc] = self._sent()
            self.shared.done[self.proc] = 1
        self.phase = phase

    def _next_mark(self, mark: int) -> None:
        delivered = self._delivered()
        while self.mark < mark:  # a mark passed unseen gets the same count
            self.mark += 1
            self.at_mark.append(delivered)
            if self.mark == 1:  # the first measurement: latencies count from here
                now = time.perf_counter_ns()
                for conn in self.conns:
                    conn.client.since_ns = now

    def _period_ns(self) -> int:
        assert self.spec.rate
        return int(1e9 * self.spec.senders / self.spec.rate)

    def _send(self) -> float:
        """Queue what is due; return how long the loop may wait."""
        if self.phase != RUN or not self.senders:
            return _MAX_WAIT
        if self.spec.rate:
            return self._send_paced()
        self._send_window()
        return _MAX_WAIT

    def _send_paced(self) -> float:
        now = time.perf_counter_ns()
        period = self._period_ns()
        limit = self.spec.per_sender or 2**62
        for i, conn in enumerate(self.senders):
            burst = 0
            while self.due_ns[i] <= now and burst < _BURST and conn.client.sent < limit:
                conn.client.say(now)
                self.due_ns[i] += period
                burst += 1
            if burst:
                self._flush(conn)
        self.shared.sent[self.proc] = self._sent()
        wait = (min(self.due_ns) - time.perf_counter_ns()) / 1e9
        return min(_MAX_WAIT, max(0.0, wait))

    def _send_window(self) -> None:
        in_flight = sum(self.shared.sent) - min(self.shared.progress)
        window = self.spec.windows[min(self.mark // 2, len(self.spec.windows) - 1)]
        room = min(window - in_flight, _BURST * len(self.senders))
        if room <= 0:
            return
        now = time.perf_counter_ns()
        limit = self.spec.per_sender or 2**62
        queued = set()
        for _ in range(room):
            conn = self.senders[self.next_sender]
            self.next_sender = (self.next_sender + 1) % len(self.senders)
            if conn.client.sent >= limit:
                continue
            conn.client.say(now)
            queued.add(conn)
        for conn in queued:
            self._flush(conn)
        self.shared.sent[self.proc] = self._sent()

    def _owed_progress(self, conn: _Conn) -> int:
        """Deliveries plus, where the server does not echo, what it sent itself."""
        client = conn.client
        return client.stats.got + (0 if client.echo else client.sent)

    def _prefill(self) -> None:
        """The first sender whispers ``prefill_bytes`` to every silent client."""
        first = next((c for c in self.senders if c.sender == 0), None)
        if first is None or not self.spec.prefill_bytes:
            return
        assert isinstance(first.client, ChatLoadClient)
        silent = [f"u{i % self.spec.procs}n{i}" for i in self._silent_indices()]
        count = -(-self.spec.prefill_bytes // WHISPER_SIZE)
        for name in silent:
            first.client.whisper(name, count)
        self._flush(first)

    def _silent_indices(self) -> range:
        return range(self.spec.clients - self.spec.silent, self.spec.clients)

    def _prefill_done(self) -> bool:
        first = next((c for c in self.senders if c.sender == 0), None)
        if first is None or not self.spec.prefill_bytes:
            return True
        assert isinstance(first.client, ChatLoadClient)
        return not first.client.outbox and first.client.whispers_pending == 0

    def _publish(self) -> None:
        if self.phase == PREFILL:
            self.shared.prefilled[self.proc] = int(self._prefill_done())
        elif self.phase == QUIET:
            quiet = time.perf_counter_ns() - self.last_rx_ns > _QUIET_NS
            self.shared.quiet[self.proc] = int(quiet)
        elif self.phase == RUN and not self.spec.rate:
            now = time.perf_counter_ns()
            if now - self.published_ns < _PUBLISH_NS:
                return
            self.published_ns = now
            self.shared.progress[self.proc] = min(
                (self._owed_progress(c) for c in self.readers if not c.client.closed),
                default=2**62,
            )
        elif self.phase == DRAIN and all(self.shared.done):
            total = sum(self.shared.sent)
            self.shared.drained[self.proc] = int(
                all(self._owed_progress(c) >= total or c.client.closed for c in self.readers)
            )

    def _delivered(self) -> int:
        return sum(c.client.stats.got for c in self.readers)

    def _sent(self) -> int:
        return sum(c.client.sent for c in self.senders)

    def _result(self) -> dict[str, Any]:
        total = sum(self.shared.sent)
        lost = extra = 0
        for conn in self.readers:
            owed = total - (0 if conn.client.echo else conn.client.sent)
            lost += max(0, owed - conn.client.stats.got)
            extra += max(0, conn.client.stats.got - owed)
        return {
            "at_mark": self.at_mark,
            "sent": self._sent(),
            "expected": sum(total - (0 if c.client.echo else c.client.sent) for c in self.readers),
            "delivered": self._delivered(),
            "lost": lost,
            "extra": extra,
            "duplicates": sum(c.client.stats.duplicates for c in self.readers),
            "out_of_order": sum(c.client.stats.out_of_order for c in self.readers),
            "dropped": sum(c.client.closed for c in self.readers),
            "left": {k: v for c in self.readers for k, v in c.client.left.items()},
            "latencies": self.latencies.tobytes(),
        }

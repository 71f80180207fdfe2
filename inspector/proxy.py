"""A tap that needs no capture rights: relay TCP byte for byte and watch both directions.

Clients connect to the proxy; for each one the proxy connects to the target
and relays both ways (a half-close is passed on, so the other direction goes
on). Threads: ``proxy-accept``, and per connection ``proxy-c2s-N`` and
``proxy-s2c-N``. What crosses is reported as the inspector's events
(``inspector/events.py``), so the same decoder shows a sniff and a proxy
session:

- ``Opened(conn, ts, handshake=True)`` once the target accepted; ``conn`` is
  ``Connection(client address, target, N)``.
- ``Data(conn, direction, offset, data, ts)``: the bytes on the CLIENT's side
  of the proxy, "c2s" as the client sent them and "s2c" as it received them.
  (Without ``--mitm`` the target's side carries the very same bytes.)
- ``Closed(conn, how, ts)``: "fin" when both sides finished, "rst" when one
  vanished or the attack failed, "capture_end" when ``stop()`` cut it.

and three events of its own:

- ``Intercepted(conn, direction, message, ts)``: with ``mitm=True``, each
  message the proxy decoded, the handshake included (the "s2c" server_hello
  is the real server's, which the client never sees) and then every message
  it decrypted: the attack's loot.
- ``Failure(conn, code, message, ts)``: a connection that could not be served
  (``target_refused``, ``target_unreachable``) or whose attack failed (the
  protocol's code, e.g. ``decrypt_failed``, ``bad_signature``).
- ``Tampered(conn, direction, frame_no, kind, what, ts)``: a frame the tamper
  modes changed (below).

Recording (``record=PATH``, usually ``*.jsonl``): every event as a JSON line
(``inspector/recording.py``), which ``socketlab read`` shows again.

From Python (a lab check, a notebook)::

    from socketlab.inspector.proxy import Proxy

    with Proxy(target=("127.0.0.1", server_port), chunk=1) as proxy:
        sock = socket.create_connection(proxy.address)   # instead of the server
        ...
    proxy.events()                                       # everything it saw, in order

The framing torture (``torture.py``): ``chunk=1`` delivers every byte with
its own ``send`` and a ``gap`` between them (so a ``recv(1024)`` never
returns a whole message), ``chunk=N`` or ``chunk="random"`` (1–7 bytes)
cuts into other pieces, ``merge=N`` holds 2..N reads and delivers them with
one ``send``; ``seed`` makes the random draws repeatable; ``direction``
("both", "c2s" or "s2c") says which way is tortured.

The tamper modes (``tamper.py``): ``tamper="replay"|"reorder"|"reflect"|"flip"``
changes the ``frame``-th frame after the handshake on its way to the
``victim`` ("server" or "client"), once per connection, and reports it as
``Tampered(conn, direction, frame_no, kind, what, ts)``::

    with Proxy(target=server, tamper="flip", frame=2, seed=7) as proxy:
        ...  # the client's 2nd sealed frame reaches the server with one bit flipped
    [e for e in proxy.events() if isinstance(e, Tampered)]
"""

from __future__ import annotations

import errno
import logging
import os
import random
import select
import selectors
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Literal

from nacl.signing import SigningKey

from socketlab.protocol import DEFAULT_PORT, SocketlabError, fingerprint

from .errors import ProxyError
from .events import (
    Closed,
    CloseReason,
    Connection,
    Data,
    Direction,
    Failure,
    Intercepted,
    Opened,
    Tampered,
    TamperKind,
)
from .mitm import Interceptor, Relay, Translator
from .recording import ProxyEvent, RecordingWriter
from .tamper import FrameTamper, TamperStep, Victim, check_options
from .torture import Chunking, Pacer, Torture

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
_CHUNK = 65536
_JOIN_TIMEOUT = 5.0
_IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}
_DENIED = {errno.EACCES, getattr(errno, "WSAEACCES", errno.EACCES)}


DirectionChoice = Literal["both", "c2s", "s2c"]


def _why(exc: OSError) -> str:
    return "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)


class _Lane:
    """What goes one way: how it is delivered, and the lock of its socket's sends."""

    def __init__(self, pacer: Pacer, tamper: FrameTamper | None) -> None:
        self.pacer = pacer
        self.tamper = tamper
        self.send_lock = threading.Lock()
        self.sent = 0  # bytes delivered, the offset of the next Data event
        self.next_send = 0.0  # monotonic time before which a chunked piece must wait


class _Pair:
    """One client and the proxy's connection to the target for it."""

    def __init__(self, number: int, client: socket.socket, peer: tuple[str, int],
                 translator: Translator, lanes: dict[Direction, _Lane]) -> None:
        self.number = number
        self.client = client
        self.peer = peer
        self.translator = translator
        self.lanes = lanes
        self.upstream: socket.socket | None = None
        self.conn: Connection | None = None
        self.running = 1  # relay threads not yet finished
        self.how: CloseReason | None = None  # why it ends, if not a clean "fin"

    def destination(self, direction: Direction) -> socket.socket:
        if direction == "s2c":
            return self.client
        assert self.upstream is not None
        return self.upstream

    def cut(self, how: CloseReason) -> None:
        """End both directions now: a shut-down socket wakes the blocked recv."""
        self.how = self.how or how
        for sock in (self.client, self.upstream):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by the peer: nothing to wake

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            if sock is not None:
                sock.close()


class Proxy:
    """Relay ``listen_host:listen_port`` → ``target``; report and record what crosses.

    ``on_event`` is called from the relay threads, one event at a time, in
    the order they are recorded. ``mitm=True`` attacks box sessions (see
    ``inspector/mitm.py``) with ``mitm_identity``, else a fresh identity.
    ``chunk``, ``merge``, ``gap`` and ``hold`` torture the framing of the
    ``direction`` given (see ``inspector/torture.py``); ``tamper``,
    ``frame`` and ``victim`` attack one frame per connection (see
    ``inspector/tamper.py``); ``seed`` fixes the random draws (each
    connection and direction has its own generator, seeded from ``seed``, so
    a run repeats whatever the threads do). A bad option raises
    ``ProxyError("bad_option")``.
    """

    def __init__(
        self,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        target: tuple[str, int] = ("127.0.0.1", DEFAULT_PORT),
        *,
        on_event: Callable[[ProxyEvent], None] | None = None,
        record: str | os.PathLike[str] | None = None,
        mitm: bool = False,
        mitm_identity: SigningKey | None = None,
        chunk: Chunking = None,
        merge: int | None = None,
        seed: int = 0,
        direction: DirectionChoice = "both",
        gap: float = 0.005,
        hold: float = 0.05,
        tamper: TamperKind | None = None,
        frame: int = 1,
        victim: Victim = "server",
    ) -> None:
        if direction not in ("both", "c2s", "s2c"):
            raise ProxyError("bad_option", f"direction must be both, c2s or s2c, not {direction!r}")
        self.torture = Torture(chunk, merge, gap, hold)
        if victim not in ("server", "client"):
            raise ProxyError("bad_option", f"victim must be server or client, not {victim!r}")
        if tamper is not None and mitm:
            raise ProxyError("bad_option", "tamper with a session or attack it (mitm), not both")
        self.tamper = tamper
        self.frame = frame
        self.victim: Victim = victim
        check_options(tamper, frame)
        self.tortured: tuple[Direction, ...] = ("c2s", "s2c") if direction == "both" \
            else (direction,)
        self.seed = seed
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.target = target
        self.mitm = mitm
        self.identity = (mitm_identity or SigningKey.generate()) if mitm else None
        self._on_event = on_event
        self._record_path = Path(record) if record is not None else None
        self._record: RecordingWriter | None = None
        self._events: list[ProxyEvent] = []
        # Reentrant: an on_event callback may call events().
        self._emit_lock = threading.RLock()
        self._lock = threading.Lock()  # guards _pairs, _threads, _count
        self._pairs: set[_Pair] = set()
        self._threads: set[threading.Thread] = set()
        self._count = 0
        self._listener: socket.socket | None = None
        self._address: tuple[str, int] | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle ------------------------------------------------------------------

    def check_target(self) -> None:
        """Raise ``ProxyError`` (``target_refused``, ``target_unreachable``) unless the
        target accepts a connection now; the test connection is closed at once."""
        self._connect().close()

    def start(self) -> None:
        """Open the recording, bind, listen and start ``proxy-accept``; raises ``ProxyError``.

        A proxy starts once; to listen again, make a new one.
        """
        if self._address is not None:
            raise ProxyError("already_started", "this proxy was started already")
        if self._record_path is not None:
            try:
                self._record = RecordingWriter(self._record_path)
            except OSError as exc:
                raise ProxyError("record_failed",
                                 f"cannot write {self._record_path}: {_why(exc)}") from None
        try:
            self._listener = self._listen()
        except ProxyError:
            if self._record is not None:
                self._record.close()
                self._record = None
            raise
        host, port = self._listener.getsockname()[:2]
        self._address = (host, port)
        self._wake = socket.socketpair()  # stop() writes a byte to wake the accept thread
        self._accept_thread = threading.Thread(target=self._accept_loop, name="proxy-accept",
                                               daemon=True)
        self._accept_thread.start()
        log.info("proxy listening on %s:%d, relaying to %s:%d%s%s", *self.address, *self.target,
                 " (mitm)" if self.mitm else "",
                 f" ({self.torture} {'/'.join(self.tortured)})" if self.torture.active else "")

    def _listen(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.listen_host else socket.AF_INET
        where = f"{self.listen_host}:{self.listen_port}"
        try:
            return socket.create_server((self.listen_host, self.listen_port), family=family)
        except OSError as exc:
            if exc.errno in _IN_USE:
                raise ProxyError("port_in_use", f"cannot listen on {where}: the port is in "
                                 "use (another proxy or server?); choose another port") from None
            if exc.errno in _DENIED:
                raise ProxyError("port_denied", f"cannot listen on {where}: not allowed (ports "
                                 "below 1024 need root; on Windows the port may be reserved)"
                                 ) from None
            raise ProxyError("listen_failed", f"cannot listen on {where}: {_why(exc)}") from None

    @property
    def address(self) -> tuple[str, int]:
        """Where clients connect (the real port when started with port 0); kept after stop()."""
        if self._address is None:
            raise ProxyError("not_started", "start() the proxy first")
        return self._address

    @property
    def mitm_fingerprint(self) -> str | None:
        """The fingerprint of the identity the ``mitm`` proxy shows clients."""
        return fingerprint(bytes(self.identity.verify_key)) if self.identity else None

    def stop(self) -> None:
        """Stop accepting, cut every connection ("capture_end"), join every thread. Idempotent."""
        if self._accept_thread is None:
            return
        assert self._listener is not None and self._wake is not None
        self._stopping.set()
        try:
            self._wake[1].send(b"!")
        except OSError:
            pass  # the accept thread is gone already; the join returns at once
        self._accept_thread.join()
        self._accept_thread = None
        for sock in (self._listener, *self._wake):
            sock.close()
        with self._lock:
            for pair in self._pairs:
                pair.cut("capture_end")
            threads = list(self._threads)
        # No thread starts after this point: accept has ended, and a c2s thread
        # only starts its s2c partner while not stopping (checked under _lock).
        deadline = time.monotonic() + _JOIN_TIMEOUT
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("thread %s did not finish", thread.name)
        with self._emit_lock:
            if self._record is not None:
                self._record.close()
                self._record = None

    def __enter__(self) -> Proxy:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def events(self) -> list[ProxyEvent]:
        """Every event so far, in order."""
        with self._emit_lock:
            return list(self._events)

    # -- threads ---------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None and self._wake is not None
        self._listener.setblocking(False)
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake[0], selectors.EVENT_READ)
            while not self._stopping.is_set():
                selector.select()
                try:
                    client, peer = self._listener.accept()
                except (BlockingIOError, InterruptedError):
                    continue  # the wake-up byte, or a client that gave up meanwhile
                except OSError as exc:
                    log.warning("proxy: accept failed: %s", _why(exc))
                    self._stopping.wait(0.1)  # e.g. out of file descriptors: do not spin
                    continue
                client.setblocking(True)
                with self._lock:
                    pair = _Pair(self._count, client, peer[:2], self._translator(),
                                 self._lanes(self._count))
                    self._count += 1
                    self._pairs.add(pair)
                    self._spawn(f"proxy-c2s-{pair.number}", self._serve, pair)

    def _lanes(self, number: int) -> dict[Direction, _Lane]:
        directions: tuple[Direction, ...] = ("c2s", "s2c")
        return {d: _Lane(Pacer(self.torture if d in self.tortured else Torture(),
                               random.Random(f"{self.seed}:{number}:{d}")),
                         self._frame_tamper(number, d))
                for d in directions}

    def _frame_tamper(self, number: int, direction: Direction) -> FrameTamper | None:
        """Who tampers with ``direction``: the frames it carries to the victim, or for
        ``reflect`` the victim's own frames, which the other way must keep whole."""
        if self.tamper is None:
            return None
        to_victim: Direction = "c2s" if self.victim == "server" else "s2c"
        from_victim: Direction = "s2c" if to_victim == "c2s" else "c2s"
        tampered = from_victim if self.tamper == "reflect" else to_victim
        sender: Victim = "client" if direction == "c2s" else "server"
        rng = random.Random(f"{self.seed}:{number}:{direction}:tamper")
        if direction == tampered:
            return FrameTamper(self.tamper, self.frame, sender, rng)
        if self.tamper == "reflect":
            return FrameTamper(None, self.frame, sender, rng)  # only keeps frames whole
        return None

    def _translator(self) -> Translator:
        return Interceptor(self.identity) if self.identity is not None else Relay()

    def _spawn(self, name: str, run: Callable[[_Pair], None], pair: _Pair) -> None:
        """Start a relay thread (the caller holds ``_lock``)."""
        thread = threading.Thread(target=self._thread_main, args=(run, pair), name=name,
                                  daemon=True)
        self._threads.add(thread)
        thread.start()

    def _thread_main(self, run: Callable[[_Pair], None], pair: _Pair) -> None:
        try:
            run(pair)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _serve(self, pair: _Pair) -> None:
        """The c2s thread: connect to the target, start the s2c partner, relay c2s."""
        try:
            upstream = self._connect()
        except ProxyError as exc:
            log.warning("proxy: client %s:%d: %s", *pair.peer, exc)
            with self._lock:
                self._pairs.discard(pair)
            pair.client.close()
            self._emit(Failure(Connection(pair.peer, self.target, pair.number), exc.code,
                               exc.message, time.time()))
            return
        pair.conn = Connection(pair.peer, self.target, pair.number)
        self._emit(Opened(pair.conn, time.time(), handshake=True))
        with self._lock:
            pair.upstream = upstream
            if self._stopping.is_set():
                pair.cut("capture_end")  # stop() could not see this socket yet
            else:
                pair.running = 2
                self._spawn(f"proxy-s2c-{pair.number}", self._relay_s2c, pair)
        self._relay(pair, "c2s")

    def _relay_s2c(self, pair: _Pair) -> None:
        self._relay(pair, "s2c")

    def _relay(self, pair: _Pair, direction: Direction) -> None:
        """One direction's read loop; the one place socket errors are handled."""
        assert pair.conn is not None and pair.upstream is not None
        conn = pair.conn
        if direction == "c2s":
            src, feed = pair.client, pair.translator.from_client
        else:
            src, feed = pair.upstream, pair.translator.from_server
        lane = pair.lanes[direction]
        offset = 0
        failed: CloseReason | None = None
        try:
            # Chat frames are small: do not let Nagle's algorithm hold them back.
            pair.destination(direction).setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                # Only a merge that holds bytes waits with a limit. (Not a socket
                # timeout: src is the other thread's destination, whose sends must block.)
                wait = lane.pacer.wait_left(time.monotonic())
                if wait is not None and not select.select([src], [], [], wait)[0]:
                    self._send(pair, direction, lane.pacer.flush())
                    continue
                data = src.recv(_CHUNK)
                # Data events show the client's side of the proxy (see the docstring).
                if direction == "c2s" and data:
                    self._emit(Data(conn, direction, offset, data, time.time()))
                    offset += len(data)
                step = feed(data)
                for msg in step.seen:
                    self._emit(Intercepted(conn, direction, msg, time.time()))
                out = step.out
                if lane.tamper is not None:
                    out = self._tamper(pair, direction, lane.tamper.feed(out))
                if out:
                    self._send(pair, direction, lane.pacer.take(out, time.monotonic()))
                if not data:
                    break
            rest = lane.tamper.flush() if lane.tamper is not None else b""
            self._send(pair, direction, lane.pacer.take(rest, time.monotonic()) if rest else [])
            self._send(pair, direction, lane.pacer.flush())
            # Pass the half-close on; the other direction goes on.
            pair.destination(direction).shutdown(socket.SHUT_WR)
        except OSError as exc:  # a vanished peer ends this pair, and only this pair
            log.info("proxy: connection %d %s ended: %s", pair.number, direction, _why(exc))
            failed = "rst"
        except SocketlabError as exc:  # the attack cannot go on (bad frame, bad signature)
            log.warning("proxy: connection %d %s: %s", pair.number, direction, exc)
            self._emit(Failure(conn, exc.code, exc.message, time.time()))
            failed = "rst"
        self._finish(pair, failed)

    def _tamper(self, pair: _Pair, direction: Direction, step: TamperStep) -> bytes:
        """Report what was tampered with, send a reflected frame back; what goes on."""
        assert pair.conn is not None
        for done in step.done:
            self._emit(Tampered(pair.conn, direction, done.frame_no, done.kind, done.what,
                                time.time()))
        if step.back:
            self._send(pair, "s2c" if direction == "c2s" else "c2s", [step.back])
        return step.forward

    def _send(self, pair: _Pair, direction: Direction, pieces: list[bytes]) -> None:
        """Deliver ``pieces`` one ``send`` each, a chunked piece ``gap`` after the last."""
        assert pair.conn is not None
        lane = pair.lanes[direction]
        dst = pair.destination(direction)
        chunked = direction in self.tortured and self.torture.chunk is not None
        with lane.send_lock:
            for piece in pieces:
                if chunked:
                    # A pause the receiver can wake up in, so it reads this piece alone.
                    self._stopping.wait(max(0.0, lane.next_send - time.monotonic()))
                if direction == "s2c":
                    # Recorded before it is sent, so the recording keeps cause before
                    # effect: the client cannot answer bytes it has not yet been handed.
                    self._emit(Data(pair.conn, direction, lane.sent, piece, time.time()))
                dst.sendall(piece)
                lane.next_send = time.monotonic() + self.torture.gap
                lane.sent += len(piece)

    def _finish(self, pair: _Pair, failed: CloseReason | None) -> None:
        """One direction is done; the last one closes the pair and reports it."""
        assert pair.conn is not None
        with self._lock:
            if failed is not None:
                pair.cut(failed)  # wake the other direction: it cannot go on alone
            pair.running -= 1
            if pair.running:
                return
            self._pairs.discard(pair)
        pair.close()
        self._emit(Closed(pair.conn, pair.how or "fin", time.time()))

    def _connect(self) -> socket.socket:
        host, port = self.target
        try:
            sock = socket.create_connection(self.target, timeout=CONNECT_TIMEOUT)
        except ConnectionRefusedError:
            raise ProxyError("target_refused", f"{host}:{port} refused the connection; is the "
                             "server running there?") from None
        except OSError as exc:
            raise ProxyError("target_unreachable",
                             f"cannot connect to {host}:{port}: {_why(exc)}") from None
        sock.settimeout(None)
        return sock

    # -- events and the recording ----------------------------------------------------

    def _emit(self, event: ProxyEvent) -> None:
        with self._emit_lock:
            self._events.append(event)
            if self._record is not None:
                self._record.write(event)
            if self._on_event is not None:
                try:
                    self._on_event(event)
                except Exception:  # a broken viewer must not break the relay
                    log.exception("proxy: on_event failed for %s", type(event).__name__)

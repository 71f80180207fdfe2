"""``socketlab lab load 09``: the others' latency, with a writer thread per client and without.

Lab 09's server picks its kind of client by a parameter: ``serve(listener,
client_class=Client)`` is the student's (a bounded queue and a writer thread),
``client_class=DirectClient`` is lab 08's (``sendall`` in whichever thread has
something to send). This runs the student's server twice, once with each, in
a child process of its own (so the load's threads do not share its GIL), and
sends it the same load: N clients log in, K of them never read again, a few
of the others say numbered lines at a steady rate for a few seconds; every
reader notes when each line arrives. Then the clients that never read are
closed, and what was still held up arrives (or is counted lost).

The figures are the readers' latency (said -> received, one clock: same
process) and the lines never received; the chart plots every delivery's
latency against the moment it was said, one colour per run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from socketlab.protocol import ClientConnection, Error, Left, Login, Message, Say, Welcome

from .catalog import LabError
from .language import N_, _

SERVER_SNDBUF = 16 * 1024  # the server's socket buffers, small as in the checks: stalls come fast
STALLER_RCVBUF = 4096
SENDERS = 5  # readers that also speak
TITLE = N_("{clients} clients, {stall} never read; {senders} say {rate} lines/s "
           "of {size:,} characters for {seconds:g} s")
RATE = 20  # lines a second, each sender
TEXT_SIZE = 1000  # characters a line
DRAIN = 1.5  # seconds after the last line for the rest to arrive, before the stallers close
AFTER_CLOSE = 2.0  # seconds after the stallers close for what they held up
CONNECT_TIMEOUT = 5.0
MAX_CLIENTS = 200
EXCEPTION_LINE = re.compile(r"^[A-Za-z_.]*(Error|Exception): ")  # a traceback's last line
LOAD_LABS = ("09",)  # the labs whose server has the two kinds of client

RUNS = (("Client", "with your Client (a queue and a writer)"),
        ("DirectClient", "without (lab 08's DirectClient)"))


@dataclass
class RunResult:
    """What one run measured: every delivery to a reader, and what it owed."""

    client_class: str
    label: str
    expected: int = 0
    deliveries: list[tuple[float, float]] = field(default_factory=list)  # (said at, latency) s
    dropped: int = 0  # stalled clients the server announced as left{sendq_exceeded}
    stalled: int = 0

    @property
    def delivered(self) -> int:
        return len(self.deliveries)

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.delivered)

    def latency_ms(self, q: float) -> float | None:
        """The ``q`` quantile of latency (0.5, 0.99, 1.0), in milliseconds."""
        values = sorted(latency for _, latency in self.deliveries)
        if not values:
            return None
        return 1000 * values[min(len(values) - 1, int(q * len(values)))]


class _Reader:
    """A client that reads everything, on the load's selector thread."""

    def __init__(self, sock: socket.socket, conn: ClientConnection, name: str) -> None:
        self.sock, self.conn, self.name = sock, conn, name


def _connect(address: tuple[str, int], name: str, rcvbuf: int | None = None
             ) -> tuple[socket.socket, ClientConnection]:
    """A box client logged in as ``name`` (the server's signature checked, no pin kept)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(CONNECT_TIMEOUT)
    sock.connect(address)
    conn = ClientConnection("box")
    sock.sendall(conn.hello())
    pending: list[object] = []

    def next_message() -> object:
        while not pending:
            data = sock.recv(65536)
            if not data:
                raise LabError(_("the server closed {name}'s connection during the "
                                 "handshake").format(name=name))
            pending.extend(conn.receive_data(data))
        return pending.pop(0)

    next_message()  # server_hello
    sock.sendall(conn.send(Login(name)))
    while not isinstance(answer := next_message(), Welcome):
        if isinstance(answer, Error):
            raise LabError(_("the server refused {name}: {code} {message}").format(
                name=name, code=answer.code, message=answer.message))
    return sock, conn


class _Server:
    """The student's server in a child process, with the given client class."""

    def __init__(self, target: Path, client_class: str) -> None:
        # Closed in stop(); read by first_error() while the child runs.
        self._errors = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "socketlab.labs.load", "--serve", str(target), client_class],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors, text=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.process.wait(5)  # it has ended: its stderr says why
            why = self.first_error() or line.strip()
            self.stop()
            raise LabError(_("your server did not start: {error}").format(error=why))
        self.address = ("127.0.0.1", int(line))

    def first_error(self) -> str:
        """The first exception the server printed to stderr (what a thread of it raised)."""
        self._errors.seek(0)
        errors = [line.strip() for line in self._errors.read().splitlines()
                  if EXCEPTION_LINE.match(line)]
        return errors[0] if errors else ""

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()  # the child's signal to end
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._errors.close()


def run_once(target: Path, client_class: str, label: str, clients: int, stall: int,
             seconds: float) -> RunResult:
    """One run of the load against the student's server with ``client_class``."""
    result = RunResult(client_class, label, stalled=stall)
    server = _Server(target, client_class)
    sockets: list[socket.socket] = []
    readers: list[_Reader] = []
    said: dict[tuple[str, int], float] = {}
    stop = threading.Event()
    selector = selectors.DefaultSelector()
    try:
        try:
            for n in range(clients - stall):
                sock, conn = _connect(server.address, f"reader{n}")
                sockets.append(sock)
                sock.setblocking(False)
                readers.append(_Reader(sock, conn, f"reader{n}"))
                selector.register(sock, selectors.EVENT_READ, readers[-1])
            stallers = []
            for n in range(stall):
                sock, _conn = _connect(server.address, f"stalled{n}", rcvbuf=STALLER_RCVBUF)
                sockets.append(sock)
                stallers.append(sock)  # and it never reads again
        except (OSError, LabError) as error:
            why = server.first_error() or str(error)
            raise LabError(_("{label}: the clients could not log in ({error}) — "
                             "do the checks pass? socketlab lab check 09").format(
                label=label, error=why)) from None
        start = time.perf_counter()
        lock = threading.Lock()

        def receive() -> None:
            while not stop.is_set():
                for key, _events in selector.select(0.05):
                    reader: _Reader = key.data
                    try:
                        data = reader.sock.recv(65536)
                        messages = reader.conn.receive_data(data)
                    except BlockingIOError:
                        continue
                    except Exception:  # noqa: BLE001 - a broken connection is a reader lost
                        data, messages = b"", []
                    now = time.perf_counter()
                    if not data:
                        selector.unregister(reader.sock)
                    for msg in messages:
                        if isinstance(msg, Message) and msg.sender.startswith("reader"):
                            seq = int(msg.text.split(":", 1)[0])
                            with lock:
                                sent_at = said[(msg.sender, seq)]
                                result.deliveries.append((sent_at - start, now - sent_at))
                        elif isinstance(msg, Left) and msg.reason == "sendq_exceeded" \
                                and reader is readers[0]:
                            result.dropped += 1

        thread = threading.Thread(target=receive, name="load-readers", daemon=True)
        thread.start()
        senders = readers[:SENDERS]
        lines = int(seconds * RATE)
        for seq in range(lines):
            for sender in senders:
                text = f"{seq}:" + "x" * TEXT_SIZE
                with lock:
                    said[(sender.name, seq)] = time.perf_counter()
                    data = sender.conn.send(Say(text))
                sender.sock.setblocking(True)
                sender.sock.sendall(data)
                sender.sock.setblocking(False)
            pause = start + (seq + 1) / RATE - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        result.expected = lines * len(senders) * len(readers)
        _wait(lambda: result.delivered >= result.expected, DRAIN)
        for sock in stallers:
            sock.close()  # what a stalled client held up may move now
        _wait(lambda: result.delivered >= result.expected, AFTER_CLOSE)
        stop.set()
        thread.join(2)
    finally:
        stop.set()
        for sock in sockets:
            sock.close()
        selector.close()
        server.stop()
    return result


def _wait(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def report(results: list[RunResult]) -> list[str]:
    """The table: one line per run."""
    lines = [f"{'':<42}{'delivered':>10}{'lost':>7}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}"
             "   stalled clients dropped"]
    lines += [f"{run.label:<42}{run.delivered:>10,}{run.lost:>7,}"
              f"{_ms(run.latency_ms(0.5)):>10}{_ms(run.latency_ms(0.99)):>10}"
              f"{_ms(run.latency_ms(1.0)):>10}   {run.dropped} of {run.stalled}"
              for run in results]
    return lines


def chart(results: list[RunResult], out: Path, title: str) -> Path:
    """Every delivery's latency against when its line was said, one colour per run."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for run, colour in zip(results, ("tab:green", "tab:red"), strict=False):
        if run.deliveries:
            axes.scatter([at for at, _ in run.deliveries],
                         [max(latency * 1000, 0.01) for _, latency in run.deliveries],
                         s=4, alpha=0.4, color=colour, label=run.label)
    axes.set_yscale("log")
    axes.set_xlabel("when the line was said (s since the first)")
    axes.set_ylabel("latency to a reader (ms, log scale)")
    axes.set_title(title, fontsize=10)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, markerscale=4,
                frameon=False)
    axes.grid(True, which="major", alpha=0.3)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    return out


def run_load(target: Path, clients: int, stall: int, seconds: float, out: Path,
             say: Callable[[str], None] = print) -> list[RunResult]:
    """Both runs against ``target``; prints the table and writes the chart to ``out``."""
    if not (target / "chat_server.py").is_file():
        raise LabError(_("there is no {file} in {folder}").format(file="chat_server.py",
                                                                   folder=target))
    if not 2 <= clients <= MAX_CLIENTS or not 0 <= stall <= clients - 2:
        raise LabError(_("--clients is 2 to {most}, --stall 0 to clients - 2").format(
            most=MAX_CLIENTS))
    if not 0.5 <= seconds <= 10:
        raise LabError(_("--seconds is 0.5 to 10"))
    senders = min(SENDERS, clients - stall)
    # The chart keeps the English (its fonts may have no Hangul); the terminal speaks Korean.
    shape = {"clients": clients, "stall": stall, "senders": senders, "rate": RATE,
             "size": TEXT_SIZE, "seconds": seconds}
    say(_("lab 09 · load: {title}").format(title=_(TITLE).format(**shape)))
    say(_("the stalled clients close {after:g} s after the first line; "
          "what they held up arrives after that").format(after=seconds + DRAIN) + "\n")
    results = [run_once(target, name, label, clients, stall, seconds) for name, label in RUNS]
    for line in report(results):
        say(line)
    say("\n" + _("chart: {path}").format(path=chart(results, out, TITLE.format(**shape))))
    return results


def _serve(target: Path, client_class: str) -> None:
    """The child: the student's serve() with ``client_class``; ends when stdin closes."""
    from . import harness  # the checks' loader: a fresh import of the student's file

    os.environ["SOCKETLAB_LAB_TARGET"] = str(target)
    module = harness.load("chat_server.py")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SERVER_SNDBUF)
    threading.Thread(target=module.serve, args=(listener, None, getattr(module, client_class)),
                     name="serve", daemon=True).start()
    print(listener.getsockname()[1], flush=True)
    sys.stdin.read()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m socketlab.labs.load")
    parser.add_argument("--serve", nargs=2, metavar=("TARGET", "CLASS"), required=True)
    args = parser.parse_args(argv)
    _serve(Path(args.serve[0]), args.serve[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())

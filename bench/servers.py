"""The servers under test, each in its own process.

A server runs in a child process so that its CPU, threads and RSS are its
own and the load generator does not share its GIL. socketlab's two engines
(``socketlab``: ``ChatServer``, threads; ``events``: ``EventServer``, one
selectors loop) and the seed-style baseline run in a ``multiprocessing`` spawn
child; ngircd runs as itself (``ngircd -n -f CONF``) on a free port.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

Kind = Literal["socketlab", "events", "baseline", "ngircd"]
NGIRCD = "ngircd"

_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 5.0


class ServerStartError(RuntimeError):
    """The server under test did not come up."""


def ngircd_path() -> str | None:
    """The ngircd executable, or None where it is not installed."""
    return shutil.which(NGIRCD) or next(
        (p for p in ("/usr/sbin/ngircd", "/usr/local/sbin/ngircd") if Path(p).exists()), None
    )


def _serve(
    kind: Kind,
    trace: str | None,
    keylog: str | None,
    max_clients: int,
    nodelay: bool | None,
    control: Connection,
) -> None:
    """Child process: start the server, report its address, wait for "stop"."""
    import logging

    from nacl.signing import SigningKey

    logging.basicConfig(level=logging.ERROR)
    server: Any
    if kind in ("socketlab", "events"):
        from socketlab.server import ChatServer, EventServer, FloodLimits

        server = (EventServer if kind == "events" else ChatServer)(
            "127.0.0.1",
            0,
            max_clients=max_clients,
            allow_plaintext=True,
            identity=SigningKey.generate(),
            trace=trace,
            keylog=keylog,
            # The figures measure throughput: load senders go far past any human
            # rate, which is what flood control is there to stop.
            flood=FloodLimits(rate=0),
            nodelay=True if nodelay is None else nodelay,
        )
    else:
        from bench.baseline_server import BaselineServer

        server = BaselineServer("127.0.0.1", 0, allow_plaintext=True, nodelay=bool(nodelay))
    server.start()
    control.send(tuple(server.address))
    try:
        control.recv()  # "stop", or EOFError if the parent went away
    except EOFError:
        pass
    server.stop()


class ServerProcess:
    """``with ServerProcess("baseline") as srv: srv.address, srv.pid ...``"""

    def __init__(
        self,
        kind: Kind,
        workdir: Path,
        *,
        trace: Path | None = None,
        keylog: Path | None = None,
        max_clients: int = 250,
        nodelay: bool | None = None,
    ) -> None:
        """``nodelay``: TCP_NODELAY on the server's sockets; None for the server's own
        choice (socketlab's: on; the baseline's: off, as students write it)."""
        self.kind = kind
        self.max_clients = max_clients
        self.nodelay = nodelay
        self.protocol = "irc" if kind == "ngircd" else "socketlab"
        self._workdir = workdir
        self._trace = trace
        self._keylog = keylog
        self._process: Any = None
        self._control: Connection | None = None
        self.address: tuple[str, int] = ("127.0.0.1", 0)

    @property
    def pid(self) -> int:
        return int(self._process.pid)

    def __enter__(self) -> Self:
        if self.kind == "ngircd":
            self._start_ngircd()
        else:
            self._start_child()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _start_child(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        trace = str(self._trace) if self._trace else None
        keylog = str(self._keylog) if self._keylog else None
        self._process = ctx.Process(
            target=_serve,
            args=(self.kind, trace, keylog, self.max_clients, self.nodelay, child),
            name=f"server-{self.kind}",
            daemon=True,
        )
        self._process.start()
        child.close()
        self._control = parent
        if not parent.poll(_START_TIMEOUT):
            self.stop()
            raise ServerStartError(f"{self.kind} server did not start in {_START_TIMEOUT:.0f} s")
        try:
            self.address = tuple(parent.recv())  # type: ignore[assignment]
        except EOFError:
            self.stop()
            raise ServerStartError(f"{self.kind} server exited while starting") from None

    def _start_ngircd(self) -> None:
        exe = ngircd_path()
        if exe is None:
            raise ServerStartError("ngircd is not installed")
        port = _free_port()
        conf = self._workdir / "ngircd.conf"
        conf.write_text(_NGIRCD_CONF.format(port=port, motd=self._workdir / "motd"))
        (self._workdir / "motd").write_text("socketlab bench\n")
        log = (self._workdir / "ngircd.log").open("wb")
        self._process = subprocess.Popen(
            [exe, "-n", "-f", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.address = ("127.0.0.1", port)
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerStartError(f"ngircd exited; see {self._workdir / 'ngircd.log'}")
            try:
                socket.create_connection(self.address, timeout=1.0).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise ServerStartError(f"ngircd did not listen on port {port}")

    def stop(self) -> None:
        """Stop politely, then by force: a stalled server must not hang the run."""
        process = self._process
        if process is None:
            return
        self._process = None
        if self.kind == "ngircd":
            process.terminate()
            try:
                process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(_STOP_TIMEOUT)
            return
        if self._control is not None:
            try:
                self._control.send("stop")
            except OSError:
                pass
        process.join(_STOP_TIMEOUT)
        if process.is_alive():
            process.kill()
            process.join(_STOP_TIMEOUT)
        if self._control is not None:
            self._control.close()


def raise_open_files(needed: int) -> int:
    """Raise this process's open-files limit towards ``needed`` (the servers and load
    workers it starts inherit it); returns the limit now. POSIX only."""
    try:
        import resource
    except ImportError:
        return needed  # Windows: no such per-process limit on sockets
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return needed
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return int(soft)
    return int(target)


def cpu_times(pid: int) -> tuple[float, float] | None:
    """The user and the system (kernel) CPU seconds a process has used, from /proc;
    None without /proc."""
    stat = Path(f"/proc/{pid}/stat")
    if not sys.platform.startswith("linux") or not stat.exists():
        return None
    fields = stat.read_text().rpartition(")")[2].split()  # from field 3 (state) on
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def process_status(pid: int) -> dict[str, int] | None:
    """VmRSS (KiB) and Threads of a process, from /proc; None where there is no /proc."""
    status = Path(f"/proc/{pid}/status")
    if not sys.platform.startswith("linux") or not status.exists():
        return None
    values: dict[str, int] = {}
    for line in status.read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "Threads"):
            values[key] = int(rest.split()[0])
    return values


def _free_port() -> int:
    # ngircd cannot listen on port 0; this leaves a tiny window for a race.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_NGIRCD_CONF = """\
[Global]
Name = bench.socketlab.test
Info = socketlab benchmark
Listen = 127.0.0.1
Ports = {port}
MotdFile = {motd}

[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxPenaltyTime = 0
PingTimeout = 600
PongTimeout = 600

[Options]
DNS = no
Ident = no
PAM = no
"""

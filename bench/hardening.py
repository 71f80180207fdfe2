"""``python -m bench.hardening {churn,fuzz,sigterm,idle,all}``: issue 13's measurements.

Each runs a real ``socketlab server`` in a child process on 127.0.0.1 (a free
port) and drives it with client threads in this process; each is bounded in
count and time, prints its figures and a one-line verdict, and exits non-zero
if the verdict is a failure.

* ``churn``: 200 clients (20 send numbered lines at 5 a second, one never
  reads), while ~10 % more join and leave continuously. Every client connected
  throughout must see every sender's lines once and in order; the silent one
  must be dropped with a reason.
* ``fuzz``: >= 20,000 mutated frames (lengths, fields, types, unicode, sealed
  and plain) over many connections while alice and bob chat. No crash, no
  traceback in the server's log, the conversation uninterrupted; the error
  codes received are counted.
* ``sigterm``: SIGTERM while 100 clients chat: exit code, time to exit, and
  whether every client was told ``shutting_down``.
* ``idle``: 500, then 1,000 logged-in idle clients: the server's threads and
  RSS, and no refusal below ``--max-clients``.

Not part of the test suite (they take minutes and want the machine to
themselves); the suite has the fast regression tests.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from socketlab.protocol import (
    AnyMessage,
    ClientConnection,
    Error,
    Login,
    Message,
    Ping,
    Pong,
    ProtocolError,
    Say,
    ServerHello,
    Welcome,
    Whisper,
    encode_frame,
)

REPO = Path(__file__).resolve().parent.parent
KEEPALIVE = 20.0  # seconds between a listener's own pings (the server drops after 60 s)


class Client:
    """A blocking socketlab client for the load threads (protocol does the bytes)."""

    def __init__(self, address: tuple[str, int], *, mode: str = "box", rcvbuf: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(address)
        self.conn = ClientConnection(mode)
        self.inbox: collections.deque[AnyMessage] = collections.deque()
        self.eof = False
        self._send_lock = threading.Lock()

    def send(self, msg: AnyMessage) -> None:
        with self._send_lock:
            self.sock.sendall(self.conn.send(msg))

    def recv(self, timeout: float = 10.0) -> AnyMessage | None:
        """The next message, or None at end of stream (raises TimeoutError)."""
        deadline = time.monotonic() + timeout
        while not self.inbox:
            if self.eof:
                return None
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                data = self.sock.recv(262144)
            except TimeoutError:
                raise
            except OSError:
                data = b""
            if not data:
                self.eof = True
            self.inbox.extend(self.conn.receive_data(data))
        return self.inbox.popleft()

    def handshake_and_login(self, name: str) -> AnyMessage:
        self.sock.sendall(self.conn.hello())
        first = self.recv()
        if not isinstance(first, ServerHello):
            return first  # an error: the caller reports it
        self.send(Login(name))
        while True:
            msg = self.recv()
            if msg is None or isinstance(msg, (Welcome, Error)):
                return msg

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


@contextmanager
def server(*args: str) -> Iterator[tuple[subprocess.Popen[str], tuple[str, int], Path]]:
    """``socketlab server`` in a child process; yields (process, address, log file)."""
    home = Path(tempfile.mkdtemp(prefix="socketlab-bench-"))
    logfile = home / "server.log"
    env = {**os.environ, "SOCKETLAB_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("SOCKETLAB_KEYLOG", None)
    with logfile.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "socketlab", "server", "--port", "0", *args],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = re.search(r"listening on 127\.0\.0\.1:(\d+)", logfile.read_text())
            if found:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{logfile.read_text()}")
            time.sleep(0.05)
        else:
            raise RuntimeError("the server did not start within 20 s")
        yield proc, ("127.0.0.1", int(found.group(1))), logfile
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def proc_status(pid: int) -> dict[str, int]:
    """Threads and resident memory (kB) of a process, from /proc (Linux only)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Threads", "VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def tracebacks(logfile: Path) -> int:
    return logfile.read_text(errors="replace").count("Traceback")


def login_many(address: tuple[str, int], names: list[str], **kw: Any) -> dict[str, Client]:
    """Log in ``names`` one after the other (a class arriving); raise on a refusal."""
    clients = {}
    for name in names:
        client = Client(address, **kw)
        answer = client.handshake_and_login(name)
        if not isinstance(answer, Welcome):
            raise RuntimeError(f"{name} was refused: {answer!r}")
        clients[name] = client
    return clients


def reader(client: Client, sink: Callable[[AnyMessage], bool], deadline: float) -> None:
    """Feed every message to ``sink`` until it returns True, EOF or the deadline.

    Answers the server's pings and sends one every 20 s itself: a listener that
    never speaks is dropped after 60 s of silence (idle_timeout), and on a loaded
    machine the server's ping may reach it late, queued behind the chat.
    """
    spoke = time.monotonic()
    try:
        while time.monotonic() < deadline:
            msg = client.recv(timeout=max(0.01, deadline - time.monotonic()))
            if isinstance(msg, Ping):
                client.send(Pong())
            if time.monotonic() - spoke > KEEPALIVE:
                client.send(Ping())
                spoke = time.monotonic()
            if msg is None or sink(msg):
                return
    except (TimeoutError, OSError, ProtocolError):
        return


# -- churn ------------------------------------------------------------------------------


def run_churn(args: argparse.Namespace) -> bool:
    senders, clients, lines, rate = 20, 200, args.lines, 8.0  # 8/s: under the flood limit
    text = "x" * 1000
    with server("--max-clients", "400", "--sendq", "262144") as (proc, address, logfile):
        names = [f"s{i}" for i in range(senders)] + [f"r{i}" for i in range(clients - senders - 1)]
        steady = login_many(address, names)
        silent = Client(address, rcvbuf=4096)
        assert isinstance(silent.handshake_and_login("silent"), Welcome)
        seen: dict[str, dict[str, list[int]]] = {n: collections.defaultdict(list) for n in steady}
        left_reasons: dict[str, str] = {}
        done = threading.Event()
        deadline = time.monotonic() + lines / rate + 120

        def sink_for(name: str) -> Callable[[AnyMessage], bool]:
            got = seen[name]
            finished = [0]

            def sink(msg: AnyMessage) -> bool:
                if isinstance(msg, Message) and msg.sender.startswith("s") and ":" in msg.text:
                    number = int(msg.text.split(":", 1)[0])
                    got[msg.sender].append(number)
                    if number == lines - 1:
                        finished[0] += 1
                elif hasattr(msg, "reason") and getattr(msg, "name", "") == "silent":
                    left_reasons[name] = msg.reason  # type: ignore[union-attr]
                return finished[0] == senders

            return sink

        threads = [
            threading.Thread(target=reader, args=(c, sink_for(n), deadline), daemon=True)
            for n, c in steady.items()
        ]

        def send_lines(client: Client) -> None:
            start = time.monotonic()
            for i in range(lines):
                time.sleep(max(0.0, start + i / rate - time.monotonic()))
                client.send(Say(f"{i}:{text}"))

        churned = [0]
        churn_refused: collections.Counter[str] = collections.Counter()

        def churn(worker: int) -> None:
            rng = random.Random(worker)
            n = 0
            while not done.is_set() and time.monotonic() < deadline:
                n += 1
                client = Client(address)
                answer = client.handshake_and_login(f"c{worker}x{n}")
                if isinstance(answer, Welcome):
                    churned[0] += 1
                    time.sleep(rng.uniform(0.2, 1.0))
                else:
                    churn_refused[getattr(answer, "code", "eof")] += 1
                client.close()

        workers = [threading.Thread(target=churn, args=(w,), daemon=True) for w in range(18)]
        senders_t = [
            threading.Thread(target=send_lines, args=(steady[f"s{i}"],), daemon=True)
            for i in range(senders)
        ]
        started = time.monotonic()
        for t in threads + workers + senders_t:
            t.start()
        for t in senders_t:
            t.join(max(0.0, deadline - time.monotonic()))
        status = proc_status(proc.pid)  # every client still connected
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        done.set()
        for t in workers:
            t.join(10)
        elapsed = time.monotonic() - started
        bad = {}
        for name, by_sender in seen.items():
            for s in (f"s{i}" for i in range(senders)):
                got = by_sender.get(s, [])
                if got != list(range(lines)):
                    bad[f"{name}<-{s}"] = {
                        "received": len(got),
                        "lost": lines - len(set(got)),
                        "duplicated": len(got) - len(set(got)),
                        "out_of_order": sum(1 for a, b in itertools.pairwise(got) if b < a),
                    }
        reasons = collections.Counter(left_reasons.values())
        for client in (*steady.values(), silent):
            client.close()
        deliveries = sum(len(v) for by in seen.values() for v in by.values())
        print(json.dumps({
            "steady_clients": len(steady), "senders": senders, "lines_per_sender": lines,
            "deliveries_checked": deliveries, "elapsed_s": round(elapsed, 1),
            "churn_logins": churned[0], "churn_refused": dict(churn_refused),
            "broken_pairs": len(bad), "examples": dict(list(bad.items())[:5]),
            "silent_left_reason_seen_by": dict(reasons), "server": status,
            "tracebacks_in_log": tracebacks(logfile),
        }, indent=1))  # fmt: skip
        ok = not bad and reasons.get("sendq_exceeded", 0) == len(steady) and not tracebacks(
            logfile
        )
        print("churn:", "PASS" if ok else "FAIL")
        return ok


# -- fuzz -------------------------------------------------------------------------------

_TYPES = ["hello", "server_hello", "login", "welcome", "say", "whisper", "message", "who",
          "users", "joined", "left", "bye", "error", "ping", "pong", "dance", "", "SAY"]
_JUNK: list[Any] = [None, True, 0, -1, 2**64, 1.5, "", "x" * 3000, [], {}, ["a"], {"a": 1},
                    "\u202e", "\u009b", "\x00", "\ud7ff", "ＡＬＩＣＥ", "a b", "😀" * 30]


def _mutated_body(rng: random.Random) -> bytes:
    """A JSON body that is nearly a message, or not JSON at all."""
    kind = rng.random()
    if kind < 0.15:
        return rng.randbytes(rng.randint(1, 200))
    if kind < 0.25:
        return rng.choice([b"[" * 5000, b'{"type":"say","text":"\\ud800"}', b"NaN",
                           b'{"type":"say","text":"a","text":"b"}', b"\xff\xfe",
                           b'{"type":"say","text":"x"', b"{}", b"null"])  # fmt: skip
    obj: dict[str, Any] = {"type": rng.choice(_TYPES)}
    for key in rng.sample(["text", "name", "to", "from", "ts", "key", "mode", "version",
                           "code", "message", "names", "users", "reason", "extra"],
                          rng.randint(0, 4)):  # fmt: skip
        obj[key] = rng.choice([*_JUNK, "alice", "bob", "box", "plain", 1, "ab" * 32])
    body = json.dumps(obj, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    return body


def _mutated_frame(rng: random.Random, client: ClientConnection | None) -> bytes:
    """A frame with a mutated header or body; sealed with the session key when there is one."""
    body = _mutated_body(rng)
    kind = rng.random()
    if kind < 0.1:  # a header that lies
        return rng.choice([b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x00\x01\x00\x01"])
    if client is not None and client.established and client.mode == "box":
        frame = bytearray(client.send_body(body))
        if kind < 0.25:  # flip a bit anywhere past the header
            frame[rng.randrange(4, len(frame))] ^= 1 << rng.randrange(8)
        return bytes(frame)
    return encode_frame(body)


FUZZ_PROCS = 4


def fuzz_worker(
    address: tuple[str, int], worker: int, frames: int, timeout: float
) -> tuple[collections.Counter[str], int, int]:
    """One fuzzing process: mutated frames over fresh connections, one after another.

    Returns the error codes received, the frames sent and the connections made.
    """
    rng = random.Random(worker)
    codes: collections.Counter[str] = collections.Counter()
    sent = connections = 0
    deadline = time.monotonic() + timeout
    while sent < frames and time.monotonic() < deadline:
        mode = rng.choice(["box", "box", "plain", "none"])
        try:
            client = Client(address, mode="box" if mode == "none" else mode)
        except OSError:
            codes["(connect failed)"] += 1
            continue
        connections += 1
        try:
            conn: ClientConnection | None = None
            if mode != "none":
                client.sock.sendall(client.conn.hello())
                client.recv(timeout=5)
                conn = client.conn
                if rng.random() < 0.5:
                    client.send(Login(f"f{worker}x{rng.randrange(10**6)}"))
            for _ in range(rng.randint(1, 5)):
                client.sock.sendall(_mutated_frame(rng, conn))
                sent += 1
            client.sock.shutdown(socket.SHUT_WR)
            while (msg := client.recv(timeout=5)) is not None:
                if isinstance(msg, Error):
                    codes[msg.code] += 1
        except ProtocolError as exc:  # the server sent something we cannot read
            codes[f"CLIENT-SIDE:{exc.code}"] += 1
        except (OSError, TimeoutError):
            codes["(connection reset or timed out)"] += 1
        finally:
            client.close()
    return codes, sent, connections


def run_fuzz(args: argparse.Namespace) -> bool:
    with server("--allow-plaintext") as (proc, address, logfile):
        chat = login_many(address, ["alice", "bob"])
        codes: collections.Counter[str] = collections.Counter()
        frames, connections = [0], [0]
        stop = threading.Event()
        latencies: list[float] = []
        lost = [0]

        def converse() -> None:  # alice whispers to bob 5 times a second, bob checks each
            alice, bob = chat["alice"], chat["bob"]
            i = 0
            while not stop.is_set():
                i += 1
                sent = time.monotonic()
                alice.send(Whisper("bob", f"w{i}"))
                while True:
                    try:
                        msg = bob.recv(timeout=5)
                    except TimeoutError:
                        lost[0] += 1
                        break
                    if msg is None:
                        lost[0] += 1
                        stop.set()
                        return
                    if isinstance(msg, Message) and msg.text == f"w{i}":
                        latencies.append(time.monotonic() - sent)
                        break
                while alice.inbox or _readable(alice.sock):  # alice's echoes
                    if alice.recv(timeout=1) is None:
                        lost[0] += 1
                        stop.set()
                        return
                time.sleep(max(0.0, sent + 0.2 - time.monotonic()))  # a human's pace

        talker = threading.Thread(target=converse, daemon=True)
        started = time.monotonic()
        talker.start()
        # The fuzzers run in other processes, so the conversation's timing is not
        # theirs (one process would share one GIL between them and the talker).
        share = -(-args.frames // FUZZ_PROCS)
        with ProcessPoolExecutor(FUZZ_PROCS, mp_context=get_context("spawn")) as pool:
            jobs = [pool.submit(fuzz_worker, address, w, share, args.timeout)
                    for w in range(FUZZ_PROCS)]  # fmt: skip
            for job in jobs:
                got_codes, got_frames, got_connections = job.result()
                codes.update(got_codes)
                frames[0] += got_frames
                connections[0] += got_connections
        stop.set()
        talker.join(10)
        elapsed = time.monotonic() - started
        alive = proc.poll() is None
        for client in chat.values():
            client.close()
        result = {
            "mutated_frames": frames[0], "connections": connections[0],
            "elapsed_s": round(elapsed, 1),
            "error_codes": dict(codes.most_common()), "server_alive": alive,
            "tracebacks_in_log": tracebacks(logfile),
            "whispers": len(latencies), "whispers_lost": lost[0],
            "whisper_ms": _spread(latencies),
        }  # fmt: skip
        print(json.dumps(result, indent=1))
        ok = (alive and frames[0] >= args.frames and not lost[0] and not result["tracebacks_in_log"]
              and not any(k.startswith("CLIENT-SIDE") for k in codes))  # fmt: skip
        print("fuzz:", "PASS" if ok else "FAIL")
        return ok


def _readable(sock: socket.socket) -> bool:
    import select

    return bool(select.select([sock], [], [], 0)[0])


def _spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "median": round(1000 * statistics.median(ordered), 2),
        "p99": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 2),
        "max": round(1000 * ordered[-1], 2),
    }


# -- sigterm ----------------------------------------------------------------------------


def run_sigterm(args: argparse.Namespace) -> bool:
    with server() as (proc, address, logfile):
        clients = login_many(address, [f"u{i}" for i in range(100)])
        told: dict[str, list[str]] = {}
        stop = threading.Event()

        def listen(name: str, client: Client) -> None:
            codes = told.setdefault(name, [])
            deadline = time.monotonic() + 60

            def sink(msg: AnyMessage) -> bool:
                if isinstance(msg, Error):
                    codes.append(msg.code)
                return False

            reader(client, sink, deadline)

        def chatter(client: Client, i: int) -> None:
            while not stop.is_set():
                try:
                    client.send(Say(f"line from {i}"))
                except OSError:
                    return
                time.sleep(0.2)

        threads = [threading.Thread(target=listen, args=item, daemon=True)
                   for item in clients.items()]  # fmt: skip
        talkers = [threading.Thread(target=chatter, args=(c, i), daemon=True)
                   for i, c in enumerate(list(clients.values())[:20])]  # fmt: skip
        for t in threads + talkers:
            t.start()
        time.sleep(3)  # chatting
        before = proc_status(proc.pid)
        sent_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
        exit_s = time.monotonic() - sent_at
        stop.set()
        for t in threads:
            t.join(20)
        not_told = [n for n, codes in told.items() if codes != ["shutting_down"]]
        for client in clients.values():
            client.close()
        print(json.dumps({
            "clients": len(clients), "exit_code": code, "exit_s": round(exit_s, 2),
            "told_shutting_down": len(clients) - len(not_told),
            "not_told_examples": {n: told[n] for n in not_told[:5]},
            "server_before": before, "tracebacks_in_log": tracebacks(logfile),
        }, indent=1))  # fmt: skip
        ok = code == 0 and not not_told and not tracebacks(logfile)
        print("sigterm:", "PASS" if ok else "FAIL")
        return ok


# -- idle -------------------------------------------------------------------------------


def run_idle(args: argparse.Namespace) -> bool:
    ok = True
    for count in (500, 1000):
        with server("--max-clients", str(count + 50)) as (proc, address, logfile):
            base = proc_status(proc.pid)
            started = time.monotonic()
            refused = 0
            clients = []
            for i in range(count):
                client = Client(address)
                answer = client.handshake_and_login(f"idle{i}")
                refused += not isinstance(answer, Welcome)
                clients.append(client)
            login_s = time.monotonic() - started
            time.sleep(2)  # let thread stacks and buffers settle
            loaded = proc_status(proc.pid)
            probe = Client(address)  # still answers promptly?
            sent = time.monotonic()
            probe_ok = isinstance(probe.handshake_and_login("probe"), Welcome)
            probe_ms = 1000 * (time.monotonic() - sent)
            for client in (*clients, probe):
                client.close()
            print(json.dumps({
                "idle_clients": count, "refused": refused, "login_all_s": round(login_s, 1),
                "threads": loaded["Threads"], "threads_empty": base["Threads"],
                "rss_mb": round(loaded["VmRSS"] / 1024, 1),
                "rss_empty_mb": round(base["VmRSS"] / 1024, 1),
                "rss_per_client_kb": round((loaded["VmRSS"] - base["VmRSS"]) / count, 1),
                "one_more_login_ms": round(probe_ms, 1), "tracebacks_in_log": tracebacks(logfile),
            }, indent=1))  # fmt: skip
            ok = ok and refused == 0 and probe_ok and not tracebacks(logfile)
    print("idle:", "PASS" if ok else "FAIL")
    return ok


RUNS: dict[str, Callable[[argparse.Namespace], bool]] = {
    "churn": run_churn, "fuzz": run_fuzz, "sigterm": run_sigterm, "idle": run_idle,
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hardening", description="issue 13's measurements"
    )
    parser.add_argument("run", choices=[*RUNS, "all"])
    parser.add_argument("--lines", type=int, default=250, help="churn: lines per sender")
    parser.add_argument("--frames", type=int, default=20_000, help="fuzz: mutated frames")
    parser.add_argument("--timeout", type=float, default=600, help="fuzz: time bound (s)")
    args = parser.parse_args(argv)
    if sys.platform != "win32":  # 1,000 clients need more descriptors than some defaults
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    names = list(RUNS) if args.run == "all" else [args.run]
    results = {name: RUNS[name](args) for name in names}
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

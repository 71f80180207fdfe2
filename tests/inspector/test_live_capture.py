"""Live capture on loopback: real sockets, each packet seen once, streams exactly as sent."""

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from itertools import pairwise
from pathlib import Path

import pytest
from scapy.utils import rdpcap

import socketlab.inspector.live_sources as live_sources
from socketlab.inspector.errors import CaptureError
from socketlab.inspector.events import Closed, Conflict, Gap
from socketlab.inspector.livecapture import LiveCapture, loopback_interface
from socketlab.inspector.packets import FIN, Segment, parse_packet
from socketlab.inspector.pcapread import iter_pcap
from socketlab.inspector.reassembly import Reassembler
from tests.ci_rules import skip_or_fail
from tests.inspector.tcp_helpers import stream_of

TIMEOUT = 5.0
rnd = random.Random(7)
UP = rnd.randbytes(300_000)  # several loopback segments, sent in uneven writes
DOWN = rnd.randbytes(120_000)
REPO = Path(__file__).resolve().parents[2]


def listener(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    srv = socket.socket(family)
    try:
        srv.bind((host, 0))
    except OSError as exc:
        srv.close()
        pytest.skip(f"cannot bind {host}: {exc}")
    srv.listen()
    srv.settimeout(TIMEOUT)
    return srv


def exchange(srv: socket.socket, up: bytes, down: bytes) -> None:
    """Client sends ``up`` and half-closes; the server reads it all, answers ``down``, closes."""
    received = bytearray()

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(TIMEOUT)
            while chunk := conn.recv(65536):
                received.extend(chunk)
            conn.sendall(down)

    server = threading.Thread(target=serve)
    server.start()
    with socket.create_connection(srv.getsockname()[:2], timeout=TIMEOUT) as client:
        pos = 0
        while pos < len(up):
            size = rnd.randint(1, 40_000)
            client.sendall(up[pos:pos + size])
            pos += size
        client.shutdown(socket.SHUT_WR)
        answer = bytearray()
        while chunk := client.recv(65536):
            answer.extend(chunk)
    server.join(TIMEOUT)
    assert bytes(received) == up and bytes(answer) == down


def wait_for_fins(segments: list[Segment], count: int = 2) -> None:
    deadline = time.monotonic() + TIMEOUT
    while sum(1 for s in list(segments) if s.flags & FIN) < count:
        assert time.monotonic() < deadline, "the capture never saw both FINs"
        time.sleep(0.01)


def reassemble(segments: list[Segment]) -> list:
    r = Reassembler()
    events = [e for s in segments for e in r.add(s)]
    return events + r.finish()


@pytest.mark.needs_root
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_streams_equal_what_was_sent_and_each_packet_is_seen_once(tmp_path: Path, host: str):
    srv = listener(host)
    port = srv.getsockname()[1]
    noise = listener(host)  # traffic on another port must not be captured
    segments: list[Segment] = []
    pcap = tmp_path / "live.pcap"
    cap = LiveCapture(loopback_interface(), port, segments.append, pcap_out=pcap)
    cap.start()
    try:
        exchange(noise, b"not for us", b"nor this")
        exchange(srv, UP, DOWN)
        wait_for_fins(segments)
    finally:
        stats = cap.stop()
        srv.close()
        noise.close()

    assert all(port in (s.src[1], s.dst[1]) for s in segments)
    events = reassemble(segments)
    assert stream_of(events, "c2s") == UP
    assert stream_of(events, "s2c") == DOWN
    assert not [e for e in events if isinstance(e, (Gap, Conflict))]
    assert [e.how for e in events if isinstance(e, Closed)] == ["fin"]
    # Loopback shows every packet twice to a naive sniffer: the second copy of a
    # data segment would follow the first at once. (A retransmission, which a
    # loaded machine makes, comes a timeout later: sent twice, rightly seen twice.
    # Bare ACKs may repeat: they differ in the window, which a Segment leaves out.)
    copies = [b for a, b in pairwise(segments)
              if a.payload and a[1:] == b[1:] and b.ts - a.ts < 0.001]
    assert not copies
    sent = {(s.src, s.seq, len(s.payload)) for s in segments if s.payload}
    assert sum(size for src, _, size in sent if src[1] != port) == len(UP)
    assert sum(size for src, _, size in sent if src[1] == port) == len(DOWN)
    assert stats.received == stats.delivered == stats.written == len(segments)
    assert stats.dropped == 0

    frames = list(iter_pcap(pcap))
    assert [parse_packet(*f) for f in frames] == [
        Segment(f.ts, s.src, s.dst, s.seq, s.ack, s.flags, s.payload)
        for f, s in zip(frames, segments, strict=True)]
    assert all(abs(f.ts - s.ts) < 1e-5 for f, s in zip(frames, segments, strict=True))
    assert len(rdpcap(str(pcap))) == len(segments)
    if shutil.which("tshark"):
        out = subprocess.run(["tshark", "-r", str(pcap), "-T", "fields", "-e", "tcp.len"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        lengths = [int(n) for n in out.split()]
        assert len(lengths) == len(segments) and sum(lengths) == len(UP) + len(DOWN)


@pytest.mark.needs_root
def test_scapy_socket_backend_sees_the_same_streams():
    # The path macOS and Windows take; on Linux it is scapy's AF_PACKET socket.
    srv = listener("127.0.0.1")
    port = srv.getsockname()[1]
    segments: list[Segment] = []
    with srv, LiveCapture("lo" if sys.platform.startswith("linux") else None, port,
                          segments.append, backend="scapy") as cap:
        exchange(srv, UP[:50_000], DOWN[:20_000])
        wait_for_fins(segments)
    events = reassemble(segments)
    assert stream_of(events, "c2s") == UP[:50_000]
    assert stream_of(events, "s2c") == DOWN[:20_000]
    assert sum(len(s.payload) for s in segments) == 70_000
    assert cap.stats().dropped is None


@pytest.mark.needs_root
@pytest.mark.parametrize("backend", ["auto", "scapy"])
def test_unknown_interface_is_a_clear_error(backend: str):
    with pytest.raises(CaptureError) as info:
        LiveCapture("nosuchif0", 7777, print, backend=backend).start()
    assert info.value.code == "no_such_interface" and "nosuchif0" in info.value.message


@pytest.mark.needs_root
def test_an_exception_in_on_packet_reaches_the_caller_of_stop():
    srv = listener("127.0.0.1")

    def explode(segment: Segment) -> None:
        raise ValueError("boom")

    cap = LiveCapture(None, srv.getsockname()[1], explode)
    cap.start()
    with srv, socket.create_connection(srv.getsockname()[:2], timeout=TIMEOUT):
        srv.accept()[0].close()
    with pytest.raises(ValueError, match="boom"):
        cap.stop()


def test_loopback_interface_is_named_for_this_os():
    expected = {"linux": "lo", "darwin": "lo0"}.get(sys.platform)
    if expected is None:
        pytest.skip(f"no fixed loopback name on {sys.platform}")
    assert loopback_interface() == expected


def assert_names_the_fix(error: CaptureError) -> None:
    assert error.code == "no_capture_rights"
    for fix in ("root", "Administrator", "setcap cap_net_raw+eip", "Npcap",
                "socketlab proxy"):
        assert fix in error.message


@pytest.mark.parametrize("backend", ["af_packet", "scapy"])
def test_no_rights_gives_the_fix_not_a_traceback(monkeypatch: pytest.MonkeyPatch, backend: str):
    # At the boundary: the socket open fails as it does for an ordinary user.
    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    if backend == "af_packet":
        if not hasattr(socket, "AF_PACKET"):
            pytest.skip("AF_PACKET exists only on Linux")
        monkeypatch.setattr(live_sources.socket, "socket", refuse)
    else:
        from scapy.all import conf
        monkeypatch.setattr(conf, "L2socket", refuse)
    with pytest.raises(CaptureError) as info:
        LiveCapture("lo", 7777, print, backend=backend).start()
    assert_names_the_fix(info.value)


SYSTEM_PYTHON = "/usr/bin/python3"

AS_NOBODY = """
from socketlab.inspector.errors import CaptureError
from socketlab.inspector.livecapture import LiveCapture
try:
    LiveCapture("lo", 7777, print).start()
except CaptureError as error:
    print(error.code)
    print(error.message)
"""


def _readable_copy(root: Path) -> Path:
    """The kit's packages and the capture's dependencies, where user nobody can read them.

    Root's venv (and a CI clone under a private temp folder) may not be
    readable by other users, so the unprivileged run gets its own copy.
    """
    import _cffi_backend
    import nacl
    import scapy

    # Laid out as installed: the checkout's folders become socketlab.*.
    shutil.copytree(REPO / "socketlab", root / "socketlab",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for package in ("inspector", "protocol"):
        shutil.copytree(REPO / package, root / "socketlab" / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for module in (scapy, nacl):
        shutil.copytree(Path(module.__path__[0]), root / module.__name__,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(_cffi_backend.__file__, root)
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


@pytest.mark.needs_root
def test_no_rights_for_real_as_user_nobody():
    setpriv = shutil.which("setpriv")
    if not (sys.platform.startswith("linux") and setpriv and os.path.exists(SYSTEM_PYTHON)):
        skip_or_fail("needs Linux, setpriv (util-linux) and Debian's /usr/bin/python3")
    # Root's venv Python lives in root's home, unreadable by others: run the
    # system Python (same minor version) on a readable copy of what it needs.
    with tempfile.TemporaryDirectory(prefix="socketlab-nobody-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        _readable_copy(root)
        env = {"PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"}
        run = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", SYSTEM_PYTHON]
        result = subprocess.run([*run, "-c", AS_NOBODY], env=env, capture_output=True,
                                text=True, timeout=60, cwd=tmp, check=False)
        # The same through the command line, whose capture runs in a child process.
        cli = subprocess.run([*run, "-m", "socketlab", "sniff", "--port", "9"], env=env,
                             capture_output=True, text=True, timeout=60, cwd=tmp, check=False)
    assert result.returncode == 0, result.stderr
    code, message = result.stdout.split("\n", 1)
    assert code == "no_capture_rights"
    assert_names_the_fix(CaptureError(code, message))
    assert cli.returncode == 2, cli.stderr
    assert "Traceback" not in cli.stderr and len(cli.stderr.strip().splitlines()) == 1
    assert "no_capture_rights" in cli.stderr and "proxy" in cli.stderr

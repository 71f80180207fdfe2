"""The proxy tap relays bytes intact, records both directions, and fails clearly."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from socketlab.inspector.errors import ProxyError, RecordingError
from socketlab.inspector.events import Closed, Data, Failure, Opened
from socketlab.inspector.proxy import Proxy
from socketlab.inspector.recording import ProxyEvent, read_recording

TIMEOUT = 10.0
SIZE = 200 * 1024


def recv_all(sock: socket.socket) -> bytes:
    """Everything until the peer's EOF, within TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    chunks = []
    while time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
    raise TimeoutError(f"no end of stream within {TIMEOUT} s")


class Target:
    """A test server for ``connections`` clients: ``handle(sock)`` runs in a thread for each."""

    def __init__(self, handle: Callable[[socket.socket], None], connections: int = 1) -> None:
        self._handle = handle
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(TIMEOUT)
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        self._accepting = threading.Thread(target=self._accept, args=(connections,),
                                           daemon=True)
        self._accepting.start()

    def _accept(self, connections: int) -> None:
        for _ in range(connections):
            sock, _ = self._listener.accept()
            sock.settimeout(TIMEOUT)
            thread = threading.Thread(target=self._run, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, sock: socket.socket) -> None:
        with sock:
            try:
                self._handle(sock)
            except OSError as exc:
                self.errors.append(exc)

    def close(self) -> None:
        self._accepting.join(TIMEOUT)
        for thread in self._threads:
            thread.join(TIMEOUT)
        self._listener.close()


@pytest.fixture
def make_proxy() -> Iterator[Callable[..., Proxy]]:
    proxies: list[Proxy] = []

    def start(target: tuple[str, int], **kwargs: object) -> Proxy:
        proxy = Proxy("127.0.0.1", 0, target, **kwargs)  # type: ignore[arg-type]
        proxy.start()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()


def connect(proxy: Proxy) -> socket.socket:
    return socket.create_connection(proxy.address, timeout=TIMEOUT)


def wait_until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def stream(events: list[ProxyEvent], direction: str) -> bytes:
    """One direction's bytes, checking the offsets leave no hole and no overlap."""
    data = [e for e in events if isinstance(e, Data) and e.direction == direction]
    offset = 0
    for event in data:
        assert event.offset == offset
        offset += len(event.data)
    return b"".join(e.data for e in data)


def send_then_eof(sock: socket.socket, data: bytes) -> threading.Thread:
    """Send ``data`` then half-close, in a thread, while the caller reads: full duplex."""

    def send() -> None:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def closed(proxy: Proxy) -> list[Closed]:
    return [e for e in proxy.events() if isinstance(e, Closed)]


def test_relays_random_bytes_both_ways_at_once_and_records_them(make_proxy, tmp_path) -> None:
    up, down = os.urandom(SIZE), os.urandom(SIZE)
    received: dict[str, bytes] = {}

    def full_duplex(sock: socket.socket) -> None:
        sender = send_then_eof(sock, down)
        received["target"] = recv_all(sock)
        sender.join(TIMEOUT)

    target = Target(full_duplex)
    record = tmp_path / "session.jsonl"
    seen: list[ProxyEvent] = []
    proxy = make_proxy(target.address, record=record, on_event=seen.append)
    with connect(proxy) as client:
        sender = send_then_eof(client, up)
        received["client"] = recv_all(client)
        sender.join(TIMEOUT)
    target.close()
    wait_until(lambda: closed(proxy), "the pair to close")
    proxy.stop()

    assert received == {"target": up, "client": down}
    events = proxy.events()
    assert isinstance(events[0], Opened) and events[0].handshake
    assert events[0].conn.server == target.address
    assert events[-1] == Closed(events[0].conn, "fin", events[-1].ts)
    assert stream(events, "c2s") == up and stream(events, "s2c") == down
    assert seen == events
    assert read_recording(record) == events  # the recording holds exactly the same
    assert not target.errors


def test_a_half_close_is_passed_on_and_the_answer_still_comes_back(make_proxy) -> None:
    request = os.urandom(50_000)

    def answer_after_eof(sock: socket.socket) -> None:
        data = recv_all(sock)  # returns only once the proxy passed the client's EOF on
        sock.sendall(struct.pack(">I", len(data)) + data[::-1])

    target = Target(answer_after_eof)
    proxy = make_proxy(target.address)
    with connect(proxy) as client:
        client.sendall(request)
        client.shutdown(socket.SHUT_WR)
        reply = recv_all(client)
    target.close()
    assert reply == struct.pack(">I", len(request)) + request[::-1]


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


def test_a_refusing_target_is_reported_clearly(make_proxy) -> None:
    target = ("127.0.0.1", free_port())
    with pytest.raises(ProxyError) as refused:
        Proxy("127.0.0.1", 0, target).check_target()
    assert refused.value.code == "target_refused"
    assert f"127.0.0.1:{target[1]}" in str(refused.value)

    proxy = make_proxy(target)
    with connect(proxy) as client:
        assert recv_all(client) == b""  # the client's connection is closed
    wait_until(proxy.events, "the failure event")
    [failure] = proxy.events()  # no Opened: no stream ever existed
    assert isinstance(failure, Failure) and failure.code == "target_refused"
    assert failure.conn.server == target


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ProxyError) as in_use:
            Proxy("127.0.0.1", port, ("127.0.0.1", 1)).start()
    assert in_use.value.code == "port_in_use"
    assert str(port) in in_use.value.message


def echo(sock: socket.socket) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and (data := sock.recv(65536)):
        sock.sendall(data)


def proxy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("proxy-")]


def test_stop_cuts_open_connections_and_ends_every_thread(make_proxy) -> None:
    target = Target(echo, 2)
    proxy = make_proxy(target.address)
    clients = [connect(proxy) for _ in range(2)]
    for client in clients:
        client.sendall(b"ping")
        assert client.recv(4) == b"ping"
    names = {t.name for t in proxy_threads()}
    assert {"proxy-accept", "proxy-c2s-0", "proxy-s2c-0", "proxy-c2s-1", "proxy-s2c-1"} <= names

    proxy.stop()
    assert proxy_threads() == []
    assert sorted(e.how for e in closed(proxy)) == ["capture_end", "capture_end"]
    for client in clients:
        assert recv_all(client) == b""  # the proxy hung up on them
        client.close()
    target.close()
    proxy.stop()  # idempotent


def test_a_vanishing_peer_ends_its_pair_only(make_proxy) -> None:
    target = Target(echo, 2)
    proxy = make_proxy(target.address)
    doomed, survivor = connect(proxy), connect(proxy)
    for client in (doomed, survivor):
        client.sendall(b"hi")
        assert client.recv(2) == b"hi"
    # SO_LINGER 0: close() sends a reset instead of a FIN, like a crashed peer. (On
    # Windows, whose linger is two shorts, the first four bytes still read (1, 0).)
    doomed.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    doomed.close()
    wait_until(lambda: closed(proxy), "the reset pair to close")
    [gone] = closed(proxy)
    assert gone.how == "rst" and gone.conn.index == 0

    survivor.sendall(b"still here")
    assert survivor.recv(64) == b"still here"
    survivor.close()
    wait_until(lambda: len(closed(proxy)) == 2, "the second pair to close")
    assert closed(proxy)[1].how == "fin"
    target.close()


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


HEADER = '{"format":"socketlab-proxy","version":1}'
CONN = '{"client":["127.0.0.1",50000],"server":["127.0.0.1",7777],"index":0}'


@pytest.mark.parametrize(("bad_line", "says"), [
    ('{"event":"data","conn":' + CONN + ',"ts":1.5,"direction":"c2s","offset":0,"data":"zz"}',
     "'data' event"),
    ('{"event":"data","conn":' + CONN + ',"ts":1.5,"direction":"up","offset":0,"data":"00"}',
     "direction"),
    ('{"event":"opened","conn":' + CONN + ',"handshake":true}', "missing field 'ts'"),
    ('{"event":"intercepted","conn":' + CONN + ',"ts":1,"direction":"c2s","body":"6e6f7065"}',
     "bad_json"),
    ('{"event":"teleported","conn":' + CONN + ',"ts":1}', "unknown event type"),
    ('{"event":"closed", "conn": ', "not a JSON line"),
])
def test_a_bad_recording_line_is_reported_with_its_number(tmp_path, bad_line, says) -> None:
    good = '{"event":"opened","conn":' + CONN + ',"ts":1.5,"handshake":true}'
    path = write_lines(tmp_path / "bad.jsonl", HEADER, good, bad_line)
    with pytest.raises(RecordingError) as bad:
        read_recording(path)
    assert bad.value.line_no == 3
    assert str(bad.value).startswith("bad_recording: line 3: ") and says in str(bad.value)


@pytest.mark.parametrize("content", ["", '{"t": 1.0, "proc": "server"}\n', "\x89PNG\r\n"])
def test_a_file_that_is_not_a_recording_is_refused_at_line_1(tmp_path, content) -> None:
    path = tmp_path / "other.jsonl"
    path.write_text(content, encoding="latin-1")
    with pytest.raises(RecordingError) as bad:
        read_recording(path)
    assert bad.value.line_no == 1

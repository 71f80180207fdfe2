"""Lab 04's fixtures: the student's chat server, and test clients that speak the protocol.

The test clients frame and check every message with the kit's own protocol
code (``socketlab.protocol``): whatever the student's server sends must be
exactly what docs/protocol.md allows, or the check says what was wrong.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import FrameDecoder, ProtocolError, decode_message, encode_frame

SERVE_THREAD = "student-serve"
WAIT = 2.0  # how long a check waits for an answer: only a wrong server makes it wait this long


def _slices(timeout: float) -> Iterator[None]:
    """Until ``timeout`` passes, or at once stop when a thread of the student's server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and harness.first_thread_exception() is None:
        yield


class TestClient:
    """A client of the checks' own: sends dicts as frames, reads the server's messages as dicts."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, address: tuple[str, int], label: str | None = None) -> None:
        self.label = label if label is not None else _("a client")
        self.sock = harness.connect(address)
        self._frames = FrameDecoder()
        self._pending: deque[dict[str, Any]] = deque()
        self.bodies: list[bytes] = []  # every body the server sent, as it came
        self.ended = False
        # Others this client's welcome listed: a "joined" about one of them may still come
        # (their thread tells the room after their own welcome) and says nothing new.
        self.known: set[str] = set()

    def send(self, msg: dict[str, Any]) -> None:
        self.send_body(json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode())

    def send_body(self, body: bytes) -> None:
        self.send_raw(encode_frame(body))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, timeout: float = WAIT) -> dict[str, Any] | None:
        """The server's next message; None if it closed or sent nothing within ``timeout``."""
        if not self._pending and not self.ended:
            self._fill(timeout)
        return self._pending.popleft() if self._pending else None

    def _fill(self, timeout: float) -> None:
        self.sock.settimeout(0.05)
        for _slice in _slices(timeout):
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                data = b""
            if not data:
                self.ended = True
                return
            try:
                bodies = self._frames.feed(data)
            except ProtocolError as error:
                raise AssertionError(harness.why(_(
                    "{label} got bytes that are not a frame ({error}): every message "
                    "is a 4-byte big-endian length, then the body — send it with send_frame()"
                ).format(label=self.label, error=error.message))) from None
            self._pending.extend(m for m in map(self._check, bodies) if self._news(m))
            if self._pending:
                return

    def _check(self, body: bytes) -> dict[str, Any]:
        self.bodies.append(body)
        try:
            decode_message(body)
        except ProtocolError as error:
            raise AssertionError(harness.why(_(
                "your server sent {body!r}, which breaks the protocol: {error} "
                "(docs/protocol.md, section 6 has every message and its fields)"
            ).format(body=body[:200], error=error.message))) from None
        message: dict[str, Any] = json.loads(body)
        return message

    def _news(self, msg: dict[str, Any]) -> bool:
        """False for a late joined about a user this client's welcome already listed."""
        if msg.get("type") == "welcome":
            self.known = {name for name in msg.get("users", []) if name != msg.get("name")}
        elif msg.get("type") == "left":
            self.known.discard(msg.get("name"))
        elif msg.get("type") == "joined" and msg.get("name") in self.known:
            self.known.discard(msg.get("name"))
            return False
        return True

    def expect(self, kind: str, why: str, timeout: float = WAIT) -> dict[str, Any]:
        """The next message, which must be of type ``kind``; else fail saying ``why`` it should be."""
        msg = self.recv(timeout)
        if msg is None and self.ended:
            # The server hung up. If one of its threads died, that is why: it is reported
            # once the server's hang_up() is done, which waits for us to close too.
            self.sock.shutdown(socket.SHUT_WR)
            harness.eventually(lambda: harness.first_thread_exception() is not None, 0.5)
        if msg is None or msg.get("type") != kind:
            if msg is not None:
                got = json.dumps(msg)
            elif self.ended:
                got = _("nothing (the server closed the connection)")
            else:
                got = _("nothing") if harness.first_thread_exception() else \
                    _("nothing within {timeout:g} s").format(timeout=timeout)
            raise AssertionError(harness.why(_("{label} expected {kind}, got {got}: {why}").format(
                label=self.label, kind=kind, got=got, why=why)))
        return msg

    def expect_error(self, code: str, why: str) -> dict[str, Any]:
        msg = self.expect("error", why)
        assert msg["code"] == code, harness.why(
            _("{label} expected the error code {code!r}, got {msg}: {why}").format(
                label=self.label, code=code, msg=json.dumps(msg), why=why))
        return msg

    def hello(self) -> None:
        self.send({"type": "hello", "version": 1, "mode": "plain"})
        self.expect("server_hello", _("a plain hello is answered with server_hello — README step 2"))

    def login(self, name: str) -> dict[str, Any]:
        """Send login; the answer (welcome or error)."""
        self.send({"type": "login", "name": name})
        answer = self.recv()
        assert answer is not None, harness.why((
            _("{label} logged in as {name!r} and got no answer (the server closed the "
              "connection): welcome or an error must come back — README step 5")
            if self.ended else
            _("{label} logged in as {name!r} and got no answer: welcome or an error must come "
              "back — README step 5")).format(label=self.label, name=name))
        return answer

    def closed(self, timeout: float = WAIT) -> bool:
        """True when the server closes within ``timeout`` (messages before the end are kept)."""
        if not self.ended:
            self.sock.settimeout(0.05)
            for _slice in _slices(timeout):
                try:
                    data = self.sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.ended = True
                    break
                self._pending.extend(
                    m for m in map(self._check, self._frames.feed(data)) if self._news(m))
        return self.ended

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def client_class() -> type[TestClient]:
    return TestClient


@pytest.fixture
def server_module():
    return harness.load("chat_server.py")


@pytest.fixture
def start_server() -> Iterator[Callable[[Any], tuple[str, int]]]:
    """``start_server(module)``: the student's ``serve()`` on a fresh listener; its address.

    At the end the listener closes and the threads serving clients are given
    (together) 2 s to finish, so what they raise on the way out (e.g. a leave()
    not written yet) is reported here, not in the next check. (The thread in
    serve() is not waited for: an accept() may not wake when its listener closes.)
    """
    before = set(threading.enumerate())
    with contextlib.ExitStack() as stack:
        yield lambda module: stack.enter_context(
            harness.student_server(module.serve, name=SERVE_THREAD))
    deadline = time.monotonic() + 2
    for thread in set(threading.enumerate()) - before:
        if thread.name != SERVE_THREAD and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture
def chat_server(server_module, start_server) -> tuple[str, int]:
    """The student's ``serve()`` on a fresh listener; its address."""
    return start_server(server_module)


@pytest.fixture
def connect(chat_server) -> Iterator[Callable[..., TestClient]]:
    """``connect(label)``: a new test client of the student's server (closed at the end)."""
    clients: list[TestClient] = []

    def make(label: str | None = None) -> TestClient:
        client = TestClient(chat_server, label)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def join(connect) -> Callable[[str], TestClient]:
    """``join(name)``: a test client that said hello and logged in as ``name``."""
    def make(name: str) -> TestClient:
        client = connect(name)
        client.hello()
        answer = client.login(name)
        assert answer.get("type") == "welcome", harness.why(
            _("{name} logged in and got {answer} instead of welcome — README step 5").format(
                name=name, answer=json.dumps(answer)))
        return client

    return make


def drain_until(client: TestClient, kind: str, why: str) -> list[dict[str, Any]]:
    """Every message up to and including the first of type ``kind``."""
    seen = []
    while True:
        msg = client.recv()
        if msg is None:
            raise AssertionError(harness.why(_("{label} waited for {kind} and got only {seen}: {why}").format(
                label=client.label, kind=kind, seen=[m["type"] for m in seen], why=why)))
        seen.append(msg)
        if msg["type"] == kind:
            return seen


@pytest.fixture
def until():
    """``until(client, kind, why)``: the messages up to and including the first ``kind``."""
    return drain_until

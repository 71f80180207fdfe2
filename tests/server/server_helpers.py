"""A small raw test client: protocol.ClientConnection over a plain socket, no threads."""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from socketlab.protocol import (
    AnyMessage,
    ClientConnection,
    FrameDecoder,
    Joined,
    Left,
    Login,
    ProtocolError,
    ServerHello,
    Welcome,
    encode_frame,
)

T = TypeVar("T")
TIMEOUT = 5.0  # generous bound for anything that should take milliseconds


class Closed(AssertionError):
    """The server closed the connection while the test waited for a message."""


class RawClient:
    """One connection to the server, driven step by step by a test (no threads).

    Everything received is decoded by ``protocol``; each frame is also kept as
    it was on the wire (``raw_frames``) for tests that replay or reflect one.
    """

    def __init__(
        self, address: tuple[str, int], *, mode: str = "box", rcvbuf: int | None = None
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connect, so the advertised window is small too
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(address)
        self.conn = ClientConnection(mode)
        self.inbox: deque[AnyMessage] = deque()
        self.raw_frames: list[bytes] = []
        self.eof = False
        self._frames = FrameDecoder()

    # -- sending ---------------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, msg: AnyMessage) -> None:
        self.sock.sendall(self.conn.send(msg))

    def send_body(self, body: bytes) -> None:
        """Frame (and seal) an arbitrary body, e.g. JSON the protocol would never write."""
        self.sock.sendall(self.conn.send_body(body))

    def handshake(self) -> ServerHello:
        self.sock.sendall(self.conn.hello())
        return self.expect(ServerHello)

    def login(self, name: str) -> Welcome:
        self.send(Login(name))
        return self.expect(Welcome)

    # -- receiving -------------------------------------------------------------------

    def _read(self, deadline: float) -> None:
        """One recv into the inbox; raises ``Closed`` at end of stream."""
        if self.eof:
            raise Closed("the server closed the connection")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no message in time")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise TimeoutError("no message in time") from None
        except ConnectionError:
            data = b""
        if not data:
            self.eof = True
            raise Closed("the server closed the connection")
        for body in self._frames.feed(data):
            self.raw_frames.append(encode_frame(body))
        self.inbox.extend(self.conn.receive_data(data))

    def recv(self, timeout: float = TIMEOUT) -> AnyMessage:
        deadline = time.monotonic() + timeout
        while not self.inbox:
            self._read(deadline)
        return self.inbox.popleft()

    def wait_for(
        self, predicate: Callable[[AnyMessage], bool], timeout: float = TIMEOUT
    ) -> AnyMessage:
        """The first message that satisfies ``predicate``; earlier ones are discarded."""
        deadline = time.monotonic() + timeout
        while True:
            while not self.inbox:
                self._read(deadline)
            msg = self.inbox.popleft()
            if predicate(msg):
                return msg

    def expect(self, cls: type[T], timeout: float = TIMEOUT, **fields: Any) -> T:
        """The next message, skipping joined/left notices; it must be a ``cls`` with ``fields``."""
        msg = self.wait_for(lambda m: not isinstance(m, (Joined, Left)) or cls in (Joined, Left),
                            timeout)  # fmt: skip
        assert isinstance(msg, cls), f"expected {cls.__name__}, got {msg!r}"
        for key, value in fields.items():
            assert getattr(msg, key) == value, (
                f"{key}: {getattr(msg, key)!r} != {value!r} in {msg!r}"
            )
        return msg

    def expect_closed(self, timeout: float = TIMEOUT) -> list[AnyMessage]:
        """Read until the server closes; return what came before the end."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._read(deadline)
        except Closed:
            pass
        except ProtocolError as exc:
            raise AssertionError(f"the server sent something invalid: {exc}") from None
        received = list(self.inbox)
        self.inbox.clear()
        return received

    def close(self) -> None:
        self.sock.close()


def eventually(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def server_threads(ignore: frozenset[threading.Thread] = frozenset()) -> list[str]:
    """Names of the live threads a ChatServer starts, except those in ``ignore``."""
    return [
        t.name
        for t in threading.enumerate()
        if t not in ignore and (t.name == "accept" or t.name.startswith(("reader-", "writer-")))
    ]


def running_threads() -> frozenset[threading.Thread]:
    """The threads alive now (to tell them from the ones a test starts)."""
    return frozenset(threading.enumerate())

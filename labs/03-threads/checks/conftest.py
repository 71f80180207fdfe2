"""Lab 03's fixtures and helpers: the student's Room and server, and frames on the checks' side."""

import functools
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol.framing import FrameDecoder, encode_frame


@pytest.fixture
def server_module():
    return harness.load("chat_server.py")


@pytest.fixture
def room(server_module):
    """A fresh ``Room()`` of the student's."""
    return server_module.Room()


@pytest.fixture
def pairs() -> Iterator:
    """``pairs(sndbuf=None, rcvbuf=None)``: a connected (server side, client side) TCP pair.

    ``sndbuf`` shrinks the server side's send buffer, ``rcvbuf`` the client
    side's receive buffer: a client that never reads then fills them fast.
    Every pair is closed at the end of the check, the client's side first.
    """
    made: list[socket.socket] = []

    def make(sndbuf: int | None = None, rcvbuf: int | None = None):
        with harness.listening_socket(sndbuf) as listener:
            client = harness.connect(listener.getsockname(), rcvbuf=rcvbuf)
            conn, _address = listener.accept()
        conn.settimeout(10)
        made.extend((conn, client))
        return conn, client

    yield make
    # The clients' sides first: a student's thread still reading the server's side
    # sees a polite end and returns, instead of an error from a socket closed under it.
    for sock in made[1::2] + made[0::2]:
        sock.close()


@pytest.fixture
def chat_server(server_module) -> Iterator:
    """The student's ``serve(listener, room)`` running; yields ``(address, room)``.

    The server's sockets have a small send buffer (accepted sockets inherit
    the listener's), so a client that never reads stalls a send quickly.
    """
    room = server_module.Room()
    with harness.student_server(functools.partial(server_module.serve, room=room),
                                sndbuf=4096) as address:
        yield address, room


def leaving_problem(server_module) -> str | None:
    """What is wrong with the student's own handle_client(), tried alone: a client joins,
    then closes. None when it leaves the room within 2 s.

    A check of the whole server blames the lock only when leaving itself works."""
    room = server_module.Room()
    with harness.listening_socket() as listener:
        client = harness.connect(listener.getsockname())
        conn, _address = listener.accept()
    thread = harness.run_in_thread(server_module.handle_client, room, conn,
                                   name="student-handle_client")
    joined = harness.eventually(lambda: conn in members(room), 2)
    client.close()
    thread.join(2)
    conn.close()
    if joined and conn in members(room):
        return _("a client that closes stays in room.clients: handle_client() must call "
                 "room.leave(conn) in a finally: block — README step 4")
    return None


class Peer:
    """The checks' end of a connection, speaking frames through the kit's own codec (the oracle)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._decoder = FrameDecoder()
        self._bodies: list[bytes] = []

    @staticmethod
    def encode(body: bytes) -> bytes:
        return encode_frame(body)

    def send(self, body: bytes) -> None:
        self.sock.sendall(encode_frame(body))

    def recv(self, timeout: float = 3.0) -> bytes | None:
        """The next message, or None if none came whole within ``timeout`` (or the peer closed)."""
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.05)
        while not self._bodies and time.monotonic() < deadline:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            self._bodies += self._decoder.feed(data)
        return self._bodies.pop(0) if self._bodies else None

    def recv_many(self, count: int, timeout: float = 3.0) -> list[bytes]:
        """Up to ``count`` messages, all within ``timeout``."""
        deadline = time.monotonic() + timeout
        got: list[bytes] = []
        while len(got) < count:
            body = self.recv(max(0.0, deadline - time.monotonic()))
            if body is None:
                break
            got.append(body)
        return got


def reset(sock: socket.socket) -> None:
    """Vanish: close with SO_LINGER 0, so the peer gets a reset instead of a polite close."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def members(room) -> list:
    """A copy of ``room.clients``, taken without the lock: the checks must never wait for it."""
    return list(room.clients)


def thread_names() -> set[str]:
    return {thread.name for thread in threading.enumerate()}


def reader_name(client: socket.socket) -> str:
    """The name the server's thread for ``client`` must have: reader-<host>:<port>."""
    host, port = client.getsockname()[:2]
    return f"reader-{host}:{port}"

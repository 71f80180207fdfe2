"""Lab 09's fixtures: the student's Client on a real connection, and the student's server.

The server's sockets get a small send buffer (accepted sockets inherit the
listener's), and a client that never reads a small receive buffer: so SENDQ
is reached after a few dozen long lines, in a fraction of a second.
"""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import nacl.utils
import pytest

from socketlab.i18n import N_
from socketlab.labs import harness
from socketlab.labs.conformance import Target, peers  # noqa: F401 - peers: a fixture the checks use
from socketlab.labs.harness import _
from socketlab.protocol import FrameDecoder, SecureChannel

SNDBUF = 16 * 1024  # the server side's send buffer (the kernel may double it)
WAIT = 3.0  # seconds: only a wrong answer waits this long
SERVE_THREAD = "student-serve"
# What most likely broke the wire when a conformance client finds a broken frame.
CAUSES = {
    "frame_truncated": N_(
        "The connection ended in the middle of a frame: your server cut or closed it "
        "(cut(), shutdown(), close()) while the writer was still sending. Your framing is "
        "likely fine. Only drop_queue()'s timer cuts a dropped client, CLOSE_GRACE after the "
        "drop; everything else goes through deliver() and leave(), and serve_client hangs up "
        "after close() — README steps 2, 4 and 5"),
}
SEALED_OUT_OF_ORDER = N_(
    "Frames reached the wire in another order than they were sealed: several threads seal "
    "for one client. Only its writer thread seals, just before it sends — README step 3")
CAUSES["reordered"] = CAUSES["replayed"] = SEALED_OUT_OF_ORDER


@pytest.fixture
def server_module():
    return harness.load("chat_server.py")


@pytest.fixture
def secure_module(server_module):
    return harness.load("secure.py")


class Wire:
    """A TCP connection: ``conn`` is the server's side (a Client gets it), ``peer`` the
    client's. ``channel`` seals for the server, ``opener`` opens on the client's side."""

    def __init__(self, secure, rcvbuf: int | None) -> None:
        key = nacl.utils.random(32)
        with harness.listening_socket(SNDBUF) as listener:
            self.peer = harness.connect(listener.getsockname(), rcvbuf=rcvbuf)
            self.conn, _address = listener.accept()
        self.channel = secure.SecureChannel(key, "server")
        self.opener = SecureChannel(key, "client")  # the kit's: the oracle
        self._frames = FrameDecoder()
        self.received: list[bytes] = []
        self.clients: list = []

    def read(self, count: int, timeout: float = WAIT) -> list[bytes]:
        """Read until ``count`` bodies came (or the connection ended, or ``timeout``)."""
        self.peer.settimeout(0.05)
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            try:
                data = self.peer.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            for sealed in self._frames.feed(data):
                self.received += self.opener.open_bodies(sealed)
        return self.received

    def client(self, module):
        """The student's ``Client`` on this connection (its writer is stopped at the end)."""
        self.clients.append(module.Client(self.conn, self.channel))
        return self.clients[-1]

    def close(self) -> None:
        # The sockets first: a writer stuck in sendall() (holding its lock, if the
        # student's code sends under it) fails at once and lets go of the lock.
        for sock in (self.peer, self.conn):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        for client in self.clients:  # stop a writer still waiting for work, as close() would
            with contextlib.suppress(Exception):
                if client.lock.acquire(timeout=WAIT):
                    try:
                        client.closing = True
                        client.lock.notify_all()
                    finally:
                        client.lock.release()
        for client in self.clients:
            writer = getattr(client, "writer", None)
            if isinstance(writer, threading.Thread) and writer.ident is not None:
                writer.join(WAIT)


@pytest.fixture
def wire(secure_module) -> Iterator:
    """``wire(rcvbuf=None)``: a connection whose server side a student's Client can own."""
    made: list[Wire] = []

    def make(rcvbuf: int | None = None) -> Wire:
        made.append(Wire(secure_module, rcvbuf))
        return made[-1]

    yield make
    for one in made:
        one.close()


@pytest.fixture
def server_threads():
    """``server_threads()``: the names of the threads started since the check began
    (the student's server's, as this check's clients start none)."""
    before = set(threading.enumerate())

    def names() -> list[str]:
        return sorted(t.name for t in set(threading.enumerate()) - before
                      if t.name != SERVE_THREAD and t is not threading.current_thread())

    return names


@pytest.fixture
def chat_target(server_module) -> Iterator[Target]:
    """The student's ``serve()`` running, as the conformance suite's target."""
    sendq = getattr(server_module, "SENDQ", None)
    assert isinstance(sendq, int) and sendq > 0, _(
        "chat_server.py needs SENDQ, the bytes that may wait for one client — README step 1")
    before = set(threading.enumerate())
    with harness.student_server(server_module.serve, sndbuf=SNDBUF, name=SERVE_THREAD) as address:
        yield Target(address, sendq, _("your server"), CAUSES)
    # The listener is closed, the clients too: the server's threads get (together) 2 s to
    # end, so what they raise on the way out is charged to this check, not the next.
    deadline = time.monotonic() + 2
    for thread in set(threading.enumerate()) - before:
        if thread.name != SERVE_THREAD and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))

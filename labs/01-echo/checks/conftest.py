"""Lab 01's fixtures: the student's server running on a listener of the checks' own."""

import socket
import threading
from collections.abc import Iterator

import pytest

from socketlab.labs import harness
from socketlab.labs.harness import _

# Sockets the student's server accepts then have a timeout, which makes send()
# return after a partial write when the buffer is nearly full — as it may on
# any system — so that send() instead of sendall() is caught every time.
socket.setdefaulttimeout(10)


@pytest.fixture
def echo_server() -> Iterator[tuple[str, int]]:
    """The student's ``serve()`` on a fresh listener; yields the address to connect to.

    The listener has a small send buffer (accepted sockets inherit it): with a
    slow reader, the server's send() then often has room for only part of a chunk.
    """
    module = harness.load("echo_server.py")
    with harness.student_server(module.serve, sndbuf=1024) as address:
        yield address


@pytest.fixture
def handled() -> Iterator[tuple[socket.socket, threading.Event]]:
    """A client connected to a socket that the student's ``handle(conn)`` serves.

    Yields the client's socket and an event set once ``handle`` has returned
    (the checks close the server's side then, as ``serve`` would). The
    server's side has a small send buffer, so a big echo needs many writes.
    """
    module = harness.load("echo_server.py")
    with harness.listening_socket(sndbuf=1024) as listener:
        client = harness.connect(listener.getsockname(), rcvbuf=4096)
        conn, _address = listener.accept()
        returned = threading.Event()

        def serve_one() -> None:
            with conn:
                module.handle(conn)
                returned.set()

        harness.run_in_thread(serve_one, name="student-handle")
        with client:
            yield client, returned


def handle_problem() -> str | None:
    """What is wrong with the student's own handle(), tried alone on one connection: a
    client sends b"ping" and closes its side. None when handle() echoes it and returns.

    The checks of serve() blame serve() only when handle() is right."""
    module = harness.load("echo_server.py")
    with harness.listening_socket() as listener:
        client = harness.connect(listener.getsockname())
        conn, _address = listener.accept()
    with client, conn:
        client.sendall(b"ping")
        client.shutdown(socket.SHUT_WR)
        try:
            harness.call_with_timeout(module.handle, conn, timeout=2)
        except AssertionError:
            return _("your handle() did not return when the client closed (recv() gave b''): "
                     "fix handle() first — README step 2")
        except Exception as error:  # noqa: BLE001 - any failure is the answer
            return _("your handle() failed: {error} — fix it first — README step 2").format(
                error=harness.describe(error))
        answer = _read_all(client)  # not recv_exactly: another thread's death must not cut it
    if answer != b"ping":
        return _("your handle() sent back {answer!r} for b'ping': fix handle() first — README "
                 "step 2").format(answer=answer)
    return None


def _read_all(sock: socket.socket) -> bytes:
    """Everything ``sock`` receives until the peer closes (or 1 s of silence)."""
    sock.settimeout(1)
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except OSError:
        pass
    return data


@pytest.fixture
def client_module():
    return harness.load("echo_client.py")


@pytest.fixture
def reference() -> Iterator:
    """``reference(handler)``: a one-connection server of the checks' own running
    ``handler(conn)``; its address. At the end of the check its sockets are closed and
    its thread has ended, so nothing of it reaches the next check."""
    started: list[tuple[socket.socket, threading.Thread]] = []

    def serve(handler) -> tuple[str, int]:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(5)  # a client that never came: the thread ends anyway

        def run() -> None:
            with listener:
                conn, _address = listener.accept()
            with conn:
                conn.settimeout(5)
                handler(conn)

        started.append((listener, harness.checker_thread(run, name="reference-server")))
        return listener.getsockname()

    yield serve
    for listener, thread in started:
        listener.close()
        thread.join(5)

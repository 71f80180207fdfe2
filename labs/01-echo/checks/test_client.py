"""Steps 4 and 5: the client connects, sends all, and collects the whole answer."""

import socket
import time

from socketlab.labs import harness
from socketlab.labs.harness import _


def _echo(conn):
    while data := conn.recv(65536):
        conn.sendall(data)


def test_connect(client_module, reference):
    """connect() returns a socket connected to the server"""
    address = reference(_echo)
    sock = client_module.connect(*address)
    assert isinstance(sock, socket.socket), _("connect() returned {sock!r}, not a socket").format(
        sock=sock)
    with sock:
        peer = sock.getpeername()[:2]
    assert peer == address, _("connect() reached {peer}, not the server at {address}").format(
        peer=peer, address=address)


def test_echo_returns_the_answer(client_module, reference):
    """echo() returns exactly the bytes the server sent back"""
    address = reference(_echo)
    with socket.create_connection(address, timeout=3) as sock:
        answer = harness.call_with_timeout(client_module.echo, sock, b"ping", timeout=2)
    assert answer == b"ping", _("echo(sock, b'ping') returned {answer!r}").format(answer=answer)


def test_answer_in_pieces(client_module, reference):
    """echo() collects an answer that arrives in small pieces"""
    def dribble(conn):
        data = harness.recv_exactly(conn, 12)
        for start in range(0, len(data), 3):
            conn.sendall(data[start:start + 3])
            time.sleep(0.05)  # the pieces arrive apart, as they may on a real network

    address = reference(dribble)
    with socket.create_connection(address, timeout=3) as sock:
        answer = harness.call_with_timeout(client_module.echo, sock, b"hello world!", timeout=2)
    assert answer == b"hello world!", _(
        "echo() returned {answer!r}: one recv() gives whatever has arrived so far — TCP is "
        "a byte stream, not a stream of messages. Loop until all len(data) bytes are in — "
        "README step 5").format(answer=answer)


def test_big_message_sent_whole(client_module, reference):
    """echo() sends all of a 1 MB message (sendall, not send)"""
    message = bytes(range(256)) * 4096
    received = [0]

    def counting_echo(conn):
        while data := conn.recv(65536):
            received[0] += len(data)
            conn.sendall(data)

    address = reference(counting_echo)
    with socket.create_connection(address, timeout=3) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
        sock.settimeout(10)
        try:
            answer = harness.call_with_timeout(client_module.echo, sock, message, timeout=5)
        except AssertionError:
            answer, failure = None, _("never returned")
        except OSError as error:
            answer, failure = None, _("raised {kind}").format(kind=type(error).__name__)
        else:
            failure = _("returned {size:,} bytes").format(size=len(answer))
    if answer == message:
        return
    if received[0] < len(message):
        raise AssertionError(_(
            "echo() of a 1 MB message: the server got only {got:,} of its {size:,} bytes, and "
            "echo() {failure}: send() wrote only part of it — use sendall() — README step 5"
        ).format(got=received[0], size=len(message), failure=failure))
    raise AssertionError(_(
        "the server got all {size:,} bytes and sent them back, but echo() {failure}: keep "
        "calling recv() until all len(data) bytes are in — README step 5"
    ).format(size=len(message), failure=failure))


def test_server_closes_early(client_module, reference):
    """echo() raises ConnectionError when the server closes before answering in full"""
    def half(conn):
        data = harness.recv_exactly(conn, 10)
        conn.sendall(data[:5])

    address = reference(half)
    with socket.create_connection(address, timeout=3) as sock:
        try:
            answer = harness.call_with_timeout(client_module.echo, sock, b"0123456789", timeout=2)
        except ConnectionError:
            return
        except AssertionError as stuck:  # it never returned
            raise AssertionError(_(
                "the server closed after 5 of 10 bytes, and {stuck}: recv() returning b'' "
                "means the server is gone — raise ConnectionError then — README step 5"
            ).format(stuck=stuck)) from None
    raise AssertionError(_(
        "the server closed after 5 of 10 bytes, and echo() returned {answer!r} instead of "
        "raising ConnectionError: recv() returning b'' means the server is gone — README step 5"
    ).format(answer=answer))

"""Step 3: serve() serves one client after another, whatever the last one did."""

import socket
import struct

from conftest import handle_problem

from socketlab.labs import harness
from socketlab.labs.harness import _


def _echo_once(address, payload: bytes) -> bytes:
    with harness.connect(address) as client:
        client.sendall(payload)
        client.shutdown(socket.SHUT_WR)  # "I am done sending": the server's recv() gets b""
        return harness.recv_exactly(client, len(payload))


def test_clients_one_after_another(echo_server):
    """5 clients, one after another, each get their own bytes back"""
    for number in range(5):
        payload = f"client {number}".encode()
        answer = _echo_once(echo_server, payload)
        assert answer == payload or not (problem := handle_problem()), harness.why(problem)
        assert answer == payload, harness.why(_(
            "client {number} sent {payload!r} and got {answer!r}: serve() must accept the next "
            "client once handle() returns — a loop around accept() — README step 3"
        ).format(number=number, payload=payload, answer=answer))


def test_client_that_sends_nothing(echo_server):
    """a client that connects and closes at once does not stop the server"""
    with harness.connect(echo_server) as quiet:
        quiet.shutdown(socket.SHUT_WR)
        closed = harness.closed_by_peer(quiet, timeout=2)
    assert closed or not (problem := handle_problem()), harness.why(problem)
    assert closed, harness.why(_(
        "a client closed at once, and serve() never closed the connection: close each "
        "connection once handle() returns (a 'with conn:' block does it) — README step 3"))
    answer = _echo_once(echo_server, b"next")
    assert answer == b"next", harness.why(_(
        "the next client got {answer!r} instead of b'next' after a client that sent nothing"
    ).format(answer=answer))


def test_client_that_vanishes(echo_server):
    """a client that vanishes abruptly (connection reset) does not stop the server"""
    rude = harness.connect(echo_server)
    rude.sendall(b"x" * 100)
    harness.recv_exactly(rude, 100)
    # SO_LINGER with a zero timeout: close() resets the connection instead of ending it politely.
    rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    rude.close()
    answer = _echo_once(echo_server, b"still there?")
    assert answer == b"still there?" or not (problem := handle_problem()), harness.why(problem)
    assert answer == b"still there?", harness.why(_(
        "after a client vanished, the next one got {answer!r}: catch ConnectionError around "
        "handle() in serve(), so one rude client cannot stop the server — README step 3"
    ).format(answer=answer))

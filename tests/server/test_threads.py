"""The server's threads: named as the lesson says, and all gone after stop()."""

from __future__ import annotations

import socket
import time

from socketlab.protocol import Error, Joined, Left, Message, Say
from socketlab.server import ChatServer, FloodLimits
from tests.server.server_helpers import RawClient, eventually, running_threads, server_threads


def test_threads_are_named_accept_reader_writer(connect) -> None:
    before = running_threads()
    with ChatServer() as server:
        assert server_threads(before) == ["accept"]
        guest = connect(server)
        port = guest.sock.getsockname()[1]
        assert eventually(lambda: f"reader-127.0.0.1:{port}" in server_threads(before))
        assert f"writer-127.0.0.1:{port}" in server_threads(before)
        guest.login("alice")
        assert eventually(
            lambda: sorted(server_threads(before)) == ["accept", "reader-alice", "writer-alice"]
        )


def test_stop_tells_every_client_and_ends_every_thread() -> None:
    before = running_threads()
    server = ChatServer()
    server.start()
    clients = []
    try:
        for name in ("alice", "bob", "carol"):
            client = RawClient(server.address)
            client.handshake()
            client.login(name)
            clients.append(client)
        clients[0].wait_for(lambda m: m == Joined("carol"))
        pre_login = RawClient(server.address)
        clients.append(pre_login)
        assert eventually(lambda: len(server_threads(before)) == 1 + 2 * 4)

        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2.0
        assert server_threads(before) == []
        for client in clients[:3]:
            told = [m for m in client.expect_closed() if isinstance(m, Error)]
            assert [m.code for m in told] == ["shutting_down"]
        assert pre_login.expect_closed() == [Error("shutting_down", "the server is shutting down")]
    finally:
        server.stop()
        for client in clients:
            client.close()


def test_stop_is_idempotent_and_a_context_manager_stops() -> None:
    before = running_threads()
    with ChatServer() as server:
        assert server_threads(before) == ["accept"]
    assert server_threads(before) == []
    server.stop()


def test_stop_ends_the_threads_of_a_client_still_leaving() -> None:
    """A client already gone from the chat, whose writer is still stuck sending to it
    (it never reads): stop() waits for its threads too, so none outlives the server."""
    before = running_threads()
    server = ChatServer("127.0.0.1", 0, sendq=64 * 1024 * 1024, flood=FloodLimits(rate=0))
    server.start()
    alice = RawClient(server.address)
    staller = RawClient(server.address, rcvbuf=4096)  # it never calls recv
    try:
        alice.handshake()
        alice.login("alice")
        staller.handshake()
        staller.login("staller")
        alice.wait_for(lambda m: m == Joined("staller"))
        lines = 2500  # 5 MB: more than the staller's socket buffers hold
        for number in range(lines):
            alice.send(Say(f"{number:04} " + "x" * 1995))
            if number % 50 == 49:  # alice reads her own lines back, so only the staller lags
                alice.wait_for(lambda m, n=number: isinstance(m, Message)
                               and m.text.startswith(f"{n:04} "))
        staller.sock.shutdown(socket.SHUT_WR)  # it leaves; its writer is still stuck on it
        alice.wait_for(lambda m: isinstance(m, Left) and m.name == "staller")
        assert any(name == "reader-staller" for name in server_threads(before))
        server.stop()
        assert server_threads(before) == []
    finally:
        server.stop()
        alice.close()
        staller.close()

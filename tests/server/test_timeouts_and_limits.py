"""Keepalive pings, dropping silent peers, and the client limit."""

from __future__ import annotations

import time

from socketlab.protocol import Error, Left, Message, Ping, Pong, Say
from tests.server.server_helpers import RawClient, eventually, server_threads

KEEPALIVE = 0.3


def test_a_quiet_client_is_pinged_and_stays_if_it_answers(make_server, connect) -> None:
    server = make_server(keepalive=KEEPALIVE)
    alice = connect(server, "alice")
    started = time.monotonic()
    for _ in range(3):  # three rounds: ~3 keepalive periods of silence from alice's side
        alice.expect(Ping, timeout=3 * KEEPALIVE + 1)
        alice.send(Pong())
    assert time.monotonic() - started >= 2 * KEEPALIVE  # pings come after silence, not at once
    alice.send(Say("still here"))
    alice.expect(Message, text="still here")


def test_a_silent_client_is_dropped_with_idle_timeout(make_server, connect) -> None:
    server = make_server(keepalive=KEEPALIVE)
    alice, ghost = connect(server, "alice"), connect(server, "ghost")
    deadline = time.monotonic() + 10 * KEEPALIVE + 2
    while True:  # alice answers every ping; the ghost answers nothing
        msg = alice.recv(timeout=deadline - time.monotonic())
        if isinstance(msg, Ping):
            alice.send(Pong())
        elif isinstance(msg, Left):
            assert msg == Left("ghost", "idle_timeout")
            break
    told = [m for m in ghost.expect_closed() if isinstance(m, Error)]
    assert [m.code for m in told] == ["idle_timeout"]


def test_beyond_max_clients_a_connection_is_refused_clearly(make_server, connect) -> None:
    server = make_server(max_clients=2)
    first, second = connect(server, "first"), connect(server, "second")
    third = RawClient(server.address)
    try:
        third.send_bytes(third.conn.hello())
        received = third.expect_closed()
    finally:
        third.close()
    assert [m.code for m in received if isinstance(m, Error)] == ["server_full"]

    first.sock.close()  # a place frees up
    second.wait_for(lambda m: isinstance(m, Left) and m.name == "first")
    assert eventually(lambda: not any("first" in name for name in server_threads()))
    fourth = connect(server, "fourth")
    fourth.send(Say("made it"))
    second.wait_for(lambda m: isinstance(m, Message) and m.text == "made it")

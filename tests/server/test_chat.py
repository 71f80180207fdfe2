"""The chat over real sockets with three or more clients."""

from __future__ import annotations

import socket

import pytest

from socketlab.protocol import (
    Error,
    Joined,
    Left,
    Login,
    Message,
    Ping,
    Pong,
    Say,
    Users,
    Welcome,
    Whisper,
    Who,
)
from tests.server.server_helpers import RawClient


@pytest.fixture
def trio(server, connect) -> tuple[RawClient, RawClient, RawClient]:
    alice = connect(server, "alice")
    bob = connect(server, "bob")
    carol = connect(server, "carol")
    alice.expect(Joined, name="bob")
    alice.expect(Joined, name="carol")
    bob.expect(Joined, name="carol")
    return alice, bob, carol


def test_say_reaches_everyone_including_the_sender(trio) -> None:
    alice = trio[0]
    alice.send(Say("hello, room"))
    for client in trio:
        client.expect(Message, sender="alice", text="hello, room", to=None)


def test_whisper_reaches_only_recipient_and_sender(trio) -> None:
    alice, bob, carol = trio
    alice.send(Whisper("Bob", "just between us"))
    bob.expect(Message, sender="alice", text="just between us", to="bob")
    alice.expect(Message, sender="alice", text="just between us", to="bob")
    # Carol's next message must be the sentinel: the whisper never reached her.
    bob.send(Say("sentinel"))
    carol.expect(Message, sender="bob", text="sentinel")


def test_whisper_to_an_unknown_name_is_no_such_user(trio) -> None:
    alice, _, _ = trio
    alice.send(Whisper("nobody", "hello?"))
    alice.expect(Error, code="no_such_user")


def test_who_lists_everyone(trio) -> None:
    alice, _, _ = trio
    alice.send(Who())
    alice.expect(Users, names=("alice", "bob", "carol"))


def test_welcome_lists_who_is_here(server, connect, trio) -> None:
    welcome = connect(server).login("dave")
    assert welcome == Welcome("dave", ("alice", "bob", "carol", "dave"))


@pytest.mark.parametrize("name", ["ALICE", "Alice", "ＡＬＩＣＥ"])
def test_a_duplicate_name_is_refused_and_a_retry_works(server, connect, trio, name) -> None:
    bob = trio[1]
    eve = connect(server)
    eve.send(Login(name))
    eve.expect(Error, code="name_taken")
    assert eve.login("eve").name == "eve"
    bob.expect(Joined, name="eve")


def test_joined_and_left_reach_the_others(server, connect, trio) -> None:
    dave = connect(server, "dave")
    for client in trio:
        client.expect(Joined, name="dave")
    dave.close()
    for client in trio:
        client.expect(Left, name="dave", reason="connection_lost")


def test_chat_before_login_is_not_logged_in(server, connect) -> None:
    client = connect(server)
    client.send(Say("too early"))
    client.expect(Error, code="not_logged_in")
    assert client.login("late").name == "late"


def test_login_twice_is_already_logged_in(trio) -> None:
    alice, _, _ = trio
    alice.send(Login("alice2"))
    alice.expect(Error, code="already_logged_in")


def test_ping_gets_pong(trio) -> None:
    alice, _, _ = trio
    alice.send(Ping())
    alice.expect(Pong)


def test_plaintext_is_refused_by_default(server, connect, trio) -> None:
    plain = RawClient(server.address, mode="plain")
    try:
        plain.send_bytes(plain.conn.hello())
        received = plain.expect_closed()
        assert [(m.code if isinstance(m, Error) else m) for m in received] == ["plaintext_refused"]
    finally:
        plain.close()
    alice, bob, _ = trio
    alice.send(Say("still fine"))
    bob.expect(Message, text="still fine")


def test_plaintext_works_when_allowed(make_server, connect) -> None:
    server = make_server(allow_plaintext=True)
    plain = connect(server, "plainpat", mode="plain")
    boxed = connect(server, "boxbob")
    plain.expect(Joined, name="boxbob")
    boxed.send(Say("to both kinds"))
    plain.expect(Message, sender="boxbob", text="to both kinds")
    boxed.expect(Message, sender="boxbob", text="to both kinds")


def _nodelay_of_each_client(server) -> list[int]:
    # The server's own end of each connection: a client cannot see this option.
    return [
        peer._sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        for peer in server._peers.values()
    ]


def test_frames_leave_at_once_unless_the_server_is_told_to_use_nagle(
    make_server, connect
) -> None:
    quick = make_server()
    connect(quick, "alice").send(Say("hi"))
    nagle = make_server(nodelay=False)
    bob = connect(nagle, "bob")
    bob.send(Say("hi"))
    bob.expect(Message, text="hi")  # Nagle delays a frame; it never loses one
    assert [bool(v) for v in _nodelay_of_each_client(quick)] == [True]
    assert _nodelay_of_each_client(nagle) == [0]

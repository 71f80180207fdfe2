"""The chat rules as transcripts: message in, commands out; no sockets, no threads."""

from __future__ import annotations

import logging

import pytest

from socketlab.protocol import (
    Bye,
    Error,
    Hello,
    Joined,
    Left,
    Login,
    Message,
    Ping,
    Pong,
    Say,
    ServerHello,
    Users,
    Welcome,
    Whisper,
    Who,
)
from socketlab.server import Broadcast, Close, Hub, Log, Send

NOW = 1_764_075_123_123


def chat_only(commands: list) -> list:
    """The commands without log lines (logs are checked separately where they matter)."""
    return [cmd for cmd in commands if not isinstance(cmd, Log)]


def logged_in(*names: str) -> Hub:
    """A hub where connection 1 is names[0], 2 is names[1], and so on."""
    hub = Hub()
    for conn_id, name in enumerate(names, start=1):
        hub.connect(conn_id)
        hub.handle(conn_id, Login(name), NOW)
    return hub


def test_login_welcomes_the_user_and_tells_the_others() -> None:
    hub = logged_in("alice")
    hub.connect(2)
    commands = hub.handle(2, Login("bob"), NOW)
    assert chat_only(commands) == [
        Send(2, Welcome("bob", ("alice", "bob"))),
        Broadcast(Joined("bob"), exclude=2),
    ]
    assert Log(logging.INFO, "bob joined (2 online)") in commands
    assert hub.name_of(2) == "bob"
    assert list(hub.members()) == [1, 2]


@pytest.mark.parametrize("taken", ["alice", "ALICE", "Alice", "ＡＬＩＣＥ", "ａｌｉｃｅ"])
def test_a_name_in_use_is_refused_in_any_case_and_after_nfkc(taken: str) -> None:
    hub = logged_in("alice")
    hub.connect(2)
    commands = hub.handle(2, Login(taken), NOW)
    assert len(commands) == 1 and isinstance(commands[0], Send)
    assert commands[0].conn_id == 2
    assert isinstance(commands[0].msg, Error) and commands[0].msg.code == "name_taken"
    assert hub.name_of(2) is None


def test_after_name_taken_the_same_connection_may_try_again() -> None:
    hub = logged_in("alice")
    hub.connect(2)
    hub.handle(2, Login("Alice"), NOW)
    assert chat_only(hub.handle(2, Login("alice2"), NOW))[0] == Send(
        2, Welcome("alice2", ("alice", "alice2"))
    )


def test_a_name_is_free_again_once_its_user_left() -> None:
    hub = logged_in("alice", "bob")
    hub.disconnect(1, "quit")
    hub.connect(3)
    assert chat_only(hub.handle(3, Login("ALICE"), NOW))[0] == Send(
        3, Welcome("ALICE", ("bob", "ALICE"))
    )


@pytest.mark.parametrize("name", ["", "a" * 21, "two words", "bad\u202ename", "zero\u200bwidth"])
def test_an_invalid_name_is_refused_with_bad_name_and_closed(name: str) -> None:
    hub = logged_in("alice")
    hub.connect(2)
    [close] = hub.handle(2, Login(name), NOW)
    assert isinstance(close, Close) and close.conn_id == 2
    assert close.error is not None and close.error.code == "bad_name"


def test_say_reaches_everyone_including_the_sender() -> None:
    hub = logged_in("alice", "bob", "carol")
    assert hub.handle(2, Say("hello"), NOW) == [Broadcast(Message("bob", "hello", NOW))]


def test_whisper_reaches_only_the_recipient_and_the_sender() -> None:
    hub = logged_in("alice", "bob", "carol")
    line = Message("alice", "psst", NOW, to="carol")
    assert hub.handle(1, Whisper("CAROL", "psst"), NOW) == [Send(3, line), Send(1, line)]


def test_whisper_to_oneself_arrives_once() -> None:
    hub = logged_in("alice", "bob")
    line = Message("alice", "note", NOW, to="alice")
    assert hub.handle(1, Whisper("alice", "note"), NOW) == [Send(1, line)]


def test_whisper_to_an_unknown_name_is_no_such_user() -> None:
    hub = logged_in("alice", "bob")
    [reply] = hub.handle(1, Whisper("nobody", "psst"), NOW)
    assert isinstance(reply, Send) and reply.conn_id == 1
    assert isinstance(reply.msg, Error) and reply.msg.code == "no_such_user"


def test_who_lists_the_users_in_join_order() -> None:
    hub = logged_in("alice", "bob", "carol")
    assert hub.handle(3, Who(), NOW) == [Send(3, Users(("alice", "bob", "carol")))]


def test_bye_closes_and_tells_the_others() -> None:
    hub = logged_in("alice", "bob")
    commands = chat_only(hub.handle(2, Bye(), NOW))
    assert commands == [Broadcast(Left("bob", "quit"), exclude=2), Close(2)]
    assert list(hub.members()) == [1]


def test_disconnect_tells_the_others_once() -> None:
    hub = logged_in("alice", "bob")
    assert chat_only(hub.disconnect(2, "connection_lost")) == [
        Broadcast(Left("bob", "connection_lost"), exclude=2)
    ]
    assert hub.disconnect(2, "connection_lost") == []


def test_disconnect_before_login_tells_no_one() -> None:
    hub = logged_in("alice")
    hub.connect(2)
    assert hub.disconnect(2, "connection_lost") == []


@pytest.mark.parametrize("msg", [Say("hi"), Whisper("alice", "hi"), Who()])
def test_chat_before_login_is_not_logged_in(msg: object) -> None:
    hub = logged_in("alice")
    hub.connect(2)
    [reply] = hub.handle(2, msg, NOW)  # type: ignore[arg-type]
    assert isinstance(reply, Send) and isinstance(reply.msg, Error)
    assert reply.msg.code == "not_logged_in"


def test_login_twice_is_already_logged_in() -> None:
    hub = logged_in("alice")
    [reply] = hub.handle(1, Login("alice2"), NOW)
    assert isinstance(reply, Send) and isinstance(reply.msg, Error)
    assert reply.msg.code == "already_logged_in"
    assert hub.name_of(1) == "alice"


@pytest.mark.parametrize("before_login", [True, False])
def test_ping_gets_pong_and_pong_gets_nothing(before_login: bool) -> None:
    hub = Hub() if before_login else logged_in("alice")
    hub.connect(1)
    assert hub.handle(1, Ping(), NOW) == [Send(1, Pong())]
    assert hub.handle(1, Pong(), NOW) == []


@pytest.mark.parametrize(
    "msg",
    [Hello(), ServerHello(), Welcome("x"), Message("x", "y", 1), Users(), Joined("x"), Left("x")],
)
def test_a_message_only_servers_send_closes_the_connection(msg: object) -> None:
    hub = logged_in("alice", "bob")
    commands = chat_only(hub.handle(2, msg, NOW))  # type: ignore[arg-type]
    assert commands == [
        Broadcast(Left("bob", "unexpected_message"), exclude=2),
        Close(2, Error("unexpected_message", f"a client does not send {msg.TYPE}")),  # type: ignore[attr-defined]
    ]


def test_an_error_from_a_client_is_logged_not_answered() -> None:
    hub = logged_in("alice")
    commands = hub.handle(1, Error("decrypt_failed", "oops"), NOW)
    assert commands == [Log(logging.DEBUG, "alice reported decrypt_failed: oops")]


def test_messages_after_the_close_are_ignored() -> None:
    hub = logged_in("alice", "bob")
    hub.handle(2, Bye(), NOW)
    assert hub.handle(2, Say("still here?"), NOW) == []

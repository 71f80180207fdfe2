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
from socketlab.server import Broadcast, Close, FloodLimits, Hub, Log, Send, Throttle

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
def test_an_invalid_name_is_refused_with_bad_name_and_may_be_retried(name: str) -> None:
    hub = logged_in("alice")
    hub.connect(2)
    [refusal] = hub.handle(2, Login(name), NOW)
    assert isinstance(refusal, Send) and refusal.conn_id == 2
    assert isinstance(refusal.msg, Error) and refusal.msg.code == "bad_name"
    welcome, *_ = hub.handle(2, Login("bob"), NOW)
    assert welcome == Send(2, Welcome("bob", ("alice", "bob")))


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


# -- flood control and the user limit (time is passed in: the transcripts run in no time) ----


def flood_hub(rate: float, burst: int) -> Hub:
    hub = Hub(flood=FloodLimits(rate=rate, burst=burst))
    hub.connect(1, NOW)
    hub.handle(1, Login("alice"), NOW)  # costs a token too
    return hub


def test_a_burst_passes_then_messages_are_held_at_the_rate() -> None:
    hub = flood_hub(rate=10, burst=3)
    for _ in range(2):  # the burst's last two tokens
        assert chat_only(hub.handle(1, Say("x"), NOW)) == [Broadcast(Message("alice", "x", NOW))]
    assert hub.handle(1, Say("x"), NOW) == [Throttle(1, 100)]  # held: 100 ms to the next token
    assert hub.handle(1, Say("x"), NOW + 99) == [Throttle(1, 1)]
    assert chat_only(hub.handle(1, Say("x"), NOW + 100)) == [
        Broadcast(Message("alice", "x", NOW + 100))
    ]


def test_a_persistent_flooder_is_told_then_dropped() -> None:
    limits = FloodLimits(rate=10, burst=3)
    hub = flood_hub(limits.rate, limits.burst)
    hub.connect(2, NOW)
    hub.handle(2, Login("bob"), NOW)
    now, held, told_at = NOW, 0, None
    for _ in range(1000):  # the flooder gives each held message again as soon as it may
        commands = hub.handle(1, Say("spam"), now)
        throttles = [c for c in commands if isinstance(c, Throttle)]
        if any(isinstance(c, Send) and c.msg == Error("rate_limited", c.msg.message)
               for c in commands):  # fmt: skip
            told_at = held
        if any(isinstance(c, Close) for c in commands):
            break
        if throttles:
            held += 1
            now += throttles[0].delay_ms
    else:
        pytest.fail("the flooder was never dropped")
    assert told_at == limits.warn_after
    assert held == limits.drop_after
    [close] = [c for c in commands if isinstance(c, Close)]
    assert close.error is not None and close.error.code == "excess_flood"
    assert Broadcast(Left("alice", "excess_flood"), exclude=1) in commands


def test_a_fast_human_is_never_held() -> None:
    hub = flood_hub(rate=10, burst=20)  # the server's default
    for i in range(300):  # 5 messages a second for a minute
        commands = hub.handle(1, Say(f"line {i}"), NOW + 200 * i)
        assert not any(isinstance(c, (Throttle, Send, Close)) for c in commands), (i, commands)


def test_a_pause_starts_a_clean_slate() -> None:
    limits = FloodLimits(rate=10, burst=3)
    hub = flood_hub(limits.rate, limits.burst)
    now = NOW
    for _ in range(limits.warn_after + 3):  # over the rate long enough to be warned
        commands = hub.handle(1, Say("x"), now)
        now += max([c.delay_ms for c in commands if isinstance(c, Throttle)], default=0)
    later = now + 1000 * limits.burst / limits.rate  # the bucket is full again
    for i in range(limits.burst):
        assert chat_only(hub.handle(1, Say("x"), later)) == [
            Broadcast(Message("alice", "x", later))
        ], i


def test_a_login_beyond_max_members_is_refused_with_server_full() -> None:
    hub = Hub(max_members=1)
    hub.connect(1)
    hub.handle(1, Login("alice"), NOW)
    hub.connect(2)
    [close] = hub.handle(2, Login("bob"), NOW)
    assert close == Close(2, Error("server_full", "the server is full (1 users)"))

"""ChatClient against a real ChatServer on 127.0.0.1: the session from login to goodbye."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from socketlab.client import ChatClient, ChatError, Disconnected
from socketlab.client.events import CLOSED_BY_YOU
from socketlab.protocol import MAX_TEXT, Error, Joined, Left, Message, Users
from socketlab.server import FloodLimits


def is_message(text: str) -> Callable[[object], bool]:
    return lambda e: isinstance(e, Message) and e.text == text


def test_login_welcomes_and_starts_a_named_receive_thread(make_client) -> None:
    make_client("bob")
    alice = make_client()
    welcome = alice.login("alice")
    assert welcome.name == alice.name == "alice"
    assert set(welcome.users) == {"alice", "bob"}
    assert alice.mode == "box" and alice.server_fingerprint.startswith("SHA256:")
    assert sum(t.name == "receive" for t in threading.enumerate()) == 2


def test_say_reaches_everyone_including_the_sender(make_client, wait) -> None:
    alice, bob, carol = make_client("alice"), make_client("bob"), make_client("carol")
    alice.say("hello room")
    for client in (alice, bob, carol):
        msg = wait(client, is_message("hello room"))
        assert (msg.sender, msg.to) == ("alice", None)


def test_whisper_reaches_only_recipient_and_sender(make_client, wait) -> None:
    alice, bob, carol = make_client("alice"), make_client("bob"), make_client("carol")
    alice.whisper("bob", "psst")
    alice.say("after")  # carol's marker: everything before it has been delivered
    for client in (alice, bob):
        msg = wait(client, is_message("psst"))
        assert (msg.sender, msg.to) == ("alice", "bob")
    wait(carol, lambda e: isinstance(e, Message) and e.text in ("psst", "after"))
    assert not any(isinstance(e, Message) and e.text == "psst" for e in list(carol.events.queue))


def test_name_taken_then_retry_on_the_same_connection(make_client) -> None:
    make_client("alice")
    second = make_client()
    with pytest.raises(ChatError) as refused:
        second.login("ALICE")
    assert refused.value.code == "name_taken"
    assert second.name is None
    assert second.login("alice2").name == "alice2"


def test_invalid_name_is_refused_and_retry_works(make_client) -> None:
    client = make_client()
    with pytest.raises(ChatError) as refused:
        client.login("has space")
    assert refused.value.code == "bad_name"
    assert client.login("fine").name == "fine"


def test_who_and_joined_left(make_client, wait) -> None:
    alice = make_client("alice")
    bob = make_client("bob")
    wait(alice, lambda e: e == Joined("bob"))
    alice.who()
    assert set(wait(alice, lambda e: isinstance(e, Users)).names) == {"alice", "bob"}
    bob.close()
    assert wait(alice, lambda e: isinstance(e, Left)).name == "bob"


def test_server_errors_arrive_as_events_and_the_session_goes_on(make_client, wait) -> None:
    alice = make_client("alice")
    alice.whisper("nobody", "hello?")
    assert wait(alice, lambda e: isinstance(e, Error)).code == "no_such_user"
    alice.say("still here")
    wait(alice, is_message("still here"))


def test_text_the_protocol_refuses_is_not_sent(make_client, wait) -> None:
    alice = make_client("alice")
    with pytest.raises(ChatError) as refused:
        alice.say("x" * (MAX_TEXT + 1))
    assert refused.value.code == "bad_message"
    alice.say("short")  # the nonce counter did not move: the server still accepts us
    wait(alice, is_message("short"))


# 200 messages at once are a flood to the server's default limits: this is about the client.
@pytest.mark.parametrize("server", [{"flood": FloodLimits(rate=0)}], indirect=True)
def test_sends_from_many_threads_arrive_whole_and_in_order(make_client, wait) -> None:
    alice, bob = make_client("alice"), make_client("bob")
    threads = [
        threading.Thread(target=lambda n=n: [alice.say(f"{n}:{i}") for i in range(50)])
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    got: dict[str, list[int]] = {str(n): [] for n in range(4)}
    for _ in range(200):
        msg = wait(bob, lambda e: isinstance(e, Message) and e.sender == "alice")
        sender_thread, number = msg.text.split(":")
        got[sender_thread].append(int(number))
    assert all(numbers == list(range(50)) for numbers in got.values())


def test_close_says_bye_ends_with_disconnected_and_is_idempotent(make_client, wait) -> None:
    alice, bob = make_client("alice"), make_client("bob")
    with alice:
        pass
    alice.close()
    assert wait(alice, lambda e: isinstance(e, Disconnected)) == Disconnected(CLOSED_BY_YOU)
    left = wait(bob, lambda e: isinstance(e, Left))
    assert (left.name, left.reason) == ("alice", "quit")
    assert sum(t.name == "receive" for t in threading.enumerate()) == 1  # bob's only
    with pytest.raises(ChatError) as closed:
        alice.say("too late")
    assert closed.value.code == "not_connected"


def test_events_end_with_disconnected_when_the_server_stops(server, make_client, wait) -> None:
    alice = make_client("alice")
    server.stop()
    event = wait(alice, lambda e: isinstance(e, Disconnected))
    assert event.reason != CLOSED_BY_YOU
    with pytest.raises(ChatError):
        alice.say("anyone?")


def test_sending_before_login_is_refused(make_client) -> None:
    client = make_client()
    with pytest.raises(ChatError) as refused:
        client.say("hi")
    assert refused.value.code == "not_logged_in"


def test_refused_connection_names_host_and_port() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ChatClient("127.0.0.1", port, timeout=5)
    with pytest.raises(ChatError) as refused:
        client.connect()
    assert refused.value.code == "connect_failed"
    assert f"127.0.0.1:{port}" in str(refused.value)


def test_plaintext_only_when_the_server_allows_it(make_server, wait) -> None:
    strict, lenient = make_server(), make_server(allow_plaintext=True)
    with pytest.raises(ChatError) as refused:
        ChatClient(*strict.address, mode="plain", timeout=5).connect()
    assert refused.value.code == "plaintext_refused"
    with ChatClient(*lenient.address, mode="plain", timeout=5) as client:
        client.connect()
        assert client.server_fingerprint is None and client.pin_status is None
        client.login("plain")
        client.say("in the clear")
        wait(client, is_message("in the clear"))


def test_a_server_that_never_answers_the_hello_times_out() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never accepts or answers
        client = ChatClient(*silent.getsockname()[:2], timeout=0.5)
        with pytest.raises(ChatError) as refused:
            client.connect()
    assert refused.value.code == "timeout"


def test_server_pings_are_answered_so_an_idle_client_stays(make_server, wait) -> None:
    server = make_server(keepalive=0.2)  # a silent peer is dropped after 0.4 s
    with ChatClient(*server.address) as alice:
        alice.connect()
        alice.login("alice")
        time.sleep(1.2)
        assert not any(isinstance(e, Disconnected) for e in list(alice.events.queue))
        alice.say("still here")
        wait(alice, is_message("still here"))

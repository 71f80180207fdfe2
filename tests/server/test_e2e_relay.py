"""End-to-end whispers through the server: it keeps each user's bundle, answers lookups,
relays sealed whispers it cannot open, and old clients chat as before.

Hub transcripts first, then real servers of each engine on 127.0.0.1."""

from __future__ import annotations

import dataclasses

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from socketlab.protocol import (
    E2EKeys,
    E2EMessage,
    E2EWhisper,
    Error,
    Joined,
    Login,
    Lookup,
    Message,
    UserKey,
    Users,
    Welcome,
    Whisper,
    Who,
    accept_user_key,
    open_e2e_message,
    seal_whisper,
    sign_bundle,
)
from socketlab.server import Broadcast, Close, Hub, Send
from tests.server.server_helpers import Closed

NOW = 1_764_075_123_123
HOST, PORT = "127.0.0.1", 7777


def keys(seed: int) -> E2EKeys:
    return E2EKeys(SigningKey(bytes([seed]) * 32), PrivateKey(bytes([seed + 1]) * 32))


ALICE, BOB = keys(1), keys(3)


def hub_with(*users: tuple[str, E2EKeys | None]) -> Hub:
    """Connection 1 is users[0], 2 is users[1], …; None: an old client (no bundle)."""
    hub = Hub()
    for conn_id, (name, e2e) in enumerate(users, start=1):
        hub.connect(conn_id)
        hub.handle(conn_id, e2e.login(name) if e2e else Login(name), NOW)
    return hub


def sent(commands: list) -> list:
    return [cmd for cmd in commands if isinstance(cmd, (Send, Broadcast, Close))]


def error_code(commands: list) -> str:
    (cmd,) = sent(commands)
    assert isinstance(cmd, Send) and isinstance(cmd.msg, Error), cmd
    return cmd.msg.code


# -- the hub -------------------------------------------------------------------------------


def test_lookup_answers_the_users_own_bundle_and_spelling() -> None:
    hub = hub_with(("alice", ALICE), ("Bob", BOB))
    bundle = BOB.bundle("Bob")
    assert sent(hub.handle(1, Lookup("BOB"), NOW)) == [
        Send(1, UserKey("Bob", bundle.key, bundle.identity, bundle.signature))
    ]


def test_an_e2e_whisper_goes_unopened_to_the_recipient_and_the_sender() -> None:
    hub = hub_with(("alice", ALICE), ("Bob", BOB), ("carol", None))
    whisper = E2EWhisper("bob", bytes(range(24)), b"\x99" * 40)  # the hub never looks inside
    a = ALICE.bundle("alice")
    line = E2EMessage("alice", "Bob", NOW, a.key, a.identity, a.signature, whisper.nonce,
                      whisper.box)
    assert sent(hub.handle(1, whisper, NOW)) == [Send(2, line), Send(1, line)]


def test_a_whisper_to_oneself_is_delivered_once() -> None:
    hub = hub_with(("alice", ALICE))
    commands = sent(hub.handle(1, E2EWhisper("Alice", bytes(24), bytes(16)), NOW))
    assert len(commands) == 1 and commands[0].conn_id == 1
    assert isinstance(commands[0].msg, E2EMessage) and commands[0].msg.to == "alice"


@pytest.mark.parametrize(("asked", "code"), [
    ("dave", "no_such_user"), ("carol", "no_e2e_key"), ("CAROL", "no_e2e_key"),
    ("bad name", "bad_name"), ("", "bad_name"),
])
def test_lookup_and_e2e_whisper_refusals_keep_the_connection(asked: str, code: str) -> None:
    hub = hub_with(("alice", ALICE), ("carol", None))
    assert error_code(hub.handle(1, Lookup(asked), NOW)) == code
    assert error_code(hub.handle(1, E2EWhisper(asked, bytes(24), bytes(16)), NOW)) == code
    assert hub.is_member(1)


def test_an_old_client_gets_no_e2e_key_for_an_e2e_whisper_and_still_whispers() -> None:
    hub = hub_with(("alice", ALICE), ("carol", None))
    assert error_code(hub.handle(2, E2EWhisper("alice", bytes(24), bytes(16)), NOW)) \
        == "no_e2e_key"
    line = Message("carol", "hi", NOW, to="alice")
    assert sent(hub.handle(2, Whisper("alice", "hi"), NOW)) == [Send(1, line), Send(2, line)]


def test_before_login_lookup_and_e2e_whisper_are_not_logged_in() -> None:
    hub = Hub()
    hub.connect(1)
    assert error_code(hub.handle(1, Lookup("bob"), NOW)) == "not_logged_in"
    assert error_code(hub.handle(1, E2EWhisper("bob", bytes(24), bytes(16)), NOW)) \
        == "not_logged_in"


FORGED_LOGINS = [
    # Alice's bundle under another name: the name is signed too.
    (dataclasses.replace(ALICE.login("alice"), name="bob"), "bad_signature"),
    # Another key under Alice's signature.
    (dataclasses.replace(ALICE.login("alice"), e2e_key=BOB.public), "bad_signature"),
    # A low-order key, even signed: its shared secret is known to everyone.
    (Login("alice", *dataclasses.astuple(sign_bundle(ALICE.identity, bytes(32), "alice"))),
     "bad_key"),
]


@pytest.mark.parametrize(("login", "code"), FORGED_LOGINS)
def test_a_bad_bundle_is_refused_with_its_code_and_closed(login: Login, code: str) -> None:
    hub = hub_with(("carol", None))
    hub.connect(2)
    (close,) = sent(hub.handle(2, login, NOW))
    assert isinstance(close, Close) and close.conn_id == 2
    assert close.error is not None and close.error.code == code
    assert list(hub.members()) == [1]
    assert not sent(hub.handle(2, Who(), NOW))  # closed: nothing more is handled


def test_a_client_may_not_send_the_servers_e2e_types() -> None:
    b = BOB.bundle("bob")
    for msg in (UserKey("bob", b.key, b.identity, b.signature),
                E2EMessage("bob", "alice", 1, b.key, b.identity, b.signature, bytes(24),
                           bytes(16))):
        hub = hub_with(("alice", ALICE))
        (*_, close) = sent(hub.handle(1, msg, NOW))
        assert isinstance(close, Close) and close.error is not None
        assert close.error.code == "unexpected_message"
        assert not hub.is_member(1)


def test_a_bundle_is_forgotten_when_its_user_leaves() -> None:
    hub = hub_with(("alice", ALICE), ("bob", BOB))
    hub.disconnect(2, "quit")
    hub.connect(3)
    hub.handle(3, Login("bob"), NOW)  # an old client now has the name
    assert error_code(hub.handle(1, Lookup("bob"), NOW)) == "no_e2e_key"


# -- real servers ----------------------------------------------------------------------------


def e2e_login(client, name: str, e2e: E2EKeys) -> Welcome:
    client.send(e2e.login(name))
    return client.expect(Welcome)


def test_an_e2e_whisper_between_real_clients_opens_only_at_the_ends(make_server, connect):
    server = make_server()
    alice, bob = connect(server), connect(server)
    e2e_login(alice, "alice", ALICE)
    e2e_login(bob, "Bob", BOB)
    carol = connect(server, "carol")  # an old client: no bundle
    alice.send(Lookup("bob"))
    peer = accept_user_key(alice.expect(UserKey), None, HOST, PORT)
    assert peer.name == "Bob" and peer.key == BOB.public
    whisper = seal_whisper(ALICE.secret, peer.key, "alice", peer.name, "meet at noon")
    alice.send(whisper)
    for client, e2e, recipient in ((bob, BOB, None), (alice, ALICE, peer)):
        msg = client.expect(E2EMessage, sender="alice", to="Bob")
        assert (msg.nonce, msg.box) == (whisper.nonce, whisper.box)  # relayed as sealed
        opened = open_e2e_message(msg, e2e, pins=None, host=HOST, port=PORT,
                                  recipient=recipient)
        assert opened.text == "meet at noon"
    # The old client got none of it (its next message is the answer to who, in order),
    # and old-style whispers still work both ways.
    carol.send(Who())
    assert carol.expect(Users).names == ("alice", "Bob", "carol")
    carol.send(Whisper("alice", "plain old whisper"))
    assert carol.expect(Message, sender="carol", to="alice").text == "plain old whisper"
    assert alice.expect(Message, sender="carol", to="alice").text == "plain old whisper"
    alice.send(Whisper("carol", "back at you"))
    assert carol.expect(Message, sender="alice", to="carol").text == "back at you"


def test_refusals_keep_the_connection_on_a_real_server(make_server, connect):
    server = make_server()
    alice = connect(server)
    e2e_login(alice, "alice", ALICE)
    connect(server, "carol")
    for msg, code in ((Lookup("carol"), "no_e2e_key"), (Lookup("dave"), "no_such_user"),
                      (E2EWhisper("carol", bytes(24), bytes(16)), "no_e2e_key"),
                      (E2EWhisper("a b", bytes(24), bytes(16)), "bad_name")):
        alice.send(msg)
        assert alice.expect(Error).code == code
    alice.send(Who())
    assert alice.expect(Users).names == ("alice", "carol")


@pytest.mark.parametrize(("login", "code"), FORGED_LOGINS)
def test_a_bad_bundle_closes_the_connection_and_nobody_sees_a_join(make_server, connect,
                                                                    login, code):
    server = make_server()
    carol = connect(server, "carol")
    mallory = connect(server)
    mallory.send(login)
    assert mallory.expect(Error).code == code
    with pytest.raises(Closed):
        mallory.recv()
    carol.send(Who())
    assert carol.expect(Users).names == ("carol",)
    assert not [m for m in carol.inbox if isinstance(m, Joined)]

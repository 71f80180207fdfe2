"""End-to-end whispers in ChatClient: against the real server, and against a scripted
malicious one that reflects a whisper back to its author."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from socketlab.client import ChatClient
from socketlab.client.chat_client import Event
from socketlab.client.commands import (
    Fingerprint,
    Usage,
    describe_fingerprint,
    format_event,
    parse_command,
)
from socketlab.client.events import (
    E2E_CHANGED,
    E2E_NEW,
    E2E_VERIFIED,
    TRANSPORT,
    PeerIdentityChanged,
    Whispered,
    WhisperRefused,
)
from socketlab.protocol import (
    AnyMessage,
    E2EKeys,
    E2EMessage,
    E2EWhisper,
    Left,
    Login,
    Lookup,
    Message,
    ServerConnection,
    UserKey,
    Welcome,
    read_e2e_keylog,
    seal_whisper,
)
from tests.client.conftest import TIMEOUT


def whispered(text: str) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, Whispered) and e.text == text


def drained(client: ChatClient) -> list[Event]:
    """What is on ``client.events`` now (call after a marker event proved delivery)."""
    return list(client.events.queue)


@pytest.fixture
def e2e_client(make_client, tmp_path: Path) -> Callable[..., ChatClient]:
    """A logged-in ChatClient with end-to-end whispers and its own home (identity, pins)."""

    def make(name: str, home: str | None = None, **kwargs: object) -> ChatClient:
        return make_client(name, e2e=True, home=tmp_path / (home or name), **kwargs)  # type: ignore[no-any-return]

    return make


def test_a_whisper_is_sealed_for_the_recipient_marked_and_its_keys_are_pinned(
    e2e_client, make_client, wait, tmp_path: Path
) -> None:
    alice, bob = e2e_client("alice"), e2e_client("bob")
    carol = make_client("carol")
    alice.whisper("bob", "first contact")
    got = wait(bob, whispered("first contact"))
    assert (got.sender, got.to, got.security) == ("alice", "bob", E2E_NEW)
    assert got.fingerprint == alice.user_fingerprint  # what bob compares with alice
    copy = wait(alice, whispered("first contact"))
    assert (copy.security, copy.fingerprint) == (E2E_NEW, bob.user_fingerprint)
    alice.whisper("bob", "second")
    assert wait(bob, whispered("second")).security == E2E_VERIFIED
    assert wait(alice, whispered("second")).security == E2E_VERIFIED
    bob.whisper("alice", "a reply needs no lookup")
    assert wait(alice, whispered("a reply needs no lookup")).security == E2E_VERIFIED
    # Each side pinned the other under this server's address.
    where = f"{alice.host}:{alice.port}"
    for me, other in ((alice, bob), (bob, alice)):
        pins = (tmp_path / str(me.name) / "known_users").read_text().split()
        assert pins == [where, str(other.name), bytes(other.e2e.identity.verify_key).hex()]  # type: ignore[union-attr]
    assert alice.peer_fingerprint("BOB") == bob.user_fingerprint
    # carol saw neither whisper: her own say comes after both were delivered.
    carol.say("marker")
    wait(carol, lambda e: isinstance(e, Message) and e.text == "marker")
    assert not [e for e in drained(carol) if isinstance(e, (Message, Whispered, E2EMessage))]


def test_an_old_client_gets_a_plain_whisper_marked_transport_only(
    e2e_client, make_client, wait
) -> None:
    alice = e2e_client("alice")
    old = make_client("olly")  # e2e off: its login carries no key, as an old client's
    alice.whisper("olly", "can the server read this?")
    plain = wait(old, lambda e: isinstance(e, Message) and e.to is not None)
    assert (plain.sender, plain.to, plain.text) == ("alice", "olly", "can the server read this?")
    copy = wait(alice, whispered("can the server read this?"))
    assert (copy.security, copy.fingerprint, copy.end_to_end) == (TRANSPORT, None, False)
    assert "transport-encrypted only: the server can read it" in format_event(copy, "alice")
    old.whisper("alice", "yes it can")
    answer = wait(alice, whispered("yes it can"))
    assert (answer.sender, answer.security) == ("olly", TRANSPORT)
    assert format_event(answer, "alice") == (
        "[whisper from olly · transport-encrypted only: the server can read it] yes it can"
    )


def test_errors_answer_the_lookup_they_belong_to(e2e_client, make_client, wait) -> None:
    alice = e2e_client("alice")
    bob, old = e2e_client("bob"), make_client("olly")
    # Three lookups in flight at once: each answer goes with its own request.
    alice.whisper("nobody", "lost")
    alice.whisper("olly", "to the old client")
    alice.whisper("bob", "to bob")
    assert wait(old, lambda e: isinstance(e, Message)).text == "to the old client"
    assert wait(bob, whispered("to bob")).security == E2E_NEW
    # alice's answers come in the order she asked: the error, then her two copies.
    assert wait(alice, lambda e: getattr(e, "code", None) == "no_such_user")
    assert wait(alice, whispered("to the old client")).security == TRANSPORT
    assert wait(alice, whispered("to bob")).security == E2E_NEW


def test_a_changed_identity_is_reported_with_both_fingerprints_and_nothing_is_sent_to_it(
    e2e_client, wait
) -> None:
    alice, bob = e2e_client("alice"), e2e_client("bob", home="bob-laptop")
    bob.whisper("alice", "hello from my laptop")
    assert wait(alice, whispered("hello from my laptop")).security == E2E_NEW
    pinned = bob.user_fingerprint
    bob.close()
    wait(alice, lambda e: isinstance(e, Left))
    # Someone logs in as bob with another identity (a new computer, or an impostor).
    impostor = e2e_client("bob", home="elsewhere")
    impostor.whisper("alice", "it is me, bob")
    warning = wait(alice, lambda e: isinstance(e, PeerIdentityChanged))
    assert (warning.name, warning.pinned, warning.offered) == (
        "bob",
        pinned,
        impostor.user_fingerprint,
    )
    shown = wait(alice, whispered("it is me, bob"))
    assert (shown.security, shown.fingerprint, shown.pinned) == (
        E2E_CHANGED,
        impostor.user_fingerprint,
        pinned,
    )
    assert "IDENTITY CHANGED, NOT verified" in format_event(shown, "alice")
    # alice's whisper to this bob is not sealed for a key she cannot vouch for.
    alice.whisper("bob", "the exam answers")
    refused = wait(alice, lambda e: isinstance(e, WhisperRefused))
    assert (refused.peer, refused.code, refused.outgoing) == ("bob", "identity_changed", True)
    impostor.say("marker")
    wait(impostor, lambda e: isinstance(e, Message) and e.text == "marker")
    assert not [e for e in drained(impostor) if getattr(e, "text", None) == "the exam answers"]


def test_the_key_log_gets_the_e2e_key_pair(make_client, tmp_path: Path) -> None:
    keylog = tmp_path / "alice.keys"
    alice = make_client("alice", e2e=True, home=tmp_path / "alice", keylog=keylog)
    assert alice.e2e is not None
    assert read_e2e_keylog(keylog) == {alice.e2e.public: alice.e2e.secret_bytes}
    identity = tmp_path / "alice" / "user_identities"  # alice's key, and any other name's
    assert identity.exists()
    if os.name == "posix":  # only the owner may read it (Windows has no such modes)
        assert identity.stat().st_mode & 0o077 == 0


# -- a malicious server: it reflects alice's whisper for bob back to her as bob's ------


@pytest.fixture
def reflecting_server() -> Iterator[tuple[str, int]]:
    """A one-connection server that speaks the protocol but cheats: alice's e2e_whisper
    to bob comes back to her as an e2e_message FROM bob (bob's real bundle, alice's own
    box); a genuine whisper from bob follows it. Yields the server's address."""
    bob = E2EKeys(SigningKey.generate())
    bundle = bob.bundle("bob")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    alice: list[Login] = []  # her login, once it came

    def from_bob(to: str, ts: int, nonce: bytes, box: bytes) -> E2EMessage:
        return E2EMessage("bob", to, ts, bundle.key, bundle.identity, bundle.signature, nonce, box)

    def replies(msg: AnyMessage) -> list[AnyMessage]:
        if isinstance(msg, Login):
            alice.append(msg)
            return [Welcome(msg.name, (msg.name, "bob"))]
        if isinstance(msg, Lookup):
            return [UserKey("bob", bundle.key, bundle.identity, bundle.signature)]
        if isinstance(msg, E2EWhisper):
            name, key = alice[0].name, alice[0].e2e_key
            assert key is not None
            genuine = seal_whisper(bob.secret, key, "bob", name, "genuine")
            return [
                from_bob(name, 1, msg.nonce, msg.box),  # her own box, said to be bob's
                from_bob(name, 2, genuine.nonce, genuine.box),
            ]
        return []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(TIMEOUT)
            server = ServerConnection(SigningKey.generate())
            while data := conn.recv(65536):
                for msg in server.receive_data(data):
                    answers = [server.send(reply) for reply in replies(msg)]
                    conn.sendall(server.data_to_send() + b"".join(answers))

    thread = threading.Thread(target=serve, name="reflecting-server", daemon=True)
    thread.start()
    yield listener.getsockname()[:2]
    listener.close()
    thread.join(TIMEOUT)


def test_a_reflected_whisper_is_refused_and_its_text_never_shown(
    reflecting_server, wait, tmp_path: Path
) -> None:
    address = reflecting_server
    with ChatClient(*address, e2e=True, home=tmp_path / "alice", timeout=TIMEOUT) as alice:
        alice.connect()
        alice.login("alice")
        alice.whisper("bob", "my secret for bob")
        refused = wait(alice, lambda e: isinstance(e, WhisperRefused))
        assert (refused.peer, refused.code, refused.outgoing) == ("bob", "e2e_misrouted", False)
        assert format_event(refused, "alice").startswith("! refused a whisper from bob")
        genuine = wait(alice, whispered("genuine"))
        # bob's identity was pinned when alice looked his key up.
        assert (genuine.sender, genuine.security) == ("bob", E2E_VERIFIED)
        seen = [refused, genuine, *drained(alice)]
        assert not [e for e in seen if "my secret for bob" in format_event(e, "alice")]


# -- how the front ends word it ---------------------------------------------------------


@pytest.mark.parametrize(
    ("security", "incoming", "outgoing"),
    [
        (E2E_VERIFIED, "[end-to-end from bob] hi", "[end-to-end to bob] hi"),
        (
            E2E_NEW,
            "[end-to-end from bob · new contact, key pinned now] hi",
            "[end-to-end to bob · new contact, key pinned now] hi",
        ),
        (
            E2E_CHANGED,
            "[from bob · IDENTITY CHANGED, NOT verified] hi",
            "[to bob · IDENTITY CHANGED, NOT verified] hi",
        ),
        (
            TRANSPORT,
            "[whisper from bob · transport-encrypted only: the server can read it] hi",
            "[whisper to bob · transport-encrypted only: the server can read it] hi",
        ),
    ],
)
def test_each_kind_of_whisper_is_marked(security: str, incoming: str, outgoing: str) -> None:
    assert format_event(Whispered("bob", "alice", "hi", 1, security), "alice") == incoming  # type: ignore[arg-type]
    assert format_event(Whispered("alice", "bob", "hi", 1, security), "ALICE") == outgoing  # type: ignore[arg-type]


def test_fingerprint_command() -> None:
    assert parse_command("/fingerprint") == Fingerprint()
    assert parse_command("/fp bob") == Fingerprint("bob")
    assert parse_command("/fingerprint a b") == Usage("usage: /fingerprint [NAME]")
    own = "SHA256:0000 1111 2222 3333 4444 5555 6666 7777"
    assert own in describe_fingerprint(Fingerprint(), own, None)
    assert "off" in describe_fingerprint(Fingerprint(), None, None)
    assert describe_fingerprint(Fingerprint("bob"), own, None).startswith(
        "* no end-to-end key of bob checked yet"
    )
    assert describe_fingerprint(Fingerprint("bob"), None, own) == f"* bob's end-to-end key: {own}"

"""Known-answer vectors: fixed keys in, the exact bytes of a session out.

``docs/protocol.md`` carries these vectors; the tests recompute them and
byte-compare, so the document and the code cannot drift apart. Regenerate
the document's section with ``python -m socketlab.protocol.vectors``.
"""

from __future__ import annotations

from dataclasses import dataclass

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from .connection import ClientConnection, ServerConnection
from .e2e import E2EKeys, inner_body, seal_whisper
from .errors import ProtocolError
from .framing import encode_frame
from .keylog import e2e_keylog_line, keylog_line
from .messages import (
    AnyMessage,
    Bye,
    E2EMessage,
    Error,
    Hello,
    Joined,
    Left,
    Login,
    Lookup,
    Message,
    Ping,
    Pong,
    Say,
    UserKey,
    Users,
    Welcome,
    Whisper,
    Who,
    encode_message,
)
from .pins import fingerprint
from .secure import batch_bodies, parse_sealed

CLIENT_EPHEMERAL = bytes(range(1, 33))
SERVER_EPHEMERAL = bytes(range(101, 133))
SERVER_IDENTITY = bytes(range(201, 233))
TS = 1_764_000_000_000
NON_ASCII = "héllo, 世界 👋"  # 2-, 3- and 4-byte UTF-8
# End-to-end whispers (docs/protocol.md section 11): each user's identity seed and e2e
# secret, and the box's nonce.
ALICE_IDENTITY = bytes(range(33, 65))
ALICE_E2E = bytes(range(65, 97))
BOB_IDENTITY = bytes(range(133, 165))
BOB_E2E = bytes(range(165, 197))
E2E_NONCE = bytes(range(24))
E2E_TEXT = "psst, end to end"


@dataclass(frozen=True)
class Vector:
    name: str
    direction: str  # "c2s" or "s2c"
    bodies: tuple[bytes, ...]  # the JSON bodies before sealing (more than one: a batch)
    frame: bytes  # exactly what crosses the wire
    counter: int | None = None  # sealed frames: the nonce's counter
    plaintext: bytes = b""  # sealed frames: what is encrypted (the inner frames)


@dataclass(frozen=True)
class Derived:
    """Values a student computes from the fixed keys before any frame is sealed."""

    identity_key: bytes  # the Ed25519 public key, in server_hello's "identity"
    fingerprint: str
    session_key: bytes
    keylog_line: str  # without its newline


def _sealed(name: str, direction: str, bodies: tuple[bytes, ...], frame: bytes) -> Vector:
    (plaintext,) = batch_bodies(list(bodies), len(frame))
    counter = parse_sealed(frame[4:]).counter
    return Vector(name, direction, bodies, frame, counter, plaintext)


def _box_session() -> tuple[ClientConnection, ServerConnection]:
    client = ClientConnection("box", ephemeral=PrivateKey(CLIENT_EPHEMERAL))
    server = ServerConnection(
        SigningKey(SERVER_IDENTITY), ephemeral=PrivateKey(SERVER_EPHEMERAL)
    )
    return client, server


def derived_values() -> Derived:
    """The identity's fingerprint, the session key and its key-log line."""
    client, server = _box_session()
    server.receive_data(client.hello())
    client.receive_data(server.data_to_send())
    assert client.session_key is not None and client.client_key is not None
    identity = bytes(SigningKey(SERVER_IDENTITY).verify_key)
    return Derived(
        identity,
        fingerprint(identity),
        client.session_key,
        keylog_line(client.client_key, client.session_key).rstrip("\n"),
    )


def known_answer_vectors() -> list[Vector]:
    """A handshake and one sealed frame of every message type, from fixed keys; then
    non-ASCII text, a plain-mode session, an error during the handshake, and the
    end-to-end whispers' messages (sealed on the first session)."""
    client, server = _box_session()
    hello = client.hello()
    (client_hello,) = server.receive_data(hello)
    server_hello_frame = server.data_to_send()
    (server_hello,) = client.receive_data(server_hello_frame)
    vectors = [
        Vector("hello", "c2s", (encode_message(client_hello),), hello),
        Vector("server_hello", "s2c", (encode_message(server_hello),), server_hello_frame),
    ]
    script: list[tuple[str, AnyMessage]] = [
        ("c2s", Login("alice")),
        ("s2c", Welcome("alice", ("alice", "bob"))),
        ("c2s", Say("hello, class")),
        ("c2s", Whisper("bob", "psst")),
        ("s2c", Message("alice", "hello, class", TS)),
        ("s2c", Message("alice", "psst", TS + 1, to="bob")),
        ("c2s", Who()),
        ("s2c", Users(("alice", "bob"))),
        ("s2c", Joined("carol")),
        ("s2c", Left("carol", "quit")),
        ("s2c", Error("no_such_user", "nobody called dave is here")),
        ("s2c", Ping()),
        ("c2s", Pong()),
        ("c2s", Bye()),
    ]
    for direction, msg in script:
        vectors.append(_exchange(client, server, direction, msg, msg.TYPE))
    # A batch: two messages sealed in one frame, as a busy server sends them.
    batch = (Message("bob", "see you", TS + 2), Left("bob", "quit"))
    bodies = tuple(encode_message(m) for m in batch)
    frame = server.send_bodies(list(bodies))
    if client.receive_data(frame) != list(batch):
        raise AssertionError("the batch vector does not round-trip")
    vectors.append(_sealed("batch", "s2c", bodies, frame))
    # Non-ASCII text, on the same session (so the counters go on; a real client
    # would send nothing after bye: these frames only test a codec).
    vectors.append(_exchange(client, server, "c2s", Say(NON_ASCII), "say_non_ascii"))
    vectors.append(
        _exchange(client, server, "s2c", Message("émile", NON_ASCII, TS + 3), "message_non_ascii")
    )
    vectors += _plain_session()
    vectors.append(_handshake_error())
    # End-to-end whispers, sealed on the box session above (its counters go on).
    alice, bob = _e2e_users()
    a, b = alice.bundle("alice"), bob.bundle("bob")
    whisper = seal_whisper(alice.secret, bob.public, "alice", "bob", E2E_TEXT, nonce=E2E_NONCE)
    e2e_script: list[tuple[str, AnyMessage, str]] = [
        ("c2s", alice.login("alice"), "login_e2e"),
        ("c2s", Lookup("bob"), "lookup"),
        ("s2c", UserKey("bob", b.key, b.identity, b.signature), "user_key"),
        ("c2s", whisper, "e2e_whisper"),
        ("s2c", E2EMessage("alice", "bob", TS + 4, a.key, a.identity, a.signature,
                           whisper.nonce, whisper.box), "e2e_message"),
        ("s2c", Error("no_e2e_key", "carol's client has no e2e key"), "error_no_e2e_key"),
    ]
    for direction, msg, name in e2e_script:
        vectors.append(_exchange(client, server, direction, msg, name))
    return vectors


def _e2e_users() -> tuple[E2EKeys, E2EKeys]:
    return (E2EKeys(SigningKey(ALICE_IDENTITY), PrivateKey(ALICE_E2E)),
            E2EKeys(SigningKey(BOB_IDENTITY), PrivateKey(BOB_E2E)))


@dataclass(frozen=True)
class E2EDerived:
    """What follows from the e2e fixed keys: bundles, the inner JSON, its box."""

    alice_identity: bytes
    alice_fingerprint: str
    alice_key: bytes
    alice_signature: bytes  # over E2E_CONTEXT + alice_key + b"alice"
    bob_identity: bytes
    bob_fingerprint: str
    bob_key: bytes
    bob_signature: bytes
    inner: bytes
    box: bytes
    keylog_line: str  # Alice's client's SOCKETLAB_E2E line, without its newline


def e2e_derived_values() -> E2EDerived:
    alice, bob = _e2e_users()
    a, b = alice.bundle("alice"), bob.bundle("bob")
    whisper = seal_whisper(alice.secret, bob.public, "alice", "bob", E2E_TEXT, nonce=E2E_NONCE)
    return E2EDerived(
        a.identity, fingerprint(a.identity), a.key, a.signature,
        b.identity, fingerprint(b.identity), b.key, b.signature,
        inner_body("alice", "bob", E2E_TEXT), whisper.box,
        e2e_keylog_line(alice.public, alice.secret_bytes).rstrip("\n"),
    )


def _exchange(
    client: ClientConnection, server: ServerConnection, direction: str, msg: AnyMessage, name: str
) -> Vector:
    sender, receiver = (client, server) if direction == "c2s" else (server, client)
    frame = sender.send(msg)
    if receiver.receive_data(frame) != [msg]:
        raise AssertionError(f"vector {name} does not round-trip")
    return _sealed(name, direction, (encode_message(msg),), frame)


def _plain_session() -> list[Vector]:
    """The plain-mode handshake and one frame each way: no keys, every byte readable."""
    client = ClientConnection("plain")
    server = ServerConnection(SigningKey(SERVER_IDENTITY), allow_plaintext=True)
    hello = client.hello()
    (client_hello,) = server.receive_data(hello)
    reply = server.data_to_send()
    (server_hello,) = client.receive_data(reply)
    vectors = [
        Vector("plain_hello", "c2s", (encode_message(client_hello),), hello),
        Vector("plain_server_hello", "s2c", (encode_message(server_hello),), reply),
    ]
    for sender, receiver, direction, msg in (
        (client, server, "c2s", Login("alice")),
        (server, client, "s2c", Welcome("alice", ("alice",))),
    ):
        frame = sender.send(msg)
        if receiver.receive_data(frame) != [msg]:
            raise AssertionError("a plain vector does not round-trip")
        vectors.append(Vector(f"plain_{msg.TYPE}", direction, (encode_message(msg),), frame))
    return vectors


def _handshake_error() -> Vector:
    """A box-only server's answer to a plain hello: an error frame in plaintext, then close."""
    server = ServerConnection(SigningKey(SERVER_IDENTITY))
    try:
        server.receive_data(encode_frame(encode_message(Hello("plain"))))
    except ProtocolError as exc:
        body = encode_message(Error(exc.code, exc.message))
        return Vector("handshake_error", "s2c", (body,), encode_frame(body))
    raise AssertionError("a box-only server accepted a plain hello")


def _hex_lines(data: bytes) -> str:
    text = data.hex()
    return "\n".join(text[i : i + 64] for i in range(0, len(text), 64)) + "\n"


def render_derived(derived: Derived) -> str:
    """The derived values as the fenced block ``docs/protocol.md`` holds."""
    return (
        '```text title="derived from the fixed keys"\n'
        f"identity: {derived.identity_key.hex()}\n"
        f"fingerprint: {derived.fingerprint}\n"
        f"session key: {derived.session_key.hex()}\n"
        f"key log: {derived.keylog_line}\n"
        "```\n"
    )


def render_e2e_derived(derived: E2EDerived) -> str:
    """The e2e derived values as the fenced block ``docs/protocol.md`` holds."""
    return (
        '```text title="derived for end-to-end whispers"\n'
        f"alice identity: {derived.alice_identity.hex()}\n"
        f"alice fingerprint: {derived.alice_fingerprint}\n"
        f"alice e2e key: {derived.alice_key.hex()}\n"
        f"alice signature: {derived.alice_signature.hex()}\n"
        f"bob identity: {derived.bob_identity.hex()}\n"
        f"bob fingerprint: {derived.bob_fingerprint}\n"
        f"bob e2e key: {derived.bob_key.hex()}\n"
        f"bob signature: {derived.bob_signature.hex()}\n"
        f"inner: {derived.inner.decode('utf-8')}\n"
        f"box: {derived.box.hex()}\n"
        f"key log: {derived.keylog_line}\n"
        "```\n"
    )


def render_markdown(vectors: list[Vector]) -> str:
    """The vectors as the fenced blocks ``docs/protocol.md`` holds."""
    blocks = []
    for vector in vectors:
        head = f'```text title="vector: {vector.name}"\ndirection: {vector.direction}\n'
        if vector.counter is not None:
            head += f"counter: {vector.counter}\n"
        bodies = "".join(f"body: {body.decode('utf-8')}\n" for body in vector.bodies)
        inner = f"plaintext:\n{_hex_lines(vector.plaintext)}" if vector.counter is not None else ""
        blocks.append(head + bodies + inner + "frame:\n" + _hex_lines(vector.frame) + "```\n")
    return "\n".join(blocks)


if __name__ == "__main__":
    print(render_derived(derived_values()))
    print(render_e2e_derived(e2e_derived_values()))
    print(render_markdown(known_answer_vectors()), end="")

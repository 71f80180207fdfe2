"""Known-answer vectors: fixed keys in, the exact bytes of a session out.

``docs/protocol.md`` carries these vectors; the tests recompute them and
byte-compare, so the document and the code cannot drift apart. Regenerate
the document's section with ``python -m protocol.vectors``.
"""

from __future__ import annotations

from dataclasses import dataclass

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from .connection import ClientConnection, ServerConnection
from .messages import (
    AnyMessage,
    Bye,
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
    encode_message,
)

CLIENT_EPHEMERAL = bytes(range(1, 33))
SERVER_EPHEMERAL = bytes(range(101, 133))
SERVER_IDENTITY = bytes(range(201, 233))
TS = 1_764_000_000_000


@dataclass(frozen=True)
class Vector:
    name: str
    direction: str  # "c2s" or "s2c"
    bodies: tuple[bytes, ...]  # the JSON bodies before sealing (more than one: a batch)
    frame: bytes  # exactly what crosses the wire


def known_answer_vectors() -> list[Vector]:
    """A handshake and one sealed frame of every message type, from fixed keys."""
    client = ClientConnection("box", ephemeral=PrivateKey(CLIENT_EPHEMERAL))
    server = ServerConnection(
        SigningKey(SERVER_IDENTITY), ephemeral=PrivateKey(SERVER_EPHEMERAL)
    )
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
        sender, receiver = (client, server) if direction == "c2s" else (server, client)
        frame = sender.send(msg)
        if receiver.receive_data(frame) != [msg]:
            raise AssertionError(f"vector {msg.TYPE} does not round-trip")
        vectors.append(Vector(msg.TYPE, direction, (encode_message(msg),), frame))
    # A batch: two messages sealed in one frame, as a busy server sends them.
    batch = (Message("bob", "see you", TS + 2), Left("bob", "quit"))
    bodies = tuple(encode_message(m) for m in batch)
    frame = server.send_bodies(list(bodies))
    if client.receive_data(frame) != list(batch):
        raise AssertionError("the batch vector does not round-trip")
    vectors.append(Vector("batch", "s2c", bodies, frame))
    return vectors


def render_markdown(vectors: list[Vector]) -> str:
    """The vectors as the fenced blocks ``docs/protocol.md`` holds."""
    blocks = []
    for vector in vectors:
        hex_frame = vector.frame.hex()
        lines = [hex_frame[i : i + 64] for i in range(0, len(hex_frame), 64)]
        blocks.append(
            f'```text title="vector: {vector.name}"\n'
            f"direction: {vector.direction}\n"
            + "".join(f"body: {body.decode('utf-8')}\n" for body in vector.bodies) +
            "frame:\n" + "\n".join(lines) + "\n```\n"
        )
    return "\n".join(blocks)


if __name__ == "__main__":
    print(render_markdown(known_answer_vectors()), end="")

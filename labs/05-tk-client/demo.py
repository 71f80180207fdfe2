"""What ``socketlab lab sniff 05`` runs: the kit's server and two scripted users.

Lab 05 puts nothing new on the wire: the window speaks lab 04's protocol. So
the demo is a short session through your chat_protocol.py (the layer under
the window), headless, against the kit's server in plain mode.
"""

from collections.abc import Callable
from pathlib import Path

from socketlab.labs import harness
from socketlab.server import ChatServer

AS = "socketlab"  # plain-mode socketlab messages: show them decoded


def start(target: Path) -> tuple[tuple[str, int], Callable[[], None]]:
    """The kit's server, allowing plain sessions (lab 05 has no server of its own)."""
    server = ChatServer("127.0.0.1", 0, allow_plaintext=True)
    server.start()
    return server.address, server.stop


def run_clients(target: Path, address: tuple[str, int]) -> None:
    """alice and bob log in, talk, whisper, ask who is here, and say bye."""
    protocol = harness.load("chat_protocol.py")
    alice = protocol.connect(*address, "alice", timeout=3)
    bob = protocol.connect(*address, "bob", timeout=3)
    for user in (alice, bob):
        user.sock.settimeout(3)  # a demo never waits for ever
    _until(alice, "joined")
    alice.send({"type": "say", "text": "hello bob"})
    _until(bob, "message")
    bob.send({"type": "whisper", "to": "alice", "text": "psst, only you can read this"})
    _until(alice, "message", text="psst, only you can read this")
    alice.send({"type": "who"})
    _until(alice, "users")
    for user in (bob, alice):
        user.send({"type": "bye"})
        user.close()


def _until(connection: object, kind: str, **fields: str) -> dict:
    """Read ``connection``'s messages until one of type ``kind`` (with ``fields``) comes."""
    for _ in range(20):
        message = connection.receive()  # type: ignore[attr-defined]
        if message is None:
            break
        if message["type"] == kind and all(message.get(k) == v for k, v in fields.items()):
            return message
    raise RuntimeError(f"the demo expected a {kind!r} message that never came")

"""What ``socketlab lab sniff 10`` runs: an end-to-end whisper, as the server sees it.

Your server writes ITS key log ($SOCKETLAB_KEYLOG, set by the runner), and the
inspector decrypts every frame with it. alice whispers to bob end to end, and
once in plain for contrast: the plain whisper shows as text, the e2e one only
as ciphertext, although the transport around it is open. bob's own client
reads it. With $SOCKETLAB_RECIPIENT_KEYLOG set, bob's client key log (his
session key and his SOCKETLAB_E2E line) is written there: the recipient's view.
"""

import os
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nacl.signing import SigningKey

from socketlab.labs import harness

AS = "socketlab"  # box sessions: the server's key log decrypts the transport

SECRET = "the treasure is under the old oak"


def start(target: Path) -> tuple[tuple[str, int], Callable[[], None]]:
    """The student's ``serve()`` with a fresh identity on a listener of our own."""
    module = harness.load("chat_server.py")
    listener = socket.create_server(("127.0.0.1", 0))
    harness.run_in_thread(module.serve, listener, SigningKey.generate(), name="chat-server")
    return listener.getsockname(), listener.close


def run_clients(target: Path, address: tuple[str, int]) -> None:
    """alice, bob and carol; alice says hello, whispers to bob end to end, and to carol in
    plain; bob answers end to end; everyone leaves."""
    client = harness.load("chat_client.py")
    host, port = address
    with tempfile.TemporaryDirectory(prefix="socketlab-lab10-") as folder:
        def session(name: str, keylog: str | None = None):  # each user has a home of their own
            return client.ChatSession.connect(host, port, name, home=Path(folder) / name,
                                              keylog=keylog)

        alice = session("alice")
        bob = session("bob", os.environ.get("SOCKETLAB_RECIPIENT_KEYLOG"))
        carol = session("carol")
        steps = [lambda: alice.say("hello, class"),
                 lambda: alice.whisper("bob", SECRET),
                 lambda: alice.plain_whisper("carol", "this one the server can read"),
                 lambda: bob.whisper("alice", "thanks, on my way")]
        for step in steps:
            step()
            time.sleep(0.05)  # apart, so each exchange shows on its own
        for name, user in (("bob", bob), ("carol", carol), ("alice", alice)):
            for _ in range(10):
                msg = user.receive(0.5)
                if msg is None:
                    break
                if msg.get("type") in ("e2e_message", "e2e_refused", "message"):
                    print(f"{name}'s client shows: {client.show(msg)}")
        for user in (carol, bob, alice):
            user.close()

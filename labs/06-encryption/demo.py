"""What ``socketlab lab sniff 06`` runs: the encrypted chat server and two of your own clients."""

import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from socketlab.labs import harness

AS = "socketlab"  # socketlab messages: the handshake in plaintext, then sealed frames


def start(target: Path) -> tuple[tuple[str, int], Callable[[], None]]:
    """The student's ``serve()`` on a listener of our own, its identity in a folder of our own
    (never in the lab's folder); stopping closes the listener and removes that folder.
    The runner has set $SOCKETLAB_KEYLOG: the server writes each session's key there."""
    module = harness.load("chat_server.py")
    keys = Path(tempfile.mkdtemp(prefix="socketlab-lab06-"))
    module.IDENTITY_FILE = keys / "server_identity.key"
    listener = socket.create_server(("127.0.0.1", 0))
    harness.run_in_thread(module.serve, listener, name="chat-server")

    def stop() -> None:
        listener.close()
        shutil.rmtree(keys, ignore_errors=True)

    return listener.getsockname(), stop


def run_clients(target: Path, address: tuple[str, int]) -> None:
    """alice and bob log in with chat_client.py's ChatSession; alice says the same thing
    twice (two different ciphertexts), bob whispers, alice asks who; both leave."""
    client = harness.load("chat_client.py")
    sessions = []
    try:
        alice = client.ChatSession.connect(*address, "alice", timeout=3)
        sessions.append(alice)
        bob = client.ChatSession.connect(*address, "bob", timeout=3)
        sessions.append(bob)
        for step in (lambda: alice.say("meet me at noon"), lambda: alice.say("meet me at noon"),
                     lambda: bob.whisper("alice", "psst"),
                     lambda: alice.send({"type": "who"})):
            step()
            time.sleep(0.05)  # apart, so each exchange shows on its own
        for session in sessions:  # read what came, so each closes cleanly (no reset)
            while session.receive(0.2) is not None:
                pass
    finally:
        for session in reversed(sessions):
            session.close()

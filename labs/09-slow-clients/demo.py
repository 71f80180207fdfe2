"""What ``socketlab lab sniff 09`` runs: your server with its writer threads, and a short chat.

The bytes look as in lab 08 (a signed hello, then sealed frames): a queue and
a writer thread change *when* a frame leaves, not what it holds. What this
lab changes shows under load: ``socketlab lab load 09`` charts it.
"""

import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nacl.signing import SigningKey

from socketlab.labs import harness

AS = "socketlab"  # box sessions: the key log (your server writes it) decrypts them


def start(target: Path) -> tuple[tuple[str, int], Callable[[], None]]:
    """The student's ``serve()`` with a fresh identity on a listener of our own."""
    module = harness.load("chat_server.py")
    listener = socket.create_server(("127.0.0.1", 0))
    harness.run_in_thread(module.serve, listener, SigningKey.generate(), name="chat-server")
    return listener.getsockname(), listener.close


def run_clients(target: Path, address: tuple[str, int]) -> None:
    """alice, bob and carol log in (your chat_client.py); a say, a whisper, a who; all leave."""
    client = harness.load("chat_client.py")
    host, port = address
    with tempfile.TemporaryDirectory(prefix="socketlab-lab09-") as home:
        people = []
        try:
            for name in ("alice", "bob", "carol"):  # one by one: the finally closes those in
                people.append(  # noqa: PERF401
                    client.ChatSession.connect(host, port, name, home=Path(home)))
            alice, bob, carol = people
            for step in (lambda: alice.say("hello, class"), lambda: bob.whisper("alice", "psst"),
                         carol.who):
                step()
                time.sleep(0.05)  # apart, so each exchange shows on its own
            _read_all(people)
        finally:
            while people:  # the last one in leaves first; the others read its left
                people.pop().close()
                _read_all(people)


def _read_all(people: list) -> None:
    """Each reads what came (closing with unread bytes would reset the connection)."""
    for session in people:
        while session.receive(0.2) is not None:
            pass

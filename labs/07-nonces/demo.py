"""What ``socketlab lab sniff 07`` runs: a replayed frame, refused by the server's counters."""

import functools
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from nacl.signing import SigningKey

from socketlab.client import ChatClient
from socketlab.client.events import Disconnected
from socketlab.inspector.proxy import Proxy
from socketlab.labs import harness
from socketlab.protocol import Left

AS = "socketlab"  # box sessions: the view decrypts them with the key log the server writes
WAIT = 3.0
NO_KEYLOG = os.devnull  # the key log is the server's (the student's write_keylog); clients add none


def start(target: Path) -> tuple[tuple[str, int], Callable[[], None]]:
    """The student's ``serve()`` on a listener of our own, with a throwaway identity
    (so nothing is written next to chat_server.py); stopping closes the listener."""
    module = harness.load("chat_server.py")
    listener = socket.create_server(("127.0.0.1", 0))
    serve = functools.partial(module.serve, identity=SigningKey.generate())
    harness.run_in_thread(serve, listener, name="chat-server")
    return listener.getsockname(), listener.close


def _wait_for(client: ChatClient, wanted: Callable[[object], bool]) -> None:
    """Until an event ``wanted`` arrives on the client's queue (or WAIT passes)."""
    deadline = time.monotonic() + WAIT
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = client.events.get(timeout=left)
        except Exception:  # noqa: BLE001 - queue.Empty: the wait is over either way
            return
        if wanted(event):
            return


def run_clients(target: Path, address: tuple[str, int]) -> None:
    """bob logs in directly; alice logs in through the proxy in replay mode and says one
    line, which reaches the server twice: the copy is refused (replayed), bob sees alice
    leave; then bob says goodbye and leaves."""
    bob = ChatClient(*address, verify=False, timeout=WAIT, keylog=NO_KEYLOG)
    bob.connect()
    bob.login("bob")
    try:
        with Proxy(target=address, tamper="replay", frame=2) as attacker:
            alice = ChatClient(*attacker.address, verify=False, timeout=WAIT, keylog=NO_KEYLOG)
            alice.connect()
            alice.login("alice")
            try:
                alice.say("meet at noon")  # the 2nd frame after her hello: replayed
                _wait_for(alice, lambda event: isinstance(event, Disconnected))
            finally:
                alice.close()
        _wait_for(bob, lambda event: isinstance(event, Left))
        bob.say("alice is gone: the copy of her frame was refused")
        time.sleep(0.1)  # let the say's echo cross before bob's bye
    finally:
        bob.close()

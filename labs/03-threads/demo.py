"""What ``socketlab lab sniff 03`` runs: three clients in a room, one message fanned out."""

import functools
import socket
import time
from collections.abc import Callable
from pathlib import Path

from socketlab.labs import harness

AS = "frames"  # lab 03 speaks length-prefixed frames: show each with its text


def start(target: Path) -> tuple[tuple[str, int], Callable[[], None]]:
    """The student's ``serve()`` with a fresh Room on a listener of our own; stop closes it."""
    module = harness.load("chat_server.py")
    listener = socket.create_server(("127.0.0.1", 0))
    harness.run_in_thread(functools.partial(module.serve, room=module.Room()), listener,
                          name="accept")
    return listener.getsockname(), listener.close


def run_clients(target: Path, address: tuple[str, int]) -> None:
    """alice, bob and carol join; alice says hello; the server sends it on to bob and carol."""
    framing = harness.load("framing.py")
    clients = []
    try:
        for _ in ("alice", "bob", "carol"):
            sock = socket.create_connection(address, timeout=3)
            clients.append(sock)
            time.sleep(0.1)  # let the server's new reader thread join the room
        alice, bob, carol = clients
        framing.send_frame(alice, b"hello from alice")
        for sock in (bob, carol):
            framing.recv_frame(sock)  # the copy the server fanned out to this client
    finally:
        for sock in clients:
            sock.close()

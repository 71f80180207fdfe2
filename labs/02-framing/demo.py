"""What ``socketlab lab sniff 02`` runs: the message server and two short clients."""

import socket
import time
from collections.abc import Callable
from pathlib import Path

from socketlab.labs import harness

AS = "frames"  # lab 02 sends length-prefixed frames: show each with its 4-byte header


def start(target: Path) -> tuple[tuple[str, int], Callable[[], None]]:
    """The student's ``serve()`` on a listener of our own; stopping closes the listener."""
    module = harness.load("message_server.py")
    listener = socket.create_server(("127.0.0.1", 0))
    harness.run_in_thread(module.serve, listener, name="message-server")
    return listener.getsockname(), listener.close


def run_clients(target: Path, address: tuple[str, int]) -> None:
    """Two clients; the first sends two messages one by one, then three in one write."""
    client = harness.load("message_client.py")
    for batches in ([["hello"], ["framing"], ["one", "two", "three"]], [["second client"]]):
        with client.connect(*address) as sock:
            sock.settimeout(3)
            reader = client.FrameReader(sock)
            for texts in batches:
                client.ask_all(sock, reader, texts)
                time.sleep(0.05)  # apart, so the capture shows each write on its own

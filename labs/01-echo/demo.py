"""What ``socketlab lab sniff 01`` runs: the echo server and two short clients."""

import socket
import time
from collections.abc import Callable
from pathlib import Path

from socketlab.labs import harness

AS = "raw"  # lab 01 sends bare bytes: show them as they cross, per direction


def start(target: Path) -> tuple[tuple[str, int], Callable[[], None]]:
    """The student's ``serve()`` on a listener of our own; stopping closes the listener."""
    module = harness.load("echo_server.py")
    listener = socket.create_server(("127.0.0.1", 0))
    harness.run_in_thread(module.serve, listener, name="echo-server")
    return listener.getsockname(), listener.close


def run_clients(target: Path, address: tuple[str, int]) -> None:
    """Two clients, one after the other; the first sends two lines in two writes."""
    client = harness.load("echo_client.py")
    for lines in ([b"hello, echo\n", b"TCP is a byte stream\n"], [b"second client\n"]):
        with client.connect(*address) as sock:
            sock.settimeout(3)
            for line in lines:
                client.echo(sock, line)
                time.sleep(0.05)  # apart, so the capture shows each write on its own

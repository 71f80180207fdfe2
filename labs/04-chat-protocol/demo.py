"""What ``socketlab lab sniff 04`` runs: the chat server and three of the kit's clients, in plain mode."""

import socket
import time
from collections.abc import Callable
from pathlib import Path

from socketlab.client import ChatClient, ChatError
from socketlab.labs import harness

AS = "socketlab"  # from lab 04 on the bytes are socketlab messages: show them as such


def start(target: Path) -> tuple[tuple[str, int], Callable[[], None]]:
    """The student's ``serve()`` on a listener of our own; stopping closes the listener."""
    module = harness.load("chat_server.py")
    listener = socket.create_server(("127.0.0.1", 0))
    harness.run_in_thread(module.serve, listener, name="chat-server")
    return listener.getsockname(), listener.close


def run_clients(target: Path, address: tuple[str, int]) -> None:
    """alice and bob log in; a third asks for "ALICE" (taken) and becomes carol; a say,
    a whisper and a who; then all three leave."""
    clients: list[ChatClient] = []

    def connect() -> ChatClient:
        client = ChatClient(*address, mode="plain", timeout=3)
        clients.append(client)
        client.connect()
        return client

    try:
        alice = connect()
        alice.login("alice")
        bob = connect()
        bob.login("bob")
        carol = connect()
        try:
            carol.login("ALICE")  # the same name in another case: name_taken
        except ChatError:
            carol.login("carol")  # a retry on the same connection
        for step in (lambda: alice.say("hello, class"), lambda: bob.whisper("alice", "psst"),
                     carol.who):
            step()
            time.sleep(0.05)  # apart, so each exchange shows on its own
    finally:
        for client in reversed(clients):
            client.close()

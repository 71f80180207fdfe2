"""Nothing is lost: every line reaches every client, once, in its sender's order."""

from __future__ import annotations

import threading
import time

import pytest

from socketlab.protocol import Joined, Message, ProtocolError, Say
from socketlab.server import FloodLimits, outbox
from tests.server.server_helpers import RawClient

CLIENTS = 10
LINES = 200


@pytest.mark.parametrize("write_path", ["send first", "writer thread only"])
def test_ten_clients_each_say_200_lines_at_once(
    make_server, connect, monkeypatch, write_path
) -> None:
    server = make_server(flood=FloodLimits(rate=0))  # a stress test, not a flood test
    if write_path == "writer thread only":  # as on Windows, which has no MSG_DONTWAIT
        monkeypatch.setattr(outbox, "_DONTWAIT", 0)
    names = [f"user{i}" for i in range(CLIENTS)]
    clients = {name: connect(server, name) for name in names}
    last = names[-1]
    for name in names[:-1]:
        clients[name].wait_for(lambda m: m == Joined(last))

    received: dict[str, list[Message]] = {name: [] for name in names}
    errors: list[BaseException] = []
    start = threading.Barrier(CLIENTS)

    def read(name: str, client: RawClient) -> None:
        deadline = time.monotonic() + 30
        try:
            while len(received[name]) < CLIENTS * LINES:
                msg = client.recv(timeout=deadline - time.monotonic())
                if isinstance(msg, Message):
                    received[name].append(msg)
        except (AssertionError, OSError, ProtocolError) as exc:  # reported by the main thread
            errors.append(exc)

    def say(name: str, client: RawClient) -> None:
        start.wait(timeout=10)
        for n in range(LINES):
            client.send(Say(f"{name}:{n}"))

    threads = [
        threading.Thread(
            target=func, args=(name, clients[name]), name=f"test-{func.__name__}-{name}"
        )
        for name in names
        for func in (read, say)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(40)
    assert not errors, errors

    for name in names:
        by_sender: dict[str, list[int]] = {sender: [] for sender in names}
        for msg in received[name]:
            sender, n = msg.text.split(":")
            assert msg.sender == sender
            by_sender[sender].append(int(n))
        for sender, numbers in by_sender.items():
            assert numbers == list(range(LINES)), f"{name} from {sender}: {numbers[:10]}..."

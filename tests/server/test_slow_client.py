"""A client that never reads must not delay anyone; it is dropped with sendq_exceeded."""

from __future__ import annotations

import threading
import time

from socketlab.protocol import Joined, Left, Message, Say
from socketlab.server import FloodLimits
from tests.server.server_helpers import RawClient, eventually, server_threads

TEXT = "x" * 2000  # the longest chat line: megabytes come quickly
FLOOD_MAX = 5000  # ~10 MB: far more than a stalled socket and its queue can hold
SENDQ = 256 * 1024
WINDOW = 32  # lines alice has said but not yet seen come back: keeps honest readers in step
STALLER_LEFT = Left("staller", "sendq_exceeded")


def test_a_client_that_never_reads_is_dropped_and_delays_no_one(make_server, connect) -> None:
    server = make_server(sendq=SENDQ, flood=FloodLimits(rate=0))  # alice floods on purpose
    honest = {name: connect(server, name) for name in ("alice", "bob", "carol")}
    staller = RawClient(server.address, rcvbuf=4096)  # and it never calls recv again
    staller.handshake()
    staller.login("staller")
    for client in honest.values():
        client.wait_for(lambda m: m == Joined("staller"))

    seen: dict[str, list[object]] = {name: [] for name in honest}
    done_at: dict[str, float] = {}
    in_flight = threading.Semaphore(WINDOW)
    dropped = threading.Event()

    def read_until_done(name: str, client: RawClient) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            msg = client.recv(timeout=deadline - time.monotonic())
            seen[name].append(msg)
            if msg == STALLER_LEFT:
                dropped.set()
            elif isinstance(msg, Message) and msg.text == "done":
                done_at[name] = time.monotonic()
                return
            elif name == "alice" and isinstance(msg, Message) and msg.text == TEXT:
                in_flight.release()

    readers = [
        threading.Thread(target=read_until_done, args=item, name=f"test-{item[0]}")
        for item in honest.items()
    ]
    for thread in readers:
        thread.start()
    alice = honest["alice"]
    sent = 0
    # Alice floods the room until the staller is dropped. If the server waited on
    # the staller, her own lines would stop coming back and the acquire would fail.
    while not dropped.is_set() and sent < FLOOD_MAX:
        assert in_flight.acquire(timeout=10), "alice's own lines stopped coming back"
        alice.send(Say(TEXT))
        sent += 1
    sent_done_at = time.monotonic()
    alice.send(Say("done"))  # after her flood: one sender's lines keep their order
    for thread in readers:
        thread.join(65)

    assert dropped.is_set(), f"the staller was not dropped after {sent} lines"
    for name, messages in seen.items():
        flood = [m for m in messages if isinstance(m, Message) and m.text == TEXT]
        assert len(flood) == sent, f"{name} got {len(flood)} of {sent}"
        assert STALLER_LEFT in messages, f"{name} was not told"
        assert done_at[name] - sent_done_at < 2.0, f"{name} waited"
    # Its threads end too (after the grace a closing peer gets to take its last bytes).
    assert eventually(lambda: not any("staller" in name for name in server_threads()))
    staller.close()

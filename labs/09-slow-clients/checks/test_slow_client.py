"""Step 5: in the server, a client that never reads is dropped and delays no one."""

import threading
import time

from conftest import WAIT

from socketlab.labs import harness
from socketlab.labs.conformance import FLOOD_TEXT
from socketlab.protocol import Error, Left, Message, Say

DROPPED = Left("staller", "sendq_exceeded")
BACKLOG = 16  # lines alice has said and not yet seen back: she keeps in step with the server


class Room:
    """alice (who floods), bob (who reads) and a client that never reads, all logged in."""

    def __init__(self, chat_target, peers) -> None:
        self.most = 4 * chat_target.sendq // len(FLOOD_TEXT) + 200  # far past SENDQ
        self.alice = peers("alice", "alice")
        self.bob = peers("bob", "bob")
        self.staller = peers("staller", "staller", rcvbuf=4096)
        for peer, count in ((self.alice, 2), (self.bob, 1)):
            for _ in range(count):
                peer.next_chat()  # joined bob, joined staller
        self.dropped = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="check-bob", daemon=True)
        self.watcher.start()

    def _watch(self) -> None:
        deadline = time.monotonic() + 4 * WAIT
        while time.monotonic() < deadline:
            msg = self.bob.next_chat(0.1)
            if msg == DROPPED:
                self.dropped.set()
            if self.bob.ended:
                return

    def flood(self, until_dropped: bool) -> tuple[int, float]:
        """alice says long lines (until the staller is dropped, if asked): how many,
        and the longest she waited for one of her own to come back."""
        sent, slowest, backlog = 0, 0.0, 0
        while sent < self.most and not (until_dropped and self.dropped.is_set()):
            while backlog >= BACKLOG:
                asked = time.monotonic()
                msg = self.alice.next_chat(WAIT)
                if msg is None:
                    return sent, float("inf")
                slowest = max(slowest, time.monotonic() - asked)
                backlog -= isinstance(msg, Message)
            self.alice.send(Say(FLOOD_TEXT))
            sent, backlog = sent + 1, backlog + 1
        return sent, slowest


def test_others_are_not_delayed(chat_target, peers):
    """while alice floods and one client never reads, alice's lines come back within 2 s"""
    room = Room(chat_target, peers)
    sent, slowest = room.flood(until_dropped=False)
    waited = "over 3" if slowest == float("inf") else f"{slowest:.1f}"
    assert slowest < 2.0, harness.why(
        f"after some of alice's {sent} lines her own stopped coming back for {waited} s: "
        "the server waited for the client that never reads. send() must only queue, and "
        "the writer thread of that client does the waiting — README steps 1 and 3")


def test_client_that_never_reads_is_dropped(chat_target, peers):
    """a client that never reads is dropped: the others get left{staller, sendq_exceeded}"""
    room = Room(chat_target, peers)
    sent, _ = room.flood(until_dropped=True)
    room.dropped.wait(WAIT)
    assert room.dropped.is_set(), harness.why(
        f"alice said {sent} lines of 2,000 characters, far more than SENDQ "
        f"({chat_target.sendq:,} bytes) can hold for a client that never reads, and bob was "
        "never told left{staller, sendq_exceeded}: over SENDQ send() returns False and "
        "deliver() makes that client leave — README steps 2 and 5")


def test_a_dropped_client_that_never_reads_leaves_no_thread(chat_target, peers):
    """a dropped client that never reads: its reader and writer threads end all the same"""
    room = Room(chat_target, peers)
    port = room.staller.sock.getsockname()[1]  # the server names its threads after it

    def its_threads() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.endswith(f"-{port}")]

    assert its_threads(), f"no thread of the server is named after port {port} (client-{port})"
    room.flood(until_dropped=True)
    assert room.dropped.wait(WAIT), harness.why(
        "the client that never reads was not dropped — README steps 2 and 5")
    gone = harness.eventually(lambda: not its_threads(), WAIT)
    assert gone, harness.why(
        f"the client was dropped, never read, and 3 s later its threads still run "
        f"({', '.join(its_threads())}): its writer is stuck in sendall() and its reader in "
        "recv(), and neither will ever return by itself. drop_queue() must start "
        "threading.Timer(CLOSE_GRACE, self.cut) — README step 2")


def test_a_dropped_client_that_reads_at_last_finds_the_error(chat_target, peers):
    """a dropped client that reads at last gets some lines, then error sendq_exceeded, then the end"""
    room = Room(chat_target, peers)
    room.flood(until_dropped=True)
    assert room.dropped.wait(WAIT), harness.why(
        "the client that never reads was not dropped — README steps 2 and 5")
    messages = []
    while (msg := room.staller.recv(WAIT)) is not None:
        messages.append(msg)
    last = messages[-1] if messages else None
    assert isinstance(last, Error) and last.code == "sendq_exceeded", harness.why(
        f"the dropped client read {len(messages)} messages, the last {last!r}: after what was "
        "already on its way it must get error sendq_exceeded (queued alone), then the end — "
        "README step 2")
    assert room.staller.ended, "after error sendq_exceeded the server must close the connection"

"""Step 5: in the server, a client that never reads is dropped and delays no one."""

import threading
import time
from collections.abc import Iterator

import pytest
from conftest import WAIT

from socketlab.labs import harness
from socketlab.labs.conformance import FLOOD_TEXT
from socketlab.labs.harness import _
from socketlab.protocol import Error, Left, Message, Say

DROPPED = Left("staller", "sendq_exceeded")
BACKLOG = 16  # lines alice has said that alice or bob has not yet seen: both keep in step


class Room:
    """alice (who floods), bob (who reads) and a client that never reads, all logged in.

    alice says a line only when both she and bob have seen all but BACKLOG of
    hers: so the client that never reads is the only one that falls behind,
    however slowly this machine runs the readers, and the flood goes on until
    it is dropped (or far past SENDQ, for a server that never drops it).
    """

    def __init__(self, chat_target, peers) -> None:
        self.most = 4 * chat_target.sendq // len(FLOOD_TEXT) + 200  # far past SENDQ
        self.alice = peers("alice", "alice")
        self.bob = peers("bob", "bob")
        self.staller = peers("staller", "staller", rcvbuf=4096)
        for peer, count in ((self.alice, 2), (self.bob, 1)):
            for _joined in range(count):
                peer.next_chat()  # joined bob, joined staller
        self.dropped = threading.Event()
        self.stop = threading.Event()
        self.bob_saw = 0  # of alice's long lines
        self.told: Left | None = None  # what bob was told when the staller left
        self.seen = threading.Condition()
        self.watcher = threading.Thread(target=self._watch, name="check-bob", daemon=True)
        self.watcher.start()

    def _watch(self) -> None:
        while not self.stop.is_set() and not self.bob.ended:
            msg = self.bob.next_chat(0.1)
            if isinstance(msg, Left) and msg.name == "staller":
                self.told = msg
            if msg == DROPPED:
                self.dropped.set()
            elif isinstance(msg, Message) and msg.text == FLOOD_TEXT:
                with self.seen:
                    self.bob_saw += 1
                    self.seen.notify_all()

    def close(self) -> None:
        """Stop reading for bob: the check's own thread ends before the next check."""
        self.stop.set()
        self.watcher.join(WAIT)

    def _bob_keeps_up(self, sent: int) -> bool:
        with self.seen:
            return self.seen.wait_for(lambda: sent - self.bob_saw < BACKLOG or self.bob.ended,
                                      WAIT)

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
                backlog -= isinstance(msg, Message) and msg.text == FLOOD_TEXT
            asked = time.monotonic()
            if not self._bob_keeps_up(sent):
                return sent, float("inf")
            slowest = max(slowest, time.monotonic() - asked)
            self.alice.send(Say(FLOOD_TEXT))
            sent, backlog = sent + 1, backlog + 1
        return sent, slowest


@pytest.fixture
def room(chat_target, peers) -> Iterator[Room]:
    made = Room(chat_target, peers)
    yield made
    made.close()


def test_others_are_not_delayed(room):
    """while alice floods and one client never reads, alice's lines come back within 2 s"""
    sent, slowest = room.flood(until_dropped=False)
    waited = (_("over 3 s") if slowest == float("inf")
              else _("{seconds:.1f} s").format(seconds=slowest))
    assert slowest < 2.0, harness.why(_(
        "after some of alice's {sent} lines her own stopped coming back for {waited}: "
        "the server waited for the client that never reads. send() must only queue, and "
        "the writer thread of that client does the waiting — README steps 1 and 3").format(
        sent=sent, waited=waited))


def test_client_that_never_reads_is_dropped(chat_target, room):
    """a client that never reads is dropped: the others get left{staller, sendq_exceeded}"""
    sent, slowest = room.flood(until_dropped=True)
    room.dropped.wait(WAIT)
    assert room.dropped.is_set() or slowest < float("inf"), harness.why(_(
        "after {sent} of alice's lines the server stopped passing them on for over 3 s, and "
        "bob was never told left{{staller, sendq_exceeded}}: the server waited for the client "
        "that never reads. send() must only queue — README steps 1 and 3").format(sent=sent))
    assert room.told is None or room.dropped.is_set(), harness.why(_(
        "bob was told {told!r}, not left{{staller, sendq_exceeded}}: the client that "
        "never reads was dropped some other way. Over SENDQ send() returns False, and "
        "deliver() calls leave(self, client, \"sendq_exceeded\"), which tells the others why "
        "— README steps 2 and 5").format(told=room.told))
    assert room.dropped.is_set(), harness.why(_(
        "alice said {sent} lines of 2,000 characters, far more than SENDQ "
        "({sendq:,} bytes) can hold for a client that never reads, and bob was "
        "never told left{{staller, sendq_exceeded}}: over SENDQ send() returns False, and then "
        "deliver() must call leave(self, client, \"sendq_exceeded\"): leave() takes the "
        "client out of the room and tells the others why — README steps 2 and 5").format(
        sent=sent, sendq=chat_target.sendq))


def test_a_dropped_client_that_never_reads_leaves_no_thread(room):
    """a dropped client that never reads: its reader and writer threads end all the same"""
    port = room.staller.sock.getsockname()[1]  # the server names its threads after it

    def its_threads() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.endswith(f"-{port}")]

    assert its_threads(), _(
        "no thread of the server is named after port {port} (client-{port})").format(port=port)
    room.flood(until_dropped=True)
    assert room.dropped.wait(WAIT), harness.why(_(
        "the client that never reads was not dropped — README steps 2 and 5"))
    gone = harness.eventually(lambda: not its_threads(), WAIT)
    assert gone, harness.why(_(
        "the client was dropped, never read, and 3 s later its threads still run "
        "({names}): its writer is stuck in sendall() and its reader in "
        "recv(), and neither will ever return by itself. drop_queue() must start "
        "threading.Timer(CLOSE_GRACE, self.cut) — README step 2").format(
        names=", ".join(its_threads())))


def test_a_dropped_client_that_reads_at_last_finds_the_error(server_module, room, monkeypatch):
    """a dropped client that reads at last gets some lines, then error sendq_exceeded, then the end"""
    # The cut comes CLOSE_GRACE after the drop; this check's client reads at once, but on a
    # busy machine it may need more than 1 s to read its backlog: so the check gives it WAIT.
    monkeypatch.setattr(server_module, "CLOSE_GRACE", WAIT)
    room.flood(until_dropped=True)
    assert room.dropped.wait(WAIT), harness.why(_(
        "the client that never reads was not dropped — README steps 2 and 5"))
    messages = []
    while (msg := room.staller.recv(WAIT)) is not None:
        messages.append(msg)
    last = messages[-1] if messages else None
    assert isinstance(last, Error) and last.code == "sendq_exceeded", harness.why(_(
        "the dropped client read {count} messages, the last {last!r}: after what was "
        "already on its way it must get error sendq_exceeded (queued alone), then the end "
        "(this check sets CLOSE_GRACE to {grace:g} s, so it has time to read all) — "
        "README step 2").format(count=len(messages), last=last, grace=WAIT))
    assert room.staller.ended, _(
        "after error sendq_exceeded the server must close the connection")

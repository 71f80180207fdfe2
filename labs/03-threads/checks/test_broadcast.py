"""Step 3: Room.broadcast() reaches every other client, past dead ones, without holding the lock."""

import threading
import time

from conftest import Peer, members, reset

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_broadcast_reaches_every_other_client(room, pairs):
    """broadcast() sends the message to every other client in the room, not back to the sender"""
    sender, sender_peer = pairs()
    others = [pairs() for _number in range(3)]
    room.join(sender)
    for conn, _peer in others:
        room.join(conn)
    harness.call_with_timeout(room.broadcast, sender, b"hello, room", timeout=2)
    for number, (_conn, peer) in enumerate(others, start=1):
        got = Peer(peer).recv(timeout=2)
        assert got == b"hello, room", _(
            "client {number} of 3 got {got!r} instead of b'hello, room' — send(client, body) "
            "to every client in the room but the sender — README step 3"
        ).format(number=number, got=got)
    echoed = Peer(sender_peer).recv(timeout=0.2)
    assert echoed is None, _(
        "the sender got its own message back ({echoed!r}): skip the sender — README step 3"
    ).format(echoed=echoed)


def test_dead_client_does_not_stop_broadcast(room, pairs):
    """a client whose connection is dead does not stop the broadcast to the clients after it"""
    sender, _client = pairs()
    room.join(sender)
    alive, dead_ones = [], []
    for _round in range(2):
        dead, dead_peer = pairs()
        reset(dead_peer)  # gone: sending to it raises ConnectionResetError or BrokenPipeError
        room.join(dead)
        dead_ones.append(dead)
        conn, peer = pairs()
        room.join(conn)
        alive.append(peer)
    killed = harness.eventually(lambda: all(map(_send_fails, dead_ones)), 2)
    assert killed, _("the check could not kill a client (its own fault, not yours)")
    try:
        harness.call_with_timeout(room.broadcast, sender, b"still here?", timeout=2)
    except OSError as error:
        raise AssertionError(_(
            "broadcast() raised {kind} ({error}) at a client that had vanished, "
            "so the clients after it got nothing: catch OSError around each send and go on "
            "with the next client — README step 3"
        ).format(kind=type(error).__name__, error=error)) from None
    for number, peer in enumerate(alive, start=1):
        got = Peer(peer).recv(timeout=2)
        assert got == b"still here?", _(
            "live client {number} of 2 (after a dead one) got {got!r}: one failed send must not "
            "end the loop — catch OSError around each send — README step 3"
        ).format(number=number, got=got)


def _send_fails(conn) -> bool:
    """Whether sending on ``conn`` fails now (its peer reset it); a stray byte does no harm."""
    try:
        conn.send(b"")
        conn.send(bytes(1))
    except OSError:
        return True
    return False


def test_no_lock_held_while_sending(room, pairs):
    """while broadcast() waits on a client that never reads, join() and leave() still go through"""
    sender, _client = pairs()
    slow, slow_peer = pairs(sndbuf=4096, rcvbuf=4096)  # never read: its buffers fill at once
    room.join(sender)
    room.join(slow)
    sent = [0]
    stop = threading.Event()

    def flood() -> None:
        for _round in range(200):  # 200 × 60 KB: far more than the slow client's buffers hold
            if stop.is_set():
                return
            room.broadcast(sender, b"x" * 60_000)
            sent[0] += 1

    flooder = harness.run_in_thread(flood, name="student-broadcast")
    try:
        stuck = _wait_until_stuck(flooder, sent)
        assert stuck, harness.why(_(
            "broadcast() to a client that never reads should have had to wait (its buffers are "
            "full), but {count} broadcasts of 60 KB went through — does it send at all?"
        ).format(count=sent[0]))
        newcomer, _client = pairs()
        for action in (room.join, room.leave):
            try:
                harness.call_with_timeout(action, newcomer, timeout=2)
            except AssertionError:
                raise AssertionError(_(
                    "while broadcast() was stuck sending to a client that never reads, "
                    "{name}() waited 2 s for room.lock: broadcast holds the lock while "
                    "it sends. Copy the list under the lock, then send outside it — "
                    "README step 3"
                ).format(name=action.__name__)) from None
        assert newcomer not in members(room), _(
            "join() then leave() left the newcomer in the room")
    finally:
        stop.set()
        slow_peer.close()  # the stuck send fails now, and the flood ends
        flooder.join(3)


def _wait_until_stuck(thread: threading.Thread, sent: list[int]) -> bool:
    """True once ``thread`` is alive and its count has not moved for 0.3 s (bounded: 5 s)."""
    deadline = time.monotonic() + 5
    last, since = sent[0], time.monotonic()
    while time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.02)
        if sent[0] != last:
            last, since = sent[0], time.monotonic()
        elif time.monotonic() - since >= 0.3:
            return True
    return False

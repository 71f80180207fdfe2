"""The lesson: a client that never reads must not lock the others out (no lock while sending)."""

import time

from conftest import Peer, leaving_problem, members

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_client_that_never_reads_locks_out_nobody(chat_server, server_module):
    """while a client that never reads holds up a sender, others still join and leave within 2 s"""
    address, room = chat_server
    reader = Peer(harness.connect(address))
    harness.eventually(lambda: len(members(room)) == 1, 2)
    never_reads = harness.connect(address, rcvbuf=4096)  # connected, never reads a byte
    flooder = Peer(harness.connect(address))
    assert harness.eventually(lambda: len(members(room)) == 3, 3), harness.why(_(
        "3 clients connected, and the room held {count} — README step 5"
    ).format(count=len(members(room))))

    def flood() -> None:
        try:
            for _round in range(300):  # 300 × 16 KB: far more than the buffers to never_reads hold
                flooder.send(b"f" * 16_000)
        except OSError:
            pass  # the check is over and closed the connection

    harness.checker_thread(flood, name="check-flood")
    try:
        stalled = _stalls(reader)
        assert stalled, harness.why(_(
            "a client that never reads should make the server's sending wait, but the messages "
            "kept flowing for 5 s — does broadcast() send to every client?"))
        # Now the server's thread for `flooder` is stuck sending to `never_reads`.
        newcomer = harness.connect(address)
        joined = harness.eventually(lambda: len(members(room)) == 4, 2)
        newcomer.close()
        assert joined, harness.why(_(
            "while the server was stuck sending to a client that never reads, a new client "
            "could not join within 2 s: your broadcast holds room.lock while it sends, so "
            "every thread that needs the lock waits too. Copy the list under the lock and "
            "send outside it — README step 3"))
        left = harness.eventually(lambda: len(members(room)) == 3, 2)
        assert left or not (problem := leaving_problem(server_module)), harness.why(problem)
        assert left, harness.why(_(
            "while the server was stuck sending to a client that never reads, a client could "
            "not leave within 2 s: do not hold room.lock while sending — README step 3"))
    finally:
        never_reads.close()  # the stuck send fails now
        flooder.sock.close()
        reader.sock.close()


def _stalls(reader: Peer) -> bool:
    """True once ``reader`` got a message and then nothing more for 0.4 s (bounded: 5 s)."""
    deadline = time.monotonic() + 5
    got_any = False
    while time.monotonic() < deadline:
        if reader.recv(timeout=0.4) is None:
            if got_any:
                return True
        else:
            got_any = True
    return False

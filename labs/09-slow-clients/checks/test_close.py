"""Step 4: a clean close sends what is queued first, then stops the writer."""

import socket
import threading
import time

from conftest import WAIT

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_close_sends_what_is_queued_first(server_module, wire):
    """close() lets the writer send every queued message before it ends"""
    line = wire(rcvbuf=4096)  # it reads only once close() has begun
    client = line.client(server_module)
    harness.call_with_timeout(client.start, timeout=WAIT)
    msg = {"type": "message", "from": "ann", "text": "y" * 2000, "ts": 1}
    sent = 0
    for _line in range(30):  # 60 KB: more than the sockets' buffers hold, so the writer waits
        harness.call_with_timeout(client.send, msg, timeout=WAIT)
        sent += 1
    # Until the writer is stuck in sendall() and messages wait in the queue (bounded).
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and sent < 40:
        before = client.queued
        time.sleep(0.05)  # a poll: does the queue still move?
        if client.queue and client.queued == before:
            break
        if not client.queue:
            harness.call_with_timeout(client.send, msg, timeout=WAIT)
            sent += 1
    waiting = len(client.queue)
    closer = threading.Thread(target=client.close, name="check-close", daemon=True)
    closer.start()
    got = line.read(sent)
    closer.join(WAIT)
    assert len(got) == sent, harness.why(_(
        "{sent} messages were sent, {waiting} of them still queued when close() was called, "
        "and the client got {got}: a clean close lets the writer send what is queued, then it "
        "ends (set closing, notify, join), and write_loop() stops only once the queue is "
        "empty AND the client is closing — README steps 3 and 4").format(
        sent=sent, waiting=waiting, got=len(got)))
    assert not closer.is_alive(), _("close() did not return within 3 s — README step 4")


def test_close_stops_the_writer(server_module, wire):
    """close() on an idle client ends its writer thread, and returns at once"""
    line = wire()
    client = line.client(server_module)
    harness.call_with_timeout(client.start, timeout=WAIT)
    harness.call_with_timeout(client.close, timeout=WAIT)
    client.writer.join(0.5)
    assert not client.writer.is_alive(), harness.why(_(
        "after close() the writer thread is still running, waiting for work that never comes: "
        "set self.closing AND wake it (self.lock.notify()), so it sees the queue is empty "
        "and ends — README step 4"))


def test_close_cuts_a_stuck_writer(server_module, wire, monkeypatch):
    """close() on a client that never reads: the writer is stuck, so close() cuts it and returns"""
    monkeypatch.setattr(server_module, "CLOSE_GRACE", 0.3)  # shorter, so the check is quick
    line = wire(rcvbuf=4096)  # and it never reads
    client = line.client(server_module)
    harness.call_with_timeout(client.start, timeout=WAIT)
    msg = {"type": "message", "from": "ann", "text": "z" * 2000, "ts": 1}
    # More than the two sockets' buffers can hold (their sizes as the kernel says), less than
    # SENDQ: the writer cannot finish, and the client is not dropped.
    room = (line.conn.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
            + line.peer.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
    for _line in range(room // len(server_module.encode(msg)) + 2):
        harness.call_with_timeout(client.send, msg, timeout=WAIT)
    started = time.monotonic()
    harness.call_with_timeout(client.close, timeout=WAIT)
    took = time.monotonic() - started
    client.writer.join(0.5)
    assert not client.writer.is_alive(), harness.why(_(
        "close() returned after {took:.1f} s and the writer is still stuck in sendall() for a "
        "client that never reads (this check set CLOSE_GRACE to 0.3 s): after "
        "self.writer.join(CLOSE_GRACE), if it is still alive, self.cut() and join it again "
        "— README step 4").format(took=took))

"""Step 3: the writer thread sends what is queued, in order, sealed."""

import time

from conftest import WAIT

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_writer_sends_everything_in_order(server_module, wire):
    """with the writer started, 200 queued messages reach the client sealed, in order"""
    line = wire()
    client = line.client(server_module)
    harness.call_with_timeout(client.start, timeout=WAIT)
    bodies = []
    for n in range(200):
        msg = {"type": "message", "from": "ann", "text": f"line {n}", "ts": n}
        bodies.append(server_module.encode(msg))
        harness.call_with_timeout(client.send, msg, timeout=WAIT)
    got = line.read(200)
    asleep = len(client.queue) if not got and client.writer.is_alive() else 0
    assert not asleep, harness.why(_(
        "the client received nothing, and {count} messages still wait in the queue: the "
        "writer never woke up. send() must wake it (self.lock.notify()) after appending "
        "— README steps 1 and 3").format(count=asleep))
    wrong = [g for g, b in zip(got, bodies, strict=False) if g != b]
    assert got == bodies, harness.why((_(
        "the client received {count} of 200 messages, the first wrong one: {wrong!r}: the "
        "writer thread must take what is queued and send it, in order, sealed with "
        "send_frame(self.conn, self.channel.seal(body)) — README step 3") if wrong else _(
        "the client received {count} of 200 messages: the writer thread must take what is "
        "queued and send it, in order, sealed with "
        "send_frame(self.conn, self.channel.seal(body)) — README step 3")).format(
        count=len(got), wrong=wrong[0][:60] if wrong else None))
    assert client.writer.is_alive(), harness.why(_(
        "the writer thread ended after sending: it must wait for more (self.lock.wait()) "
        "until the client is closing — README step 3"))


def _send_in_time(client, msg) -> float:
    """client.send(msg); how long it took (a send() stuck for WAIT fails, saying why)."""
    started = time.monotonic()
    try:
        harness.call_with_timeout(client.send, msg, timeout=WAIT)
    except AssertionError as stuck:
        raise AssertionError(harness.why(_(
            "{stuck}, with a client that does not read: send() waited for self.lock, which "
            "the writer holds while it sends. Take the bodies under the lock, and send them "
            "after letting go of it — README step 3").format(stuck=stuck))) from None
    return time.monotonic() - started


def test_send_never_waits_for_a_client_that_does_not_read(server_module, wire):
    """a client that never reads: send() still returns at once (the writer waits, not the caller)"""
    line = wire(rcvbuf=4096)  # and it never reads
    client = line.client(server_module)
    harness.call_with_timeout(client.start, timeout=WAIT)
    msg = {"type": "message", "from": "ann", "text": "x" * 2000, "ts": 1}
    for _line in range(25):  # 50 KB: more than the sockets' buffers hold, so the writer gets stuck
        _send_in_time(client, msg)
    # Until the writer has taken all, or the queue stops moving: it is stuck in sendall() now.
    deadline = time.monotonic() + WAIT
    while client.queue and time.monotonic() < deadline:
        before = client.queued
        time.sleep(0.05)  # a poll: does the queue still move?
        if client.queued == before:
            break
    slowest = max(_send_in_time(client, msg) for _send in range(5))
    assert slowest < 1.5, harness.why(_(
        "one send() took {slowest:.1f} s with a client that does not read: send() must never "
        "wait for the network; hold self.lock only to touch the queue, never while sending — "
        "README step 3").format(slowest=slowest))

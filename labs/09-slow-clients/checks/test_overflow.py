"""Step 2: the queue is bounded in bytes; over SENDQ the client is dropped."""

import json
import time

from conftest import WAIT

from socketlab.labs import harness


def _fill(module, client, text: str) -> tuple[int, bool]:
    """send() lines of ``text`` until one is refused: how many fitted, and whether one was."""
    msg = {"type": "message", "from": "ann", "text": text, "ts": 1}
    most = module.SENDQ // len(module.encode(msg)) + 10
    for n in range(most):
        if not harness.call_with_timeout(client.send, msg, timeout=WAIT):
            return n, True
    return most, False


def test_queue_is_bounded_in_bytes(server_module, wire):
    """SENDQ bytes fit in the queue, one byte more does not: long lines fill it sooner"""
    for text in ("hi", "x" * 2000):
        line = wire()
        client = line.client(server_module)
        size = len(server_module.encode({"type": "message", "from": "ann", "text": text, "ts": 1}))
        fits = server_module.SENDQ // size
        count, refused = _fill(server_module, client, text)
        assert refused, (
            f"send() said True to all {count} messages of {size} bytes ({count * size:,} "
            f"bytes), more than SENDQ = {server_module.SENDQ:,} bytes: once self.queued + "
            "len(body) would pass SENDQ, send() must call drop_queue() (which queues error "
            "sendq_exceeded) and return False, so deliver() drops the client — README steps 1 "
            "and 2")
        assert count == fits, (
            f"with messages of {size} bytes, {count} fitted before send() said False; SENDQ = "
            f"{server_module.SENDQ:,} bytes holds exactly {fits}: count the bytes "
            "(self.queued + len(body) > SENDQ), not the messages — README step 2")


def test_overflow_leaves_only_the_error(server_module, wire):
    """over SENDQ: what was queued is dropped, error sendq_exceeded is queued alone, the client is closing"""
    line = wire()
    client = line.client(server_module)
    _fill(server_module, client, "x" * 2000)
    queue = list(client.queue)
    assert len(queue) == 1 and json.loads(queue[0]).get("code") == "sendq_exceeded", (
        f"after the overflow the queue holds {len(queue)} bodies "
        f"({queue[0][:80]!r}…): drop them all and queue the error sendq_exceeded alone — "
        "README step 2")
    assert client.queued == len(queue[0]), (
        f"client.queued is {client.queued}; the queue holds {len(queue[0])} bytes: with the "
        "error queued alone, self.queued is its size — README step 2")
    assert client.closing and client.dropped_for == "sendq_exceeded", (
        f"closing={client.closing!r}, dropped_for={client.dropped_for!r}: a dropped client is "
        "closing, and dropped_for says why (sendq_exceeded) — README step 2")
    assert harness.call_with_timeout(client.send, {"type": "pong"}, timeout=WAIT) is True \
        and len(client.queue) == 1, "after the overflow send() must take nothing more — README step 2"


def test_overflow_cuts_the_connection_after_the_grace(server_module, wire, monkeypatch):
    """over SENDQ, the connection is cut CLOSE_GRACE seconds later (the writer may be stuck)"""
    monkeypatch.setattr(server_module, "CLOSE_GRACE", 0.3)  # shorter, so the check is quick
    line = wire()
    client = line.client(server_module)  # no writer: as if stuck
    started = time.monotonic()
    _fill(server_module, client, "x" * 2000)
    grace = server_module.CLOSE_GRACE
    cut = harness.closed_by_peer(line.peer, grace + 2)
    took = time.monotonic() - started
    assert cut, harness.why(
        f"{grace + 2:g} s after the overflow the connection was still open: a writer stuck in "
        "sendall() and a reader in recv() would wait forever. drop_queue() must start "
        "threading.Timer(CLOSE_GRACE, self.cut) (a daemon) — README step 2")
    assert took >= grace * 0.9, (
        f"the connection was cut {took:.1f} s after the overflow, before CLOSE_GRACE "
        f"({grace:g} s): give the writer that long to send the error — README step 2")

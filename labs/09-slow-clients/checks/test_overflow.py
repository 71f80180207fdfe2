"""Step 2: the queue is bounded in bytes; over SENDQ the client is dropped."""

import json
import time

from conftest import WAIT

from socketlab.labs import harness
from socketlab.labs.harness import _


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
        assert refused, _(
            "send() said True to all {count} messages of {size} bytes ({total:,} "
            "bytes), more than SENDQ = {sendq:,} bytes: once self.queued + "
            "len(body) would pass SENDQ, send() must call drop_queue() (which queues error "
            "sendq_exceeded) and return False, so deliver() drops the client — README steps 1 "
            "and 2").format(count=count, size=size, total=count * size, sendq=server_module.SENDQ)
        assert count == fits, _(
            "with messages of {size} bytes, {count} fitted before send() said False; SENDQ = "
            "{sendq:,} bytes holds exactly {fits}: count the bytes "
            "(self.queued + len(body) > SENDQ), not the messages — README step 2").format(
            size=size, count=count, sendq=server_module.SENDQ, fits=fits)


def test_overflow_leaves_only_the_error(server_module, wire):
    """over SENDQ: what was queued is dropped, error sendq_exceeded is queued alone, the client is closing"""
    line = wire()
    client = line.client(server_module)
    _fill(server_module, client, "x" * 2000)
    queue = list(client.queue)
    assert len(queue) == 1 and json.loads(queue[0]).get("code") == "sendq_exceeded", _(
        "after the overflow the queue holds {count} bodies "
        "({first!r}…): drop them all and queue the error sendq_exceeded alone — "
        "README step 2").format(count=len(queue), first=queue[0][:80])
    assert client.queued == len(queue[0]), _(
        "client.queued is {queued}; the queue holds {size} bytes: with the "
        "error queued alone, self.queued is its size — README step 2").format(
        queued=client.queued, size=len(queue[0]))
    assert client.closing and client.dropped_for == "sendq_exceeded", _(
        "closing={closing!r}, dropped_for={dropped_for!r}: a dropped client is "
        "closing, and dropped_for says why (sendq_exceeded) — README step 2").format(
        closing=client.closing, dropped_for=client.dropped_for)
    assert harness.call_with_timeout(client.send, {"type": "pong"}, timeout=WAIT) is True \
        and len(client.queue) == 1, _("after the overflow send() must take nothing more — README step 2")


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
    assert cut, harness.why(_(
        "{waited:g} s after the overflow the connection was still open: a writer stuck in "
        "sendall() and a reader in recv() would wait forever. drop_queue() must start "
        "threading.Timer(CLOSE_GRACE, self.cut) (a daemon) — README step 2").format(
        waited=grace + 2))
    assert took >= grace * 0.9, _(
        "the connection was cut {took:.1f} s after the overflow, before CLOSE_GRACE "
        "({grace:g} s): give the writer that long to send the error — README step 2").format(
        took=took, grace=grace)

"""Step 1: send() only queues, and returns at once."""

import json

from conftest import WAIT

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_send_queues_and_returns_at_once(server_module, wire):
    """send() puts the message's body in the queue and returns True, sending nothing itself"""
    line = wire()
    client = line.client(server_module)  # its writer is not started
    messages = [{"type": "message", "from": "ann", "text": f"line {n}", "ts": n} for n in range(5)]
    for msg in messages:
        result = harness.call_with_timeout(client.send, msg, timeout=WAIT)
        assert result is True, _(
            "send() returned {result!r} for a message that fits: return True once it is "
            "queued — README step 1").format(result=result)
    bodies = [server_module.encode(msg) for msg in messages]
    arrived = line.read(1, timeout=0.1)
    assert not arrived, _(
        "no writer was started, and the other end received {count} message(s) all the "
        "same: send() sealed and sent the message itself, in the caller's thread. With a "
        "client that never reads, that caller would wait in sendall(). send() must only "
        "queue the body; the writer thread seals and sends it — README steps 1 and 3").format(
        count=len(arrived))
    queued = list(client.queue)
    assert not (len(queued) == len(bodies) and all(len(q) > len(b) for q, b in zip(queued, bodies, strict=True))
                and not any(b in q for q, b in zip(queued, bodies, strict=True))), _(
        "after 5 send()s client.queue holds 5 items of {queued} "
        "bytes, not the 5 bodies (encode(msg), {bodies} bytes): "
        "they look sealed. send() must queue the body as it is; only the writer thread seals "
        "(channel.seal), just before it sends, so the nonce counters reach the wire in the "
        "order the frames do — README steps 1 and 3").format(
        queued=", ".join(str(len(q)) for q in queued), bodies=", ".join(str(len(b)) for b in bodies))
    assert list(client.queue) == bodies, _(
        "after 5 send()s client.queue holds {first}…, expected the 5 bodies "
        "(encode(msg)) in order — README step 1").format(first=list(client.queue)[:3])
    assert client.queued == sum(map(len, bodies)), _(
        "client.queued is {queued}, the 5 bodies weigh {size} bytes: "
        "add len(body) for each one queued — README step 1").format(
        queued=client.queued, size=sum(map(len, bodies)))


def test_send_after_closing_is_ignored(server_module, wire):
    """once the client is closing, send() takes nothing more (and says True)"""
    line = wire()
    client = line.client(server_module)
    client.closing = True
    result = harness.call_with_timeout(client.send, {"type": "pong"}, timeout=WAIT)
    assert result is True and not client.queue, _(
        "send() on a closing client returned {result!r} and queued {queued}: "
        "check self.closing first: nobody will send it any more, so take nothing and return True "
        "— README step 1").format(result=result, queued=json.dumps([b.decode() for b in client.queue]))

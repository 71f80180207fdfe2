"""A long capture keeps memory flat: finished connections leave nothing behind."""

import tracemalloc

from socketlab.inspector.events import Data
from socketlab.inspector.packets import Segment
from socketlab.inspector.reassembly import Reassembler
from tests.inspector.tcp_helpers import ACK, FIN, PSH, SERVER, SYN


def short_connection(r: Reassembler, client_port: int) -> list:
    client = ("127.0.0.1", client_port)

    def up(seq, flags, payload=b""):
        return r.add(Segment(0.0, client, SERVER, seq, 1, flags, payload))

    def down(seq, flags, payload=b""):
        return r.add(Segment(0.0, SERVER, client, seq, 1, flags, payload))

    events = up(0, SYN) + down(0, SYN | ACK) + up(1, ACK)
    events += up(1, PSH | ACK, b"x" * 200) + down(1, PSH | ACK, b"y" * 200)
    events += up(201, FIN | ACK) + down(201, FIN | ACK) + up(202, ACK)
    return events


def test_memory_stays_flat_over_thousands_of_connections():
    r = Reassembler()
    for i in range(1000):  # warm up: the table of recently closed 4-tuples fills
        short_connection(r, 10_000 + i)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        delivered = 0
        for i in range(3000):
            events = short_connection(r, 20_000 + i)
            delivered += sum(len(e.data) for e in events if isinstance(e, Data))
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert delivered == 3000 * 400
    assert growth < 200_000, f"grew {growth} bytes over 3000 finished connections"
    assert r.finish() == []  # nothing was left open

"""Property: any stream, cut anyhow, shuffled and duplicated, reassembles to exactly itself."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from socketlab.inspector.events import Closed, Conflict, Gap
from socketlab.inspector.reassembly import Reassembler
from tests.inspector.tcp_helpers import ACK, FIN, MOD, SYN, c2s, s2c, stream_of


def cut(data: bytes, isn: int, rnd: random.Random, make) -> list:
    """Consecutive pieces covering ``data``, plus overlapping copies and duplicates."""
    segments = []
    pos = 0
    while pos < len(data):
        size = rnd.randint(1, 64)
        segments.append(make((isn + 1 + pos) % MOD, data[pos:pos + size]))
        pos += size
    for _ in range(rnd.randint(0, 10)):  # overlapping retransmissions, same bytes
        if data:
            start = rnd.randrange(len(data))
            end = rnd.randint(start + 1, len(data))
            segments.append(make((isn + 1 + start) % MOD, data[start:end]))
    segments += rnd.sample(segments, k=min(len(segments), rnd.randint(0, 5)))  # duplicates
    segments.append(make((isn + 1 + len(data)) % MOD, b"", FIN | ACK))
    return segments


@settings(max_examples=200, deadline=None)
@given(
    upstream=st.binary(max_size=3000),
    downstream=st.binary(max_size=1000),
    client_isn=st.one_of(st.integers(0, MOD - 1), st.integers(MOD - 4000, MOD - 1)),
    server_isn=st.integers(0, MOD - 1),
    seed=st.integers(0, 2**32),
)
def test_shuffled_duplicated_overlapping_segments_reassemble_exactly(
        upstream, downstream, client_isn, server_isn, seed):
    rnd = random.Random(seed)
    segments = cut(upstream, client_isn, rnd, lambda seq, p, f=ACK: c2s(seq, p, flags=f))
    segments += cut(downstream, server_isn, rnd, lambda seq, p, f=ACK: s2c(seq, p, flags=f))
    rnd.shuffle(segments)
    r = Reassembler()
    events = r.add(c2s(client_isn, flags=SYN))  # the SYNs come first: they fix offset 0
    events += r.add(s2c(server_isn, flags=SYN | ACK, ack=client_isn + 1))
    for segment in segments:
        events += r.add(segment)
    events += r.finish()
    assert stream_of(events, "c2s") == upstream
    assert stream_of(events, "s2c") == downstream
    assert not [e for e in events if isinstance(e, (Gap, Conflict))]
    assert [e.how for e in events if isinstance(e, Closed)] == ["fin"]

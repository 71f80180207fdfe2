"""Sequence numbers wrap at 2**32; offsets keep counting."""

from socketlab.inspector.reassembly import Reassembler
from tests.inspector.tcp_helpers import (
    MOD,
    c2s,
    data_of,
    fin_both,
    gaps_of,
    handshake,
    s2c,
    stream_of,
)


def test_stream_crossing_the_wrap_in_order():
    r = Reassembler()
    isn = MOD - 7
    events = handshake(r, client_isn=isn)
    seq = isn + 1
    for chunk in (b"abcd", b"efgh", b"ijkl"):  # the second chunk straddles 2**32
        events += r.add(c2s(seq, chunk))
        seq += len(chunk)
    assert stream_of(events) == b"abcdefghijkl"


def test_out_of_order_across_the_wrap():
    r = Reassembler()
    isn = MOD - 3
    handshake(r, client_isn=isn)
    events = r.add(c2s(isn + 1 + 4, b"EFGH"))  # after the wrap: seq is small
    events += r.add(c2s(isn + 1, b"ABCD"))  # before it: seq near 2**32
    assert stream_of(events) == b"ABCDEFGH"


def test_syn_at_the_very_top_of_the_sequence_space_and_fin_after_the_wrap():
    r = Reassembler()
    events = handshake(r, client_isn=MOD - 1, server_isn=MOD - 1)
    events += r.add(c2s(0, b"first")) + r.add(s2c(0, b"back"))
    events += fin_both(r, 5, 4)
    assert stream_of(events) == b"first" and stream_of(events, "s2c") == b"back"
    assert events[-1].how == "fin"


def test_offsets_pass_four_gibibytes_when_the_stream_does():
    # max_buffer=0 turns each jump ahead into a reported gap, so the stream
    # moves forward 1 GiB at a time without holding that many bytes.
    r = Reassembler(max_buffer=0)
    handshake(r, client_isn=0)
    step = 1 << 30
    events = []
    for i in range(1, 6):
        events += r.add(c2s(1 + i * step, b"%d" % i))
    assert gaps_of(events) == [(0, step)] + [(i * step + 1, step - 1) for i in range(1, 5)]
    assert data_of(events) == [(i * step, b"%d" % i) for i in range(1, 6)]

"""Out-of-order segments are held until the hole before them is filled."""

from socketlab.inspector.reassembly import Reassembler
from tests.inspector.tcp_helpers import c2s, data_of, gaps_of, handshake, s2c, stream_of


def test_later_segment_waits_then_both_are_delivered_as_one_data_event():
    r = Reassembler()
    handshake(r, client_isn=1000)
    assert data_of(r.add(c2s(1006, b"world"))) == []
    events = r.add(c2s(1001, b"hello", ts=9.0))
    assert data_of(events) == [(0, b"helloworld")]
    assert events[-1].ts == 9.0  # the time the bytes became readable in order


def test_reverse_order_delivers_everything_only_when_the_first_arrives():
    r = Reassembler()
    handshake(r, client_isn=1000)
    pieces = [(1001 + 10 * i, bytes([65 + i]) * 10) for i in range(20)]
    events = []
    for seq, payload in reversed(pieces[1:]):
        events += r.add(c2s(seq, payload))
    assert data_of(events) == []
    events += r.add(c2s(*pieces[0]))
    assert stream_of(events) == b"".join(p for _, p in pieces)


def test_several_holes_fill_in_any_order():
    r = Reassembler()
    handshake(r, client_isn=0)
    events = []
    for start in (30, 10, 50, 0, 40, 20):
        events += r.add(c2s(1 + start, bytes(range(start, start + 10))))
    assert stream_of(events) == bytes(range(60))
    assert gaps_of(events + r.finish()) == []


def test_out_of_order_data_in_both_directions_is_kept_apart():
    r = Reassembler()
    handshake(r, client_isn=100, server_isn=900)
    events = r.add(c2s(104, b"DEF")) + r.add(s2c(904, b"def"))
    events += r.add(s2c(901, b"abc")) + r.add(c2s(101, b"ABC"))
    assert stream_of(events, "c2s") == b"ABCDEF"
    assert stream_of(events, "s2c") == b"abcdef"

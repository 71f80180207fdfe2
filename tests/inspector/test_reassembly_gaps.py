"""Bytes never captured are reported as a Gap with their range, never invented."""

from socketlab.inspector.events import Data, Gap
from socketlab.inspector.reassembly import Reassembler
from tests.inspector.tcp_helpers import ACK, FIN, c2s, data_of, gaps_of, handshake, s2c, stream_of


def test_finish_reports_the_hole_then_delivers_what_follows():
    r = Reassembler()
    handshake(r, client_isn=1000)
    events = r.add(c2s(1001, b"aaaa")) + r.add(c2s(1011, b"cccc"))
    end = r.finish()
    assert gaps_of(end) == [(4, 6)]
    assert data_of(end) == [(10, b"cccc")]
    kinds = [type(e) for e in end]
    assert kinds.index(Gap) < kinds.index(Data)  # the gap comes first
    assert stream_of(events) == b"aaaa"


def test_no_zero_bytes_are_invented():
    r = Reassembler()
    handshake(r, client_isn=0)
    events = r.add(c2s(1, b"ab")) + r.add(c2s(5, b"ef")) + r.finish()
    delivered = b"".join(d for _, d in data_of(events))
    assert delivered == b"abef"


def test_several_holes_are_each_reported():
    r = Reassembler()
    handshake(r, client_isn=0)
    r.add(c2s(1, b"a"))
    r.add(c2s(1 + 3, b"d"))
    r.add(c2s(1 + 6, b"g"))
    end = r.finish()
    assert gaps_of(end) == [(1, 2), (4, 2)]
    assert data_of(end) == [(3, b"d"), (6, b"g")]


def test_tail_lost_before_a_fin_is_a_gap():
    r = Reassembler()
    handshake(r, client_isn=0, server_isn=0)
    events = r.add(c2s(1, b"abc"))
    events += r.add(c2s(1 + 10, flags=FIN | ACK))  # bytes 3..9 never seen
    events += r.add(s2c(1, flags=FIN | ACK))
    events += r.finish()
    assert gaps_of(events) == [(3, 7)]


def test_tail_acknowledged_by_the_peer_but_not_captured_is_a_gap():
    r = Reassembler()
    handshake(r, client_isn=0, server_isn=0)
    r.add(c2s(1, b"abc"))
    r.add(s2c(1, flags=ACK, ack=1 + 8))  # the server got 8 bytes; we saw 3
    assert gaps_of(r.finish()) == [(3, 5)]


def test_full_out_of_order_buffer_gives_up_on_the_hole_and_stays_bounded():
    r = Reassembler(max_buffer=100)
    handshake(r, client_isn=0)
    events = r.add(c2s(1, b"x" * 10))
    for i in range(5):  # 5 x 30 bytes after a hole of 10
        events += r.add(c2s(1 + 20 + 30 * i, bytes([97 + i]) * 30))
    assert gaps_of(events) == [(10, 10)]
    assert data_of(events)[0] == (0, b"x" * 10)
    delivered = data_of(events)
    assert delivered[-1][0] + len(delivered[-1][1]) == 170  # everything after the hole
    assert r.finish()[-1].how == "capture_end"


def test_many_tiny_out_of_order_segments_are_bounded_too():
    r = Reassembler()
    handshake(r, client_isn=0)
    events = []
    for i in range(5000):  # one byte every other offset: a hole before each
        events += r.add(c2s(1 + 2 + 2 * i, b"z"))
    assert gaps_of(events)  # gave up rather than holding 5000 pieces
    assert all(isinstance(e, (Data, Gap)) for e in events)

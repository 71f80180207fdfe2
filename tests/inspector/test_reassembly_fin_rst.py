"""FIN and RST: a connection closes once, with how; stragglers open nothing new."""

from socketlab.inspector.events import Closed, Opened
from socketlab.inspector.reassembly import Reassembler
from tests.inspector.tcp_helpers import (
    ACK,
    FIN,
    RST,
    SYN,
    c2s,
    data_of,
    fin_both,
    gaps_of,
    handshake,
    s2c,
    stream_of,
)


def closes(events):
    return [e.how for e in events if isinstance(e, Closed)]


def test_closes_after_both_fins_once_all_data_is_delivered():
    r = Reassembler()
    events = handshake(r, client_isn=0, server_isn=0)
    events += r.add(c2s(1, b"bye", flags=FIN | ACK | 0))
    assert closes(events) == []  # half-closed: the server may still send
    events += r.add(s2c(1, b"ok"))
    events += r.add(s2c(3, flags=FIN | ACK, ts=7.0))
    assert closes(events) == ["fin"] and events[-1].ts == 7.0
    assert stream_of(events, "c2s") == b"bye" and stream_of(events, "s2c") == b"ok"


def test_fin_before_the_last_data_waits_for_it():
    r = Reassembler()
    handshake(r, client_isn=0, server_isn=0)
    r.add(s2c(1, flags=FIN | ACK))
    events = r.add(c2s(1 + 5, flags=FIN | ACK))  # FIN after 5 bytes not yet seen
    assert closes(events) == []
    events += r.add(c2s(1, b"12345"))
    assert stream_of(events) == b"12345" and closes(events) == ["fin"]


def test_bytes_past_the_fin_are_not_stream_data():
    r = Reassembler()
    handshake(r, client_isn=0, server_isn=0)
    events = r.add(c2s(1, b"ab", flags=FIN | ACK))
    events += r.add(c2s(1, b"abXYZ"))
    assert stream_of(events) == b"ab"


def test_rst_closes_at_once_and_flushes_with_gaps():
    r = Reassembler()
    handshake(r, client_isn=0, server_isn=0)
    r.add(c2s(1, b"ab"))
    r.add(c2s(1 + 4, b"ef"))
    events = r.add(s2c(1, flags=RST | ACK, ts=3.0))
    assert gaps_of(events) == [(2, 2)] and data_of(events) == [(4, b"ef")]
    assert closes(events) == ["rst"]
    assert r.finish() == []


def test_stragglers_after_close_open_nothing():
    r = Reassembler()
    handshake(r, client_isn=0, server_isn=0)
    fin_both(r, 1, 1)
    assert r.add(c2s(2, flags=ACK, ack=2)) == []  # the last ACK
    assert r.add(s2c(1, flags=FIN | ACK)) == []  # a retransmitted FIN
    assert r.add(c2s(2, flags=RST)) == []


def test_new_syn_on_a_closed_four_tuple_is_a_new_connection():
    r = Reassembler()
    first = handshake(r, client_isn=0, server_isn=0)[0].conn
    fin_both(r, 1, 1)
    events = r.add(c2s(90_000, flags=SYN))
    assert isinstance(events[0], Opened) and events[0].conn.index == first.index + 1


def test_new_syn_on_a_live_four_tuple_evicts_the_old_connection():
    r = Reassembler()
    handshake(r, client_isn=0, server_isn=0)
    r.add(c2s(1, b"x"))
    events = r.add(c2s(777, flags=SYN))
    assert closes(events) == ["evicted"] and isinstance(events[-1], Opened)


def test_finish_closes_open_connections_as_capture_end():
    r = Reassembler()
    handshake(r)
    end = r.finish()
    assert closes(end) == ["capture_end"]


def test_connection_limit_evicts_the_least_recently_active():
    r = Reassembler(max_connections=2)
    seg = c2s(1, b"a", flags=ACK)
    r.add(seg)
    other = seg.__class__(0.0, ("127.0.0.1", 52000), seg.dst, 1, 0, ACK, b"b")
    r.add(other)
    r.add(seg.__class__(0.0, seg.src, seg.dst, 2, 0, ACK, b"c"))  # first one is active again
    third = seg.__class__(0.0, ("127.0.0.1", 53000), seg.dst, 1, 0, ACK, b"d")
    events = r.add(third)
    evicted = [e for e in events if isinstance(e, Closed)]
    assert [e.conn.client[1] for e in evicted] == [52000] and evicted[0].how == "evicted"

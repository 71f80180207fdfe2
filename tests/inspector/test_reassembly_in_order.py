"""In-order segments: delivered at once, with offsets from the byte after the SYN."""

from socketlab.inspector.events import Closed, Connection, Data, Opened
from socketlab.inspector.reassembly import Reassembler
from tests.inspector.tcp_helpers import (
    ACK,
    CLIENT,
    SERVER,
    SYN,
    c2s,
    data_of,
    fin_both,
    handshake,
    s2c,
    stream_of,
)


def test_handshake_opens_one_connection_with_the_syn_sender_as_client():
    r = Reassembler()
    events = handshake(r)
    assert events == [Opened(Connection(CLIENT, SERVER, 0), 0.0, True)]


def test_each_in_order_segment_is_delivered_immediately_both_directions():
    r = Reassembler()
    handshake(r, client_isn=1000, server_isn=5000)
    first = r.add(c2s(1001, b"hello ", ts=1.0))
    assert first == [Data(Connection(CLIENT, SERVER, 0), "c2s", 0, b"hello ", 1.0)]
    events = r.add(c2s(1007, b"world", ts=2.0))
    events += r.add(s2c(5001, b"HI", ts=3.0))
    assert data_of(events, "c2s") == [(6, b"world")]
    assert data_of(events, "s2c") == [(0, b"HI")]


def test_pure_acks_deliver_nothing():
    r = Reassembler()
    handshake(r)
    assert r.add(c2s(1001, flags=ACK, ack=5001)) == []
    assert r.add(s2c(5001, flags=ACK, ack=1001)) == []


def test_capture_starting_mid_stream_counts_from_the_first_byte_seen():
    r = Reassembler()
    events = r.add(s2c(777_000, b"late", ts=5.0))  # no SYN: the higher port is the client
    assert events[0] == Opened(Connection(CLIENT, SERVER, 0), 5.0, False)
    events += r.add(s2c(777_004, b"r"))
    events += r.add(c2s(42, b"c"))
    assert stream_of(events, "s2c") == b"later"
    assert stream_of(events, "c2s") == b"c"


def test_syn_ack_first_makes_its_sender_the_server():
    r = Reassembler()
    events = r.add(s2c(5000, flags=SYN | ACK, ack=1001))
    assert events[0].conn.client == CLIENT and events[0].conn.server == SERVER


def test_a_whole_conversation_reassembles_and_closes():
    r = Reassembler()
    events = handshake(r)
    c_seq, s_seq = 1001, 5001
    for i in range(50):
        out, back = f"message {i};".encode(), f"reply {i};".encode()
        events += r.add(c2s(c_seq, out))
        events += r.add(s2c(s_seq, back))
        c_seq, s_seq = c_seq + len(out), s_seq + len(back)
    events += fin_both(r, c_seq, s_seq)
    assert stream_of(events, "c2s") == b"".join(f"message {i};".encode() for i in range(50))
    assert stream_of(events, "s2c") == b"".join(f"reply {i};".encode() for i in range(50))
    assert isinstance(events[-1], Closed) and events[-1].how == "fin"
    assert r.finish() == []

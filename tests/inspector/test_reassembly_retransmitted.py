"""Retransmitted segments deliver nothing twice; a changed copy is reported, the first kept."""

from socketlab.inspector.events import Conflict
from socketlab.inspector.reassembly import Reassembler
from tests.inspector.tcp_helpers import SYN, c2s, data_of, handshake, stream_of


def conflicts(events):
    return [(e.offset, e.length) for e in events if isinstance(e, Conflict)]


def test_exact_retransmission_of_delivered_data_is_silent():
    r = Reassembler()
    handshake(r, client_isn=1000)
    events = r.add(c2s(1001, b"hello"))
    assert r.add(c2s(1001, b"hello")) == []
    assert stream_of(events) == b"hello"


def test_retransmission_of_buffered_data_is_not_duplicated():
    r = Reassembler()
    handshake(r, client_isn=1000)
    events = r.add(c2s(1006, b"world")) + r.add(c2s(1006, b"world"))
    events += r.add(c2s(1001, b"hello"))
    assert data_of(events) == [(0, b"helloworld")]
    assert conflicts(events) == []


def test_retransmission_with_different_bytes_is_reported_and_first_copy_wins():
    r = Reassembler()
    handshake(r, client_isn=1000)
    events = r.add(c2s(1001, b"hello"))
    later = r.add(c2s(1001, b"HELLO", ts=4.0))
    assert conflicts(later) == [(0, 5)] and later[0].ts == 4.0
    assert data_of(later) == []
    assert stream_of(events) == b"hello"


def test_changed_copy_of_buffered_bytes_is_reported_and_first_copy_wins():
    r = Reassembler()
    handshake(r, client_isn=1000)
    events = r.add(c2s(1004, b"lo!"))
    events += r.add(c2s(1004, b"LO!"))
    events += r.add(c2s(1001, b"hel"))
    assert conflicts(events) == [(3, 3)]
    assert stream_of(events) == b"hello!"


def test_retransmission_extending_past_the_delivered_bytes_delivers_only_the_new_tail():
    r = Reassembler()
    handshake(r, client_isn=1000)
    events = r.add(c2s(1001, b"abc"))
    events += r.add(c2s(1001, b"abcdef"))
    assert data_of(events) == [(0, b"abc"), (3, b"def")]


def test_repeated_syn_does_not_open_a_second_connection():
    r = Reassembler()
    events = handshake(r, client_isn=1000)
    assert r.add(c2s(1000, flags=SYN)) == []
    assert len(events) == 1

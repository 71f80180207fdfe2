"""Overlapping segments: every byte is delivered once, from the first copy received."""

from socketlab.inspector.events import Conflict
from socketlab.inspector.reassembly import Reassembler
from tests.inspector.tcp_helpers import c2s, handshake, stream_of

TEXT = b"The quick brown fox jumps over the lazy dog"


def conflicts(events):
    return [(e.offset, e.length) for e in events if isinstance(e, Conflict)]


def test_segment_covering_two_buffered_pieces_fills_only_the_space_between():
    r = Reassembler()
    handshake(r, client_isn=0)
    events = r.add(c2s(1 + 10, TEXT[10:15])) + r.add(c2s(1 + 20, TEXT[20:25]))
    events += r.add(c2s(1 + 5, TEXT[5:30]))  # overlaps both, same bytes
    events += r.add(c2s(1, TEXT[:5]))
    events += r.add(c2s(1 + 30, TEXT[30:]))
    assert stream_of(events) == TEXT
    assert conflicts(events) == []


def test_overlap_with_different_bytes_keeps_the_first_and_reports_the_range():
    r = Reassembler()
    handshake(r, client_isn=0)
    events = r.add(c2s(1 + 10, b"AAAAA"))  # offsets 10..14, first copy
    events += r.add(c2s(1 + 8, b"xxBBBBByy"))  # offsets 8..16: 10..14 conflict
    events += r.add(c2s(1, b"01234567"))
    assert conflicts(events) == [(10, 5)]
    assert stream_of(events) == b"01234567xxAAAAAyy"


def test_overlap_partly_delivered_partly_new():
    r = Reassembler()
    handshake(r, client_isn=0)
    events = r.add(c2s(1, TEXT[:10]))
    events += r.add(c2s(1 + 6, TEXT[6:20]))
    assert stream_of(events) == TEXT[:20]


def test_overlap_with_delivered_bytes_that_differ_is_reported():
    r = Reassembler()
    handshake(r, client_isn=0)
    events = r.add(c2s(1, b"abcdef"))
    events += r.add(c2s(1 + 4, b"EFgh"))
    assert conflicts(events) == [(4, 2)]
    assert stream_of(events) == b"abcdefgh"


def test_conflicts_older_than_the_history_are_not_checked_but_nothing_breaks():
    r = Reassembler(history=4)
    handshake(r, client_isn=0)
    events = []
    for i in range(10):
        events += r.add(c2s(1 + 4 * i, b"%04d" % i))
    events += r.add(c2s(1, b"XXXX"))  # too old to compare: ignored
    assert conflicts(events) == []
    assert stream_of(events) == b"".join(b"%04d" % i for i in range(10))

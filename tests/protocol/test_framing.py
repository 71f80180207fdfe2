"""Framing: the same frames come out however the bytes are cut."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socketlab.protocol import (
    MAX_FRAME,
    FrameDecoder,
    LocalProtocolError,
    ProtocolError,
    encode_frame,
)

BODIES = [b"a", b'{"type":"who"}', bytes(range(256)) * 3, b"x" * MAX_FRAME]
STREAM = b"".join(encode_frame(b) for b in BODIES)


def feed_in_pieces(data: bytes, size: int) -> list[bytes]:
    decoder = FrameDecoder()
    out = []
    for i in range(0, len(data), size):
        out += decoder.feed(data[i : i + size])
    decoder.close()
    return out


def test_whole_stream_at_once():
    assert feed_in_pieces(STREAM, len(STREAM)) == BODIES


def test_byte_by_byte():
    assert feed_in_pieces(STREAM, 1) == BODIES


def test_coalesced_with_odd_cuts():
    for size in (2, 3, 5, 4096, 65539):
        assert feed_in_pieces(STREAM, size) == BODIES


def test_trailing_partial_frame_waits_then_truncates_on_close():
    decoder = FrameDecoder()
    assert decoder.feed(encode_frame(b"one") + b"\x00\x00\x00\x05ab") == [b"one"]
    assert decoder.buffered == 6
    with pytest.raises(ProtocolError) as err:
        decoder.close()
    assert err.value.code == "frame_truncated"


def test_length_zero_is_refused():
    with pytest.raises(ProtocolError) as err:
        FrameDecoder().feed(b"\x00\x00\x00\x00")
    assert err.value.code == "frame_empty"


def test_huge_length_is_refused_from_the_header_alone():
    decoder = FrameDecoder()
    with pytest.raises(ProtocolError) as err:
        decoder.feed(b"\xff\xff\xff\xff")
    assert err.value.code == "frame_too_large"
    assert decoder.buffered == 0


def test_limit_is_configurable():
    decoder = FrameDecoder(max_size=10)
    assert decoder.feed(encode_frame(b"0123456789", max_size=10)) == [b"0123456789"]
    with pytest.raises(ProtocolError):
        decoder.feed(b"\x00\x00\x00\x0b")


def test_encoder_refuses_what_the_decoder_would():
    for body in (b"", b"x" * (MAX_FRAME + 1)):
        with pytest.raises(LocalProtocolError):
            encode_frame(body)


@given(st.lists(st.binary(min_size=1, max_size=300), max_size=20), st.integers(1, 700))
def test_any_bodies_any_cut(bodies, size):
    stream = b"".join(encode_frame(b) for b in bodies)
    assert feed_in_pieces(stream, size) == bodies


@given(st.binary(max_size=2000))
def test_random_bytes_raise_only_protocol_errors(data):
    decoder = FrameDecoder(max_size=512)
    try:
        decoder.feed(data)
        decoder.close()
    except ProtocolError:
        pass


@given(st.lists(st.binary(min_size=1, max_size=300), max_size=20), st.integers(1, 700))
def test_feed_wire_gives_each_frame_as_sent_and_its_body(bodies, size):
    """Whole, byte by byte or coalesced: the frame bytes and body ``feed`` would give."""
    stream = b"".join(encode_frame(b) for b in bodies)
    decoder = FrameDecoder()
    got = []
    for i in range(0, len(stream), size):
        got += decoder.feed_wire(stream[i : i + size])
    assert got == [(encode_frame(b), b) for b in bodies]


def test_feed_wire_one_whole_frame_while_another_is_held():
    decoder = FrameDecoder()
    assert decoder.feed_wire(b"\x00\x00\x00\x05ab") == []
    # Exactly one frame's length, but it continues the held frame: not a frame of its own.
    assert decoder.feed_wire(encode_frame(b"c")) == [(b"\x00\x00\x00\x05ab\x00\x00\x00",
                                                      b"ab\x00\x00\x00")]
    assert decoder.buffered == 2


@pytest.mark.parametrize(("wire", "code"), [(b"\x00\x00\x00\x00", "frame_empty"),
                                            (b"\x00\x00\x00\x0bx" + bytes(10), "frame_too_large")])
def test_feed_wire_refuses_what_feed_refuses(wire, code):
    decoder = FrameDecoder(max_size=10)
    with pytest.raises(ProtocolError) as err:
        decoder.feed_wire(wire)
    assert err.value.code == code and decoder.buffered == 0

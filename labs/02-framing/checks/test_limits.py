"""Step 2: lengths that are not allowed are refused from the 4-byte header alone."""

import pytest

from socketlab.labs.harness import _


@pytest.fixture
def reader(framing):
    return framing.FrameReader(None)


def _refused(framing, reader, buffer: bytes) -> tuple[bool, object]:
    reader.buffer = buffer
    try:
        return False, reader.take_frame()
    except framing.FrameError:
        return True, None


def test_zero_length_refused(framing, reader):
    """a length of 0 is refused with FrameError"""
    refused, got = _refused(framing, reader, b"\x00\x00\x00\x00\x00\x00\x00\x05hello")
    assert refused, _(
        "the header 00 00 00 00 gave {got!r} instead of raising FrameError: a frame must have "
        "a body (a length of 0 is a broken or hostile sender) — README step 2").format(got=got)


def test_oversize_refused_from_the_header(framing, reader):
    """a length over 64 KiB is refused with FrameError as soon as the 4-byte header is in"""
    refused, got = _refused(framing, reader, b"\x00\x01\x00\x01")
    assert refused, _(
        "the header 00 01 00 01 (65,537) gave {got!r} instead of raising FrameError: check the "
        "length against MAX_FRAME as soon as the header is in — waiting for the body would let "
        "a sender make you hold 4 GB (ff ff ff ff) — README step 2").format(got=got)


def test_largest_frame_accepted(framing, reader):
    """a frame of exactly 64 KiB (65,536 bytes) is allowed"""
    body = bytes(range(256)) * 256
    refused, got = _refused(framing, reader, b"\x00\x01\x00\x00" + body)
    assert not refused, _(
        "a frame of exactly MAX_FRAME (65,536) bytes was refused: only MORE than MAX_FRAME is "
        "too long (> not >=) — README step 2")
    assert got == body, _("a 65,536-byte frame gave {got} — README step 2").format(
        got=None if got is None else _("{size:,} bytes").format(size=len(got)))

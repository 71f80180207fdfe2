"""Step 2: take_frame() takes one whole frame out of the buffer, and keeps the rest."""

import pytest

from socketlab.labs.harness import _

MAX_FRAME = 64 * 1024


@pytest.fixture
def reader(framing):
    """A FrameReader whose buffer the checks fill by hand (no socket needed)."""
    return framing.FrameReader(None)


@pytest.fixture
def take(framing, reader):
    """``take()``: the student's take_frame() on good frames; a FrameError says why it is wrong.

    A good header read the wrong way round (little-endian) is the likely cause
    when the student's error names the swapped length, or that length is too big."""
    def call():
        header = reader.buffer[:4]
        try:
            return reader.take_frame()
        except framing.FrameError as error:
            big, little = int.from_bytes(header, "big"), int.from_bytes(header, "little")
            named = str(little) in str(error).replace(",", "").replace("_", "")
            backwards = little != big and (named or little > MAX_FRAME)
            hint = _(
                "take_frame() raised FrameError ({error}) on a good frame: its header {header} "
                "means {big:,} bytes, but read little-endian it is {little:,} — little-endian? "
                "the length is big-endian ('>I'): int.from_bytes(self.buffer[:4], 'big') — "
                "README step 2") if backwards else _(
                "take_frame() raised FrameError ({error}) on a good frame: its header {header} "
                "means {big:,} bytes — README step 2")
            raise AssertionError(hint.format(
                error=error, header=header.hex(" "), big=big, little=little)) from None
    return call


def test_whole_frame(reader, take):
    """take_frame() returns the body of a whole frame and leaves the buffer empty"""
    reader.buffer = b"\x00\x00\x00\x05hello"
    body = take()
    assert body == b"hello", _(
        "the buffer held 00 00 00 05 hello and take_frame() returned {body!r}, not b'hello': "
        "the first 4 bytes are the length, the next 5 the body — README step 2").format(body=body)
    assert reader.buffer == b"", _(
        "after take_frame() the buffer still holds {buffer!r}: remove the frame you "
        "returned (self.buffer = self.buffer[4 + length:]) — README step 2").format(
        buffer=reader.buffer)


def test_incomplete_frame(reader, take):
    """take_frame() returns None while the header or the body is incomplete, and keeps the bytes"""
    for partial in (b"\x00\x00", b"\x00\x00\x00\x05hel"):
        reader.buffer = partial
        body = take()
        assert body is None, _(
            "the buffer held only {partial!r} and take_frame() returned {body!r}: with fewer "
            "than 4 + length bytes the frame is not complete yet — return None, and recv more "
            "— README step 2").format(partial=partial, body=body)
        assert reader.buffer == partial, _(
            "take_frame() returned None but changed the buffer from {partial!r} to "
            "{buffer!r}: keep the bytes, the rest of the frame is still to come — "
            "README step 2").format(partial=partial, buffer=reader.buffer)


def test_keeps_the_next_frame(reader, take):
    """take_frame() returns the first of two frames and keeps the second in the buffer"""
    reader.buffer = b"\x00\x00\x00\x03one\x00\x00\x00\x03two\x00\x00"
    first = take()
    assert first == b"one", _(
        "the first frame's body is b'one', take_frame() returned {first!r}").format(first=first)
    assert reader.buffer == b"\x00\x00\x00\x03two\x00\x00", _(
        "after the first frame the buffer holds {buffer!r}, not "
        "b'\\x00\\x00\\x00\\x03two\\x00\\x00': the bytes after a frame are the start of the next "
        "one — one recv() often brings several frames; keep them — README step 2").format(
        buffer=reader.buffer)
    second = take()
    assert second == b"two", _(
        "the second frame's body is b'two', take_frame() returned {second!r}").format(second=second)


def test_length_read_big_endian(framing, reader):
    """take_frame() reads the length big-endian: 00 00 01 2c means 300 bytes"""
    body = bytes(range(256)) + b"x" * 44
    reader.buffer = b"\x00\x00\x01\x2c" + body
    try:
        taken = reader.take_frame()
    except framing.FrameError as error:
        raise AssertionError(_(
            "take_frame() raised FrameError ({error}) for the header 00 00 01 2c "
            "and a 300-byte body: the length is big-endian, the most significant byte first — "
            "int.from_bytes(self.buffer[:4], 'big') — README step 2").format(error=error)) from None
    assert taken == body, _(
        "the header 00 00 01 2c (300 = 1 × 256 + 44) and a 300-byte body gave "
        "{got}: read the length big-endian, "
        "int.from_bytes(self.buffer[:4], 'big') — README step 2").format(
        got=None if taken is None else _("{size} bytes").format(size=len(taken)))

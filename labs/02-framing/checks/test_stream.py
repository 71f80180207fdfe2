"""Step 3: read_frame() returns whole frames however TCP cuts or merges the bytes.

Between the checks' writer and your reader sits the inspector's proxy
(socketlab.inspector.proxy), which delivers the bytes in other pieces than they
were sent — on purpose and every time, as a real network may.
"""

import socket

from socketlab.labs import harness
from socketlab.labs.harness import _


def _frames(bodies):
    return b"".join(len(body).to_bytes(4, "big") + body for body in bodies)


def test_frames_split_byte_by_byte(framing, through_proxy, read_frames):
    """frames that arrive one byte per recv() come out whole"""
    bodies = [b"hello, frames", b"one byte at a time"]
    with through_proxy(chunk=1) as (writer, reader_sock):
        writer.sendall(_frames(bodies))
        got = read_frames(framing.FrameReader(reader_sock), len(bodies))
    assert got == bodies, _(
        "the proxy delivered {bodies!r} one byte per recv(), and read_frame() returned {got!r}: "
        "one recv() is not one message — recv() in a loop, adding to self.buffer, until "
        "take_frame() has a whole frame — README step 3").format(bodies=bodies, got=got)


def test_merged_frames(framing, through_proxy, read_frames):
    """three frames that arrive together, in one recv(), come out as three"""
    bodies = [b"first", b"second", b"third"]
    with through_proxy(merge=3) as (writer, reader_sock):
        for body in bodies:
            writer.sendall(_frames([body]))
        got = read_frames(framing.FrameReader(reader_sock), len(bodies), timeout=2)
    assert got == bodies, _(
        "the proxy delivered three frames in one piece, and read_frame() returned {got!r}: "
        "the bytes after a frame are the next frames — keep them in self.buffer, and try "
        "take_frame() before calling recv() again — README steps 2 and 3").format(got=got)


def test_random_cuts(framing, through_proxy, read_frames):
    """eight frames cut at random places (1 to 7 bytes a piece) come out whole, in order"""
    bodies = [f"message {n}: ".encode() + b"~" * (n * 2) for n in range(8)]
    with through_proxy(chunk="random") as (writer, reader_sock):
        writer.sendall(_frames(bodies))
        got = read_frames(framing.FrameReader(reader_sock), len(bodies))
    wrong = next((n for n, (a, b) in enumerate(zip(bodies, got, strict=True)) if a != b), None)
    assert wrong is None, _(
        "frames cut into pieces of 1 to 7 bytes (headers too): frame {wrong} came out as "
        "{got!r}, not {expected!r} — a header can be split across two recv()s, "
        "and one recv() can hold the end of a frame and the start of the next — README step 3"
    ).format(wrong=wrong, got=got[wrong], expected=bodies[wrong])


def test_long_frame(framing, through_proxy, read_frames):
    """a 10,000-byte frame that arrives in pieces of 1,000 bytes comes out whole"""
    body = bytes(range(250)) * 40
    with through_proxy(chunk=1000) as (writer, reader_sock):
        writer.sendall(_frames([body]))
        [got] = read_frames(framing.FrameReader(reader_sock), 1)
    assert got == body, _(
        "a 10,000-byte frame came in pieces of 1,000 bytes, and read_frame() returned "
        "{got}: keep calling recv() until the whole body is in — README step 3").format(
        got=None if got is None else _("{size:,} bytes").format(size=len(got)))


def test_clean_close(framing, through_proxy, read_frames):
    """read_frame() returns None when the sender closes between two frames"""
    with through_proxy() as (writer, reader_sock):
        writer.sendall(_frames([b"last words"]))
        writer.shutdown(socket.SHUT_WR)  # "I am done sending": the reader's recv() gets b""
        reader = framing.FrameReader(reader_sock)
        got = read_frames(reader, 1)
        assert got == [b"last words"], _(
            "read_frame() returned {got!r}, not b'last words'").format(got=got)
        end = harness.call_with_timeout(reader.read_frame, timeout=2)
    assert end is None, _(
        "the sender closed after a whole frame, and read_frame() returned {end!r}: recv() "
        "returning b'' with an empty buffer is a clean end — return None — README step 3"
    ).format(end=end)


def test_stream_ends_inside_a_frame(framing, through_proxy):
    """read_frame() raises FrameError when the sender closes in the middle of a frame"""
    with through_proxy() as (writer, reader_sock):
        writer.sendall(b"\x00\x00\x00\x0ahalf")  # 10 bytes announced, 4 sent
        writer.shutdown(socket.SHUT_WR)
        reader = framing.FrameReader(reader_sock)
        try:
            got = harness.call_with_timeout(reader.read_frame, timeout=2)
        except framing.FrameError:
            return
    raise AssertionError(_(
        "the sender announced 10 bytes, sent 4 and closed, and read_frame() returned {got!r} "
        "instead of raising FrameError: recv() returning b'' while the buffer holds part of a "
        "frame means the frame was cut off — README step 3").format(got=got))

"""Step 1: encode_frame() puts a 4-byte big-endian length in front of the body."""

from socketlab.labs.harness import _


def test_hello_frame(framing):
    """encode_frame(b"hello") is 00 00 00 05 and then the 5 bytes of hello"""
    frame = framing.encode_frame(b"hello")
    backwards = frame == b"\x05\x00\x00\x00hello"
    assert frame == b"\x00\x00\x00\x05hello", (_(
        "encode_frame(b'hello') returned {frame!r}, not b'\\x00\\x00\\x00\\x05hello': "
        "the length is little-endian (05 00 00 00), the least significant byte first; "
        "the network's order is big-endian — struct.pack('>I', n) or n.to_bytes(4, 'big') "
        "— README step 1") if backwards else _(
        "encode_frame(b'hello') returned {frame!r}, not b'\\x00\\x00\\x00\\x05hello': "
        "4 bytes of length (5), then the body itself — README step 1")).format(frame=frame)


def test_length_is_big_endian(framing):
    """the length is big-endian: a 300-byte body starts with 00 00 01 2c"""
    frame = framing.encode_frame(b"x" * 300)
    assert frame[:4] == b"\x00\x00\x01\x2c" and frame[4:] == b"x" * 300, _(
        "a 300-byte body got the header {header}, not 00 00 01 2c (300 = 1 × 256 + "
        "44): the most significant byte goes first — len(body).to_bytes(4, 'big') — README "
        "step 1").format(header=frame[:4].hex(" "))


def test_bad_bodies_refused(framing):
    """encode_frame() refuses an empty body and one over 64 KiB with FrameError"""
    for size in (0, 64 * 1024 + 1):
        try:
            frame = framing.encode_frame(b"x" * size)
        except framing.FrameError:
            continue
        raise AssertionError(_(
            "encode_frame() of a {size:,}-byte body returned {length:,} bytes instead of "
            "raising FrameError: a body must be 1 to MAX_FRAME (65,536) bytes — README step 1"
        ).format(size=size, length=len(frame)))
    largest = framing.encode_frame(b"x" * 64 * 1024)
    assert largest[:4] == b"\x00\x01\x00\x00", _(
        "encode_frame() of a 65,536-byte body gave the header {header}: exactly "
        "MAX_FRAME bytes is allowed, and its header is 00 01 00 00 — README step 1").format(
        header=largest[:4].hex(" "))

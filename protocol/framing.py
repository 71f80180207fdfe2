"""Length-prefixed frames: TCP is a byte stream, so we mark where messages end.

A frame is a 4-byte unsigned big-endian length L, then L bytes of body.
``FrameDecoder`` is sans-I/O (in the style of h11): feed it whatever bytes
arrived, in whatever pieces, and it hands back whole bodies.
"""

from __future__ import annotations

import struct

from .errors import LocalProtocolError, ProtocolError

HEADER_SIZE = 4
MAX_FRAME = 64 * 1024
_HEADER = struct.Struct(">I")


def encode_frame(body: bytes, max_size: int = MAX_FRAME) -> bytes:
    """Prefix ``body`` with its length."""
    if not 0 < len(body) <= max_size:
        raise LocalProtocolError(
            "frame_too_large" if body else "frame_empty",
            f"a frame body must be 1..{max_size} bytes, not {len(body)}",
        )
    return _HEADER.pack(len(body)) + body


class FrameDecoder:
    """Turns a byte stream into frame bodies, enforcing the size limit."""

    def __init__(self, max_size: int = MAX_FRAME) -> None:
        self.max_size = max_size
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes held that do not yet make a whole frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data`` and return every frame body it completes, in order."""
        self._buffer += data
        bodies: list[bytes] = []
        start = 0
        buf = self._buffer
        while len(buf) - start >= HEADER_SIZE:
            (length,) = _HEADER.unpack_from(buf, start)
            # Checked before waiting for (or allocating) the body: a peer cannot
            # make us hold 4 GiB by announcing it.
            if length == 0:
                buf.clear()  # after an error the stream is unusable: drop it
                raise ProtocolError("frame_empty", "a frame of length 0 is not allowed")
            if length > self.max_size:
                buf.clear()
                raise ProtocolError(
                    "frame_too_large",
                    f"frame of {length} bytes exceeds the maximum of {self.max_size}",
                )
            end = start + HEADER_SIZE + length
            if len(buf) < end:
                break
            bodies.append(bytes(buf[start + HEADER_SIZE : end]))
            start = end
        del buf[:start]
        return bodies

    def feed_wire(self, data: bytes) -> list[tuple[bytes, bytes]]:
        """``feed``, each frame given whole as well: ``(header and body, body)``.

        For a reader that shows the bytes on the wire (the inspector). When
        ``data`` is exactly one frame and nothing is held, the usual case in a
        capture (one segment, one frame), no buffer is touched.
        """
        if not self._buffer and len(data) > HEADER_SIZE:
            (length,) = _HEADER.unpack_from(data)
            if len(data) == HEADER_SIZE + length and length <= self.max_size:
                return [(data, data[HEADER_SIZE:])]
        return [(_HEADER.pack(len(body)) + body, body) for body in self.feed(data)]

    def close(self) -> None:
        """Signal end of stream; a partial frame left over is an error."""
        if self._buffer:
            held = len(self._buffer)
            self._buffer.clear()
            raise ProtocolError(
                "frame_truncated", f"the stream ended inside a frame ({held} bytes held)"
            )

"""Lab 02 · framing: messages over a byte stream, each one with its length in front.

A frame is a 4-byte length — unsigned, big-endian (the most significant byte
first) — followed by exactly that many bytes, the body:

    00 00 00 05 68 65 6c 6c 6f        the message b"hello"
    └─length──┘ └─── body ───┘

message_server.py and message_client.py both use this file.
"""

import socket

HEADER_SIZE = 4  # bytes of length in front of every body
MAX_FRAME = 64 * 1024  # the longest body allowed: 65,536 bytes (64 KiB)
CHUNK = 4096  # the most bytes one recv() may return — a frame can be longer, or arrive in pieces


class FrameError(Exception):
    """The bytes are not a valid frame: a length of 0, a length over MAX_FRAME,
    or a stream that ended in the middle of a frame.

    After a frame error nobody knows where the next frame starts, so the only
    safe thing to do is to close the connection.
    """


def encode_frame(body: bytes) -> bytes:
    """Return body with its length in front: 4 bytes, unsigned, big-endian.

    - encode_frame(b"hello") == b"\\x00\\x00\\x00\\x05hello"
    - len(body).to_bytes(4, "big") makes the 4 bytes (struct.pack(">I", len(body)) too).
    - An empty body, or one longer than MAX_FRAME, is not a valid frame: raise FrameError.
    """
    raise NotImplementedError('TODO(lab 02.1): raise FrameError for an empty or too long body; return the 4-byte big-endian length + body')


class FrameReader:
    """Reads whole frames from a socket, however the bytes arrive.

    One recv() may return part of a frame (even part of its 4-byte header),
    several frames at once, or the end of one frame and the start of the next.
    The reader keeps the bytes it has received but not yet handed out in
    self.buffer, and hands out one frame at a time.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""  # received, not yet returned: the start of the next frame(s)

    def take_frame(self) -> bytes | None:
        """Take the first whole frame out of self.buffer and return its body.

        - Fewer than 4 bytes in the buffer: return None (the header is not complete yet).
        - The length is the first 4 bytes, big-endian: int.from_bytes(self.buffer[:4], "big").
        - A length of 0, or over MAX_FRAME: raise FrameError at once. Decide from the
          4-byte header alone — never wait for a body that is too long to be allowed.
        - Fewer than 4 + length bytes: return None (the body is not complete yet).
        - Otherwise return the body, and KEEP everything after it in self.buffer:
          those bytes are the start of the next frame.
        """
        raise NotImplementedError('TODO(lab 02.2): None until the buffer holds a whole frame; FrameError for length 0 or > MAX_FRAME; return the body, keep the rest in self.buffer')

    def read_frame(self) -> bytes | None:
        """Return the body of the next frame, calling recv() as many times as it takes.

        - In a loop: when take_frame() has a frame, return it; otherwise
          self.sock.recv(CHUNK) and add what came to the end of self.buffer.
        - recv() returning b"" means the sender has closed. If the buffer is
          empty, that is a clean end between frames: return None. If not, the
          stream ended in the middle of a frame: raise FrameError.
        """
        raise NotImplementedError('TODO(lab 02.3): loop: return take_frame() once it has a frame, else recv(CHUNK) into the buffer; b"" gives None between frames, FrameError inside one')

"""Labs 01–02, working: messages over a TCP byte stream, each with its length in front.

GIVEN — you do not change this file in lab 03 (lab 02 is where you write it).

A frame is a 4-byte length (unsigned, big-endian) followed by that many bytes
of body. TCP may split one frame over several recv() calls or merge several
frames into one, so the receiver reads exactly 4 bytes, then exactly the body.
"""

import socket
import struct

HEADER = struct.Struct("!I")  # 4 bytes, unsigned, big-endian ("network order")
MAX_BODY = 65536  # the largest body a frame may carry


def send_frame(sock: socket.socket, body: bytes) -> None:
    """Send body as one frame: its length, then the bytes (all of them: sendall)."""
    if not 0 < len(body) <= MAX_BODY:
        raise ValueError(f"a frame body must be 1 to {MAX_BODY} bytes, not {len(body)}")
    sock.sendall(HEADER.pack(len(body)) + body)


def recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    """Exactly size bytes; None if the peer closed before the first byte.

    A close in the middle raises ConnectionError: the bytes so far are half a frame.
    """
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            if not data:
                return None
            raise ConnectionError(f"the peer closed after {len(data)} of {size} bytes")
        data += chunk
    return bytes(data)


def recv_frame(sock: socket.socket) -> bytes | None:
    """The next frame's body, or None when the peer closed cleanly between frames.

    Raises ValueError for a length of 0 or above MAX_BODY (refused before
    reading the body), ConnectionError for a close in the middle of a frame.
    """
    header = recv_exactly(sock, HEADER.size)
    if header is None:
        return None
    (length,) = HEADER.unpack(header)
    if not 0 < length <= MAX_BODY:
        raise ValueError(f"a frame announced {length} bytes (allowed: 1 to {MAX_BODY})")
    body = recv_exactly(sock, length)
    if body is None:
        raise ConnectionError("the peer closed between a frame's header and its body")
    return body

"""What a TCP stream speaks, from its first bytes: raw bytes, frames, or socketlab.

The early labs do not speak the chat protocol yet: lab 01's echo sends bare
bytes, labs 02–03 length-prefixed frames (4-byte big-endian length, then the
body), and from lab 04 on the programs speak socketlab. ``socketlab
sniff|read|proxy`` show each connection the way it speaks, picked by
``classify`` from the first bytes one side sent (``--as`` overrides it):

- ``socketlab``: the first frame's body decodes as a socketlab message
  (normally the client's ``hello``), or is a sealed body (a nonce with its
  direction byte and counter): the capture began after the handshake;
- ``frames``: the bytes split into a plausible frame (a length of 1 up to
  ``max_frame``) whose body is not a socketlab message;
- ``raw``: anything else, e.g. lab 01's ``hello\\n``, whose first 4 bytes
  are text, not a frame length.

Framing goes through ``protocol.FrameDecoder``: ``protocol/`` is the only code
that knows the bytes on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from socketlab.protocol import (
    HEADER_SIZE,
    MAX_FRAME,
    FrameDecoder,
    ProtocolError,
    decode_message,
    parse_sealed,
)

View = Literal["raw", "frames", "socketlab"]
VIEWS: tuple[View, ...] = ("raw", "frames", "socketlab")


LATE = "sealed frames; the handshake happened before the capture started"


@dataclass(frozen=True, slots=True)
class Verdict:
    """How to show a connection, and why (one sentence, for people)."""

    view: View
    reason: str


def classify(first: bytes, max_frame: int = MAX_FRAME) -> Verdict | None:
    """The view for a stream whose first bytes (one direction, from its start) are
    ``first``; ``None`` while they are too few to tell (less than one whole frame)."""
    try:
        bodies = FrameDecoder(max_frame).feed(first)
    except ProtocolError:
        return Verdict("raw", _not_a_length(first))
    if not bodies:
        return None
    try:
        message = decode_message(bodies[0])
    except ProtocolError:
        if is_sealed(bodies[0]):
            return Verdict("socketlab", LATE)
        return Verdict("frames", f"the first {len(bodies[0])}-byte frame is not a socketlab "
                                 "message")
    return Verdict("socketlab", f"the first frame is a socketlab {message.TYPE!r}")


def is_sealed(body: bytes) -> bool:
    """Whether ``body`` is laid out as a sealed frame: a nonce with a direction
    byte, zero padding and a counter, a MAC, then ciphertext."""
    try:
        return parse_sealed(body).direction != "?"
    except ProtocolError:
        return False


def _not_a_length(first: bytes) -> str:
    head = first[:HEADER_SIZE]
    if all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        text = first[:24].split(b"\n")[0].decode("utf-8", "replace")
        return f'it starts with text ("{text}"), not with a 4-byte length'
    return f"its first 4 bytes ({head.hex(' ')}) are not a usable frame length"

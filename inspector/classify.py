"""What a TCP stream speaks, from its first bytes: raw bytes, frames, or socketlab.

The early labs do not speak the chat protocol yet: lab 01's echo sends bare
bytes, labs 02–03 length-prefixed frames (4-byte big-endian length, then the
body), and from lab 04 on the programs speak socketlab. ``socketlab
sniff|read|proxy`` show each connection the way it speaks, picked by
``classify`` from the first bytes one side sent (``--as`` overrides it):

- ``socketlab``: the first frame's body decodes as a socketlab message
  (normally the client's ``hello``);
- ``frames``: the bytes split into a plausible frame (a length of 1 up to
  ``max_frame``) whose body is not a socketlab message;
- ``raw``: anything else, e.g. ``hello\\n``, whose first 4 bytes would
  announce a frame of 1.7 GB.

Framing goes through ``protocol.FrameDecoder``: ``protocol/`` is the only code
that knows the bytes on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from socketlab.protocol import MAX_FRAME, FrameDecoder, ProtocolError, decode_message

View = Literal["raw", "frames", "socketlab"]
VIEWS: tuple[View, ...] = ("raw", "frames", "socketlab")


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
    except ProtocolError as exc:
        return Verdict("raw", f"the first 4 bytes ({first[:4].hex(' ')}) are not a frame "
                              f"length ({exc.message})")
    if not bodies:
        return None
    try:
        message = decode_message(bodies[0])
    except ProtocolError:
        return Verdict("frames", f"the first {len(bodies[0])}-byte frame is not a socketlab "
                                 "message")
    return Verdict("socketlab", f"the first frame is a socketlab {message.TYPE!r}")

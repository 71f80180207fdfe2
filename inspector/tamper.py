"""The proxy's tamper modes: the attacks that nonces with direction and counter stop.

Each changes ONE frame (two for ``reorder``) of a session, counted from the
end of the handshake: ``frame=1`` is the first frame after the plaintext
hello (in a box session, the first sealed frame). The ``victim`` is the side
that receives the tampered frame:

==========  ==================================================  ===================
mode        what the victim receives                            a correct victim
==========  ==================================================  ===================
replay      frame N of its peer twice                           ``replayed``
reorder     frames N+1 and N of its peer, swapped               ``reordered``
reflect     its OWN frame N, sent back to it (its peer never    ``reflected``
            gets that frame)
flip        frame N of its peer with one bit flipped (a seeded  ``decrypt_failed``
            random bit of the body, never of the length, so
            the frame is still delimited)
==========  ==================================================  ===================

(A correct receiver refuses with the protocol's code, answers with an
``error`` of that code and closes.) ``FrameTamper`` is sans-I/O and sees one
direction's bytes: it delimits frames through ``protocol.FrameDecoder``,
forwards whole frames only, and says what it did. With ``mode=None`` it only
keeps the stream aligned on frames, so a reflected frame can be slipped in
between two frames of the other direction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from socketlab.protocol import HEADER_SIZE, MAX_FRAME, FrameDecoder, ProtocolError, encode_frame

from .errors import ProxyError
from .events import TamperKind

TAMPER_KINDS: tuple[TamperKind, ...] = ("replay", "reorder", "reflect", "flip")
Victim = Literal["server", "client"]
_ORDINAL = {1: "st", 2: "nd", 3: "rd"}


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else _ORDINAL.get(n % 10, 'th')}"


@dataclass(frozen=True, slots=True)
class Done:
    """What was done: to frame ``frame_no`` (the view's numbering: the handshake is #1)."""

    frame_no: int
    kind: TamperKind
    what: str


@dataclass(slots=True)
class TamperStep:
    forward: bytes = b""  # on to where the bytes were going
    back: bytes = b""  # to the side they came from (reflect)
    done: list[Done] = field(default_factory=list)


def check_options(mode: str | None, frame: int) -> None:
    """Raise ``ProxyError("bad_option")`` unless ``mode`` and ``frame`` can be used."""
    if mode is not None and mode not in TAMPER_KINDS:
        raise ProxyError("bad_option", f"tamper must be one of {', '.join(TAMPER_KINDS)}")
    if frame < 1:
        raise ProxyError("bad_option", f"frame counts from 1 after the handshake, not {frame}")


class FrameTamper:
    """One direction's frames: pass them on, and tamper with the ``frame``-th after
    the handshake. ``sender`` names who sends this direction ("client"/"server")."""

    def __init__(self, mode: TamperKind | None, frame: int, sender: Victim,
                 rng: random.Random) -> None:
        check_options(mode, frame)
        self.mode = mode
        self.frame = frame
        self.sender = sender
        self._rng = rng
        self._frames = FrameDecoder(MAX_FRAME)
        self._pending = bytearray()  # fed, not yet a whole frame: the decoder's buffer
        self._seen = 0  # frames so far, the handshake included
        self._held: bytes | None = None  # reorder: frame N, until N+1 comes
        self._finished = False  # the tampering is done
        self._passthrough = False  # bytes go on unparsed: done, or no frames to find

    def feed(self, data: bytes) -> TamperStep:
        if self._passthrough:
            return TamperStep(forward=data)
        self._pending += data
        try:
            bodies = self._frames.feed(data)
        except ProtocolError:
            # Not frames: stop looking, and pass on everything held, untouched.
            self._passthrough = True
            rest = self._release() + bytes(self._pending)
            self._pending.clear()
            return TamperStep(forward=rest)
        step = TamperStep()
        out = bytearray()
        for body in bodies:
            self._seen += 1
            wire = encode_frame(body, MAX_FRAME)
            del self._pending[: len(wire)]
            out += self._one(wire, step)
        step.forward = bytes(out)
        # Once done, bytes need no parsing (except to keep frames whole for a reflect).
        self._passthrough = self._finished and not self._pending
        return step

    def flush(self) -> bytes:
        """The stream ends: what is still held (a reorder that never got frame N+1,
        the start of a frame that never ended)."""
        out = self._release() + bytes(self._pending)
        self._pending.clear()
        return out

    def _release(self) -> bytes:
        held, self._held = self._held or b"", None
        return held

    def _one(self, wire: bytes, step: TamperStep) -> bytes:
        after = self._seen - 1  # frames after the handshake
        if self.mode is None or self._finished or after < self.frame:
            return wire
        arrow = "client → server" if self.sender == "client" else "server → client"
        label = f"{arrow} frame #{self._seen} (the {ordinal(after)} after the handshake)"
        if self.mode == "reorder":
            if self._held is None:  # frame N: hold it until N+1 comes
                self._held = wire
                return b""
            self._finished = True
            step.done.append(Done(self._seen - 1, "reorder",
                                  f"{label} delivered before frame #{self._seen - 1}"))
            return wire + self._release()
        self._finished = True
        if self.mode == "replay":
            step.done.append(Done(self._seen, "replay", f"{label} delivered twice"))
            return wire + wire
        if self.mode == "reflect":
            step.back += wire
            step.done.append(Done(self._seen, "reflect",
                                  f"{label} sent back to the {self.sender} instead"))
            return b""
        bit = self._rng.randrange((len(wire) - HEADER_SIZE) * 8)
        flipped = bytearray(wire)
        flipped[HEADER_SIZE + bit // 8] ^= 1 << (bit % 8)
        step.done.append(Done(self._seen, "flip",
                              f"{label}: bit {bit % 8} of body byte {bit // 8} flipped"))
        return bytes(flipped)

"""The encrypted channel: PyNaCl's Box plus the nonce discipline Box lacks.

Box (X25519 + XSalsa20-Poly1305) is stateless: it happily decrypts a frame
twice, out of order, or sent back to its own author (both directions share
one key). So the nonce carries a direction and a counter, and a receiver
accepts only the next counter of the other direction.

Nonce (24 bytes): byte 0 is the sender's direction, ``C`` (0x43) for
client → server or ``S`` (0x53) for server → client; bytes 1..15 are zero;
bytes 16..23 are a big-endian 64-bit counter starting at 0.
A sealed body is ``nonce || MAC (16) || ciphertext``.

The plaintext inside is one or more *inner frames* (4-byte length, then a
JSON body), so a sender may seal a batch of messages at once: one nonce, one
MAC and one encryption for many messages.
"""

from __future__ import annotations

import struct
from typing import Any, Literal, NamedTuple

from nacl._sodium import ffi, lib  # type: ignore[import-not-found]  # compiled, no stub
from nacl.bindings import sodium_init

from .errors import LocalProtocolError, ProtocolError
from .framing import HEADER_SIZE

Role = Literal["client", "server"]
NONCE_SIZE = 24
MAC_SIZE = 16
KEY_SIZE = 32
DIRECTION_BYTES: dict[str, bytes] = {"client": b"C", "server": b"S"}
_ROLE_OF = {b"C": "client", b"S": "server"}
_PADDING = bytes(15)
_COUNTER = struct.Struct(">Q")
SEAL_OVERHEAD = NONCE_SIZE + MAC_SIZE
MAX_COUNTER = 2**64 - 1  # the last frame a side may seal (at 10^6 frames/s: 584,000 years)
_LENGTH = struct.Struct(">I")
_new_tuple = tuple.__new__

# libsodium through PyNaCl's own cffi module, the one ``nacl.bindings`` wraps
# (private, so tests/protocol pins its behaviour to the known-answer vectors).
# The public wrappers check the sizes, allocate, zero and copy out on every
# call: on a broadcast's ~170-byte frames a fifth of a seal's cost and a third
# of an open's, paid on every delivery of the server and every frame ``read``
# opens. Here the key's size is checked once (``SecureChannel``,
# ``open_any_nonce``), the nonce is ours, and a sealed body is at least
# ``SEAL_OVERHEAD`` long (``parse_sealed``).
sodium_init()


def _seal_box(body: bytes, nonce: bytes, key: bytes) -> Any:
    """MAC and ciphertext of ``body`` (``crypto_box_easy_afternm``), in libsodium's
    buffer: a cffi buffer, joined or added to ``bytes`` without a copy of its own."""
    out = ffi.new("unsigned char[]", MAC_SIZE + len(body))
    lib.crypto_box_easy_afternm(out, body, len(body), nonce, key)  # 0 for any frame's size
    return ffi.buffer(out)


def _open_box(data: bytes, key: bytes) -> Any:
    """The plaintext of a sealed body (nonce, MAC, ciphertext), or ``decrypt_failed``.

    A cffi buffer, not a copy: it slices into ``bytes`` as ``bytes`` does, so
    the inner frames are taken straight out of it (``unbatch``).
    """
    size = len(data) - SEAL_OVERHEAD
    out = ffi.new("unsigned char[]", max(1, size))
    # The nonce is the body's first 24 bytes: libsodium reads exactly those.
    if lib.crypto_box_open_easy_afternm(out, data[NONCE_SIZE:], size + MAC_SIZE, data, key):
        raise ProtocolError(
            "decrypt_failed", "the frame does not authenticate (tampered or wrong key)"
        )
    return ffi.buffer(out, size)


def batch_frames(frames: list[bytes], limit: int) -> list[bytes]:
    """Join inner frames, in order, into plaintexts of at most ``limit`` bytes each.

    An inner frame is laid out as a frame on the wire (``framing.encode_frame``),
    so a message framed once can go out plain or inside a seal, to any peer.
    """
    if sum(map(len, frames)) <= limit:  # the usual case: everything fits one seal
        return [b"".join(frames)] if frames else []
    batches: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for frame in frames:
        if len(frame) > limit:
            body = len(frame) - HEADER_SIZE
            raise LocalProtocolError("frame_too_large", f"a {body}-byte body cannot be sealed")
        if size + len(frame) > limit:
            batches.append(b"".join(current))
            current, size = [], 0
        current.append(frame)
        size += len(frame)
    batches.append(b"".join(current))
    return batches


def batch_bodies(bodies: list[bytes], limit: int) -> list[bytes]:
    """Pack bodies as inner frames into plaintexts of at most ``limit`` bytes each."""
    return batch_frames([_LENGTH.pack(len(body)) + body for body in bodies], limit)


def unbatch(plaintext: bytes) -> list[bytes]:
    """The inner frames' bodies of a decrypted plaintext (at least one, all whole)."""
    bodies = []
    start, end = 0, len(plaintext)
    while start < end:
        if end - start < HEADER_SIZE:
            raise ProtocolError("frame_truncated", "a sealed frame ends inside an inner frame")
        (length,) = _LENGTH.unpack_from(plaintext, start)
        if length == 0:
            raise ProtocolError("frame_empty", "an inner frame of length 0 is not allowed")
        start += HEADER_SIZE
        if start + length > end:
            raise ProtocolError("frame_truncated", "a sealed frame ends inside an inner frame")
        bodies.append(plaintext[start : start + length])
        start += length
    if not bodies:
        raise ProtocolError("frame_empty", "a sealed frame must carry at least one message")
    return bodies


def make_nonce(role: Role, counter: int) -> bytes:
    """The nonce the ``role`` side uses for its ``counter``-th frame."""
    return DIRECTION_BYTES[role] + _PADDING + _COUNTER.pack(counter)


class SealedParts(NamedTuple):
    """A sealed body taken apart, for people to look at (the inspector).

    A named tuple: the inspector makes one per sealed frame it reads, and a
    frozen dataclass's ``__init__`` costs several times a tuple's.
    """

    direction: str  # "client", "server", or "?" for a nonce that is not ours
    counter: int
    nonce: bytes
    mac: bytes
    ciphertext: bytes


def parse_sealed(data: bytes) -> SealedParts:
    """Split a sealed body into nonce (direction, counter), MAC and ciphertext."""
    if len(data) < NONCE_SIZE + MAC_SIZE:
        raise ProtocolError(
            "decrypt_failed", f"{len(data)} bytes is too short for a sealed frame"
        )
    nonce = data[:NONCE_SIZE]
    role = _ROLE_OF.get(nonce[:1], "?") if nonce[1:16] == _PADDING else "?"
    # tuple.__new__: the same named tuple, without its own (Python) ``__new__``.
    return _new_tuple(SealedParts, (role, _COUNTER.unpack_from(nonce, 16)[0], nonce,
                                    data[NONCE_SIZE:SEAL_OVERHEAD], data[SEAL_OVERHEAD:]))


def open_any_nonce(shared_key: bytes, data: bytes) -> list[bytes]:
    """The message bodies of a sealed frame, checking only its MAC, whatever its nonce says.

    Box alone, without this protocol's nonce discipline: for the inspector to
    show a session whose nonces are random (lab 06, as PyNaCl's ``Box.encrypt``
    makes them), which ``SecureChannel.open`` refuses with ``bad_nonce``.
    A replayed or reflected frame passes here too: never use it to receive.
    """
    if not isinstance(shared_key, bytes) or len(shared_key) != KEY_SIZE:
        raise LocalProtocolError("bad_key", f"a shared key is {KEY_SIZE} bytes")
    parse_sealed(data)  # too short: decrypt_failed
    return unbatch(_open_box(data, shared_key))


class SecureChannel:
    """One side of an encrypted session: seals what we send, opens what we get.

    Not thread-safe: a caller that seals from several threads must hold one
    lock around ``seal`` and the write, so counters reach the wire in order.
    """

    def __init__(self, shared_key: bytes, role: Role) -> None:
        if not isinstance(shared_key, bytes) or len(shared_key) != KEY_SIZE:
            raise LocalProtocolError("bad_key", f"a shared key is {KEY_SIZE} bytes")
        if role not in DIRECTION_BYTES:
            raise LocalProtocolError("bad_role", "role must be 'client' or 'server'")
        self.shared_key = shared_key
        self.role: Role = role
        self._nonce_prefix = DIRECTION_BYTES[role] + _PADDING  # all of a nonce but its counter
        self.peer_role: Role = "server" if role == "client" else "client"
        self.sent = 0
        self.received = 0

    def seal(self, body: bytes) -> bytes:
        """Encrypt ``body`` under the next nonce of our direction."""
        nonce = self._next_nonce()
        sealed: bytes = nonce + _seal_box(body, nonce, self.shared_key)
        return sealed

    def seal_frame(self, body: bytes) -> bytes:
        """``seal``, with the outer frame's length in front: the bytes that go on the wire.

        The same bytes as ``encode_frame(seal(body))``, copied once instead of twice.
        """
        nonce = self._next_nonce()
        sealed = _seal_box(body, nonce, self.shared_key)
        return b"".join((_LENGTH.pack(SEAL_OVERHEAD + len(body)), nonce, sealed))

    def _next_nonce(self) -> bytes:
        if self.sent > MAX_COUNTER:  # never reuse a nonce: the session must end instead
            raise LocalProtocolError("counter_exhausted", "this session has sealed 2^64 frames")
        nonce = self._nonce_prefix + _COUNTER.pack(self.sent)
        self.sent += 1
        return nonce

    def open(self, data: bytes, parts: SealedParts | None = None) -> bytes:
        """Decrypt the peer's next frame, or raise a ``ProtocolError`` saying why not.

        ``parts``: ``parse_sealed(data)``, if the caller has it already.
        """
        plaintext: bytes = self._open_in_order(data, parts)[:]
        return plaintext

    def _open_in_order(self, data: bytes, parts: SealedParts | None) -> Any:
        """``open``, the plaintext left in libsodium's buffer (``_open_box``)."""
        parts = parts or parse_sealed(data)
        # The nonce is bound into the MAC, so once this succeeds the
        # direction and counter below are authentic, not attacker-chosen.
        body = _open_box(data, self.shared_key)
        if parts.direction == "?":
            raise ProtocolError("bad_nonce", "the nonce does not follow the protocol's layout")
        if parts.direction == self.role:
            raise ProtocolError("reflected", "a frame we sent was sent back to us")
        if parts.counter < self.received:
            raise ProtocolError(
                "replayed", f"frame {parts.counter} was already received (expected {self.received})"
            )
        if parts.counter > self.received:
            raise ProtocolError(
                "reordered", f"frame {parts.counter} arrived before frame {self.received}"
            )
        self.received += 1
        return body

    def open_bodies(self, data: bytes, parts: SealedParts | None = None) -> list[bytes]:
        """Open the peer's next frame and return the message bodies it carries (a batch)."""
        return unbatch(self._open_in_order(data, parts))

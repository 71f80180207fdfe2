"""The encrypted channel (labs 06 and 07): a Box session key and sealed frames.

Given code in lab 10. Each side makes a fresh X25519 key per connection; both
compute the same 32-byte session key from their own secret and the peer's
public key. Every frame after the handshake is sealed with XSalsa20-Poly1305
under that key and a nonce that says who sent it and which frame it is
(docs/protocol.md section 5), so a replayed, reordered or reflected frame is
refused.
"""

import os
import struct

from nacl.bindings import crypto_box_easy_afternm, crypto_box_open_easy_afternm
from nacl.exceptions import CryptoError
from nacl.public import Box, PrivateKey, PublicKey

NONCE_SIZE = 24
MAC_SIZE = 16
HEADER = struct.Struct(">I")  # an inner frame's length, as in lab 02
COUNTER = struct.Struct(">Q")  # the last 8 bytes of a nonce
DIRECTION = {"client": b"C", "server": b"S"}


class ProtocolError(Exception):
    """The peer broke the protocol (or we refuse what it sent): a stable code and words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def new_key() -> PrivateKey:
    """A fresh X25519 key pair (one per connection)."""
    return PrivateKey.generate()


def session_key(own: PrivateKey, peer_public: bytes) -> bytes:
    """The shared key both sides compute: X25519, then HSalsa20 (Box's shared_key)."""
    try:
        key = Box(own, PublicKey(peer_public)).shared_key()
    except (CryptoError, ValueError, TypeError):
        raise ProtocolError("bad_key", "that X25519 key is refused (a low-order point)") from None
    if key == bytes(32):
        raise ProtocolError("bad_key", "that X25519 key gives a known session key")
    return key


def make_nonce(role: str, counter: int) -> bytes:
    """Direction byte, 15 zero bytes, then the counter (8 bytes, big-endian)."""
    return DIRECTION[role] + bytes(15) + COUNTER.pack(counter)


class SecureChannel:
    """One side of a session: seal() what we send, open() what the peer sent.

    Not thread-safe: seal from one thread only (the writer thread does), so the
    counters reach the wire in order.
    """

    def __init__(self, key: bytes, role: str) -> None:
        self.key = key
        self.role = role
        self.sent = 0  # the counter of our next frame
        self.received = 0  # the counter we expect next from the peer

    def seal(self, body: bytes) -> bytes:
        """body as ONE inner frame (length + body), sealed: nonce + MAC + ciphertext."""
        nonce = make_nonce(self.role, self.sent)
        self.sent += 1
        return nonce + crypto_box_easy_afternm(HEADER.pack(len(body)) + body, nonce, self.key)

    def open(self, sealed: bytes) -> bytes:
        """The body of the peer's next frame (one inner frame), checked as section 5 says."""
        bodies = self.open_batch(sealed)
        if len(bodies) != 1:
            raise ProtocolError("bad_message", "expected one message in this sealed frame")
        return bodies[0]

    def open_batch(self, sealed: bytes) -> list[bytes]:
        """Every body in the peer's next frame: a busy server may seal a batch of them."""
        if len(sealed) < NONCE_SIZE + MAC_SIZE:
            raise ProtocolError("decrypt_failed", "too short for a sealed frame")
        nonce = sealed[:NONCE_SIZE]
        try:
            plain = crypto_box_open_easy_afternm(sealed[NONCE_SIZE:], nonce, self.key)
        except CryptoError:
            raise ProtocolError("decrypt_failed", "the frame does not authenticate") from None
        if nonce[1:16] != bytes(15) or nonce[:1] not in (b"C", b"S"):
            raise ProtocolError("bad_nonce", "the nonce does not follow the protocol")
        if nonce[:1] == DIRECTION[self.role]:
            raise ProtocolError("reflected", "a frame we sent came back to us")
        (counter,) = COUNTER.unpack(nonce[16:])
        if counter < self.received:
            raise ProtocolError("replayed", f"frame {counter} was already received")
        if counter > self.received:
            raise ProtocolError("reordered", f"frame {counter} came before {self.received}")
        self.received += 1
        return inner_frames(plain)


def inner_frames(plain: bytes) -> list[bytes]:
    """The bodies of the inner frames (length + body, as in lab 02) in a plaintext."""
    bodies, start = [], 0
    while start < len(plain):
        if len(plain) - start < HEADER.size:
            raise ProtocolError("frame_truncated", "a sealed frame ends inside an inner frame")
        (length,) = HEADER.unpack_from(plain, start)
        if length == 0:
            raise ProtocolError("frame_empty", "an inner frame of length 0")
        start += HEADER.size
        if start + length > len(plain):
            raise ProtocolError("frame_truncated", "a sealed frame ends inside an inner frame")
        bodies.append(plain[start:start + length])
        start += length
    if not bodies:
        raise ProtocolError("frame_empty", "a sealed frame carries at least one message")
    return bodies


def keylog_line(client_public: bytes, key: bytes) -> str:
    """One key-log line: SOCKETLAB_BOX <client key hex> <session key hex> (and a newline)."""
    return f"SOCKETLAB_BOX {client_public.hex()} {key.hex()}\n"


def append_private(path: str, line: str) -> None:
    """Append line to path, creating it readable by its owner only (mode 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, line.encode("ascii"))
    finally:
        os.close(fd)


def write_keylog(client_public: bytes, key: bytes) -> None:
    """Append this session's line to $SOCKETLAB_KEYLOG, if it is set (else nothing)."""
    path = os.environ.get("SOCKETLAB_KEYLOG")
    if path:
        append_private(path, keylog_line(client_public, key))

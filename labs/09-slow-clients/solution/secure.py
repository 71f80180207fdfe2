"""The encrypted channel (labs 06 and 07): a Box session key, sealed frames, counter nonces.

Given code in lab 09: it works, and lab 09 does not change it. Read it if
you skipped labs 06-07; docs/protocol.md section 5 is the contract.

- new_key() makes a fresh X25519 key for one session; session_key() turns
  our secret and the peer's public key into the 32-byte key both sides share.
- SecureChannel seals what we send and opens what the peer sent. Each nonce
  says who sent the frame (C or S) and which frame it is (a counter), so a
  replayed, reordered or reflected frame is refused.
- write_keylog() appends the session key to $SOCKETLAB_KEYLOG (if it is set),
  so the inspector can decrypt what you captured.
"""

import os
import struct

from nacl.bindings import crypto_box_easy_afternm, crypto_box_open_easy_afternm
from nacl.exceptions import CryptoError
from nacl.public import Box, PrivateKey, PublicKey

NONCE_SIZE = 24
MAC_SIZE = 16
DIRECTION = {"client": b"C", "server": b"S"}  # the first byte of every nonce we send
ZEROS = bytes(15)  # nonce bytes 1..15
COUNTER = struct.Struct(">Q")  # nonce bytes 16..23: unsigned 64-bit, big-endian
LENGTH = struct.Struct(">I")  # an inner frame's 4-byte length


class ProtocolError(Exception):
    """The peer broke the protocol (or refused us): a code from docs/protocol.md, and words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def new_key() -> PrivateKey:
    """A fresh X25519 key pair for one session (never reused)."""
    return PrivateKey.generate()


def session_key(own: PrivateKey, peer_public: bytes) -> bytes:
    """The key both sides compute: X25519, then HSalsa20 (PyNaCl's Box does both).

    A low-order peer key would give a key everyone knows: bad_key.
    """
    try:
        key = Box(own, PublicKey(peer_public)).shared_key()
    except (CryptoError, ValueError, TypeError):
        raise ProtocolError("bad_key", "the peer's X25519 key is not usable") from None
    if key == bytes(32):
        raise ProtocolError("bad_key", "the peer's X25519 key gives a known session key")
    return key


class SecureChannel:
    """One side of an encrypted session. Seal and send under one lock (counters in order)."""

    def __init__(self, key: bytes, role: str) -> None:
        self.key = key
        self.own = DIRECTION[role]
        self.peer = DIRECTION["server" if role == "client" else "client"]
        self.sent = 0  # the counter of our next sealed frame
        self.received = 0  # the counter we expect on the peer's next frame

    def seal(self, body: bytes) -> bytes:
        """body as one inner frame (length + body), sealed under our next nonce."""
        nonce = self.own + ZEROS + COUNTER.pack(self.sent)
        self.sent += 1
        return nonce + crypto_box_easy_afternm(LENGTH.pack(len(body)) + body, nonce, self.key)

    def open_all(self, sealed: bytes) -> list[bytes]:
        """Every inner frame's body: the kit's server may seal several messages in one frame."""
        if len(sealed) < NONCE_SIZE + MAC_SIZE:
            raise ProtocolError("decrypt_failed", "too short for a sealed frame")
        nonce = sealed[:NONCE_SIZE]
        try:
            plain = crypto_box_open_easy_afternm(sealed[NONCE_SIZE:], nonce, self.key)
        except CryptoError:
            raise ProtocolError("decrypt_failed", "the frame does not authenticate") from None
        if nonce[1:16] != ZEROS or nonce[:1] not in DIRECTION.values():
            raise ProtocolError("bad_nonce", "the nonce is not direction + zeros + counter")
        if nonce[:1] == self.own:
            raise ProtocolError("reflected", "a frame we sealed ourselves came back")
        counter = COUNTER.unpack(nonce[16:])[0]
        if counter < self.received:
            raise ProtocolError("replayed", f"frame {counter} came again")
        if counter > self.received:
            raise ProtocolError("reordered", f"frame {counter} came before {self.received}")
        self.received += 1
        bodies = []
        while plain:
            if len(plain) < LENGTH.size:
                raise ProtocolError("frame_truncated", "a sealed frame ends inside a header")
            (length,) = LENGTH.unpack_from(plain)
            if length == 0:
                raise ProtocolError("frame_empty", "an inner frame of length 0")
            if len(plain) < LENGTH.size + length:
                raise ProtocolError("frame_truncated", "a sealed frame ends inside a message")
            bodies.append(plain[LENGTH.size:LENGTH.size + length])
            plain = plain[LENGTH.size + length:]
        if not bodies:
            raise ProtocolError("frame_empty", "a sealed frame with nothing inside")
        return bodies

    def open(self, sealed: bytes) -> bytes:
        """The body of the one inner frame in sealed (what seal() makes)."""
        bodies = self.open_all(sealed)
        if len(bodies) != 1:
            raise ProtocolError("bad_message", "expected one message in the frame")
        return bodies[0]


def keylog_line(client_public: bytes, key: bytes) -> str:
    """One key-log line, as docs/protocol.md section 8 says."""
    return f"SOCKETLAB_BOX {client_public.hex()} {key.hex()}\n"


def write_keylog(client_public: bytes, key: bytes) -> None:
    """Append a key-log line to $SOCKETLAB_KEYLOG, if it is set (mode 0600: a secret)."""
    path = os.environ.get("SOCKETLAB_KEYLOG")
    if not path:
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, keylog_line(client_public, key).encode("ascii"))
    finally:
        os.close(fd)

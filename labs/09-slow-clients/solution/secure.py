"""The encrypted channel (labs 06 and 07, working): keys, sealed frames, nonces, the key log.

Every frame after the handshake is sealed: a 24-byte nonce, then the 16-byte
MAC and the ciphertext of ONE inner frame (a 4-byte length, then the body),
as docs/protocol.md section 5 says. The nonce is not random (lab 07): byte 0
says who sent it ("C" client, "S" server), bytes 16-23 count the frames.
"""

import os
import struct

import nacl.exceptions
import nacl.public
import nacl.secret

NONCE_SIZE = 24
MAC_SIZE = 16
DIRECTIONS = {"client": b"C", "server": b"S"}
COUNTER = struct.Struct(">Q")  # 8 bytes, unsigned, big-endian
INNER = struct.Struct(">I")  # an inner frame's length, as an outer frame's


class ProtocolError(Exception):
    """The peer broke the protocol: it gets an error frame, then the connection closes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def new_key() -> nacl.public.PrivateKey:
    """A fresh X25519 key for one session."""
    return nacl.public.PrivateKey.generate()


def session_key(own: nacl.public.PrivateKey, peer_public: bytes) -> bytes:
    """The 32-byte key both sides compute; a low-order peer key is bad_key."""
    try:
        key = nacl.public.Box(own, nacl.public.PublicKey(peer_public)).shared_key()
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise ProtocolError("bad_key", "that X25519 key would give a session key everyone knows") from None
    if key == bytes(32):
        raise ProtocolError("bad_key", "that X25519 key would give a session key everyone knows")
    return key


class SecureChannel:
    """One side of a session: seals what it sends, opens what it receives, in order."""

    def __init__(self, key: bytes, role: str) -> None:
        self.box = nacl.secret.SecretBox(key)  # XSalsa20-Poly1305: what crypto_box uses inside
        self.own = DIRECTIONS[role]
        self.peer = DIRECTIONS["client" if role == "server" else "server"]
        self.sent = 0  # the counter of the next frame we seal
        self.received = 0  # the counter we expect next

    def seal(self, body: bytes) -> bytes:
        """Nonce + MAC + ciphertext of one inner frame holding body."""
        nonce = self.own + bytes(15) + COUNTER.pack(self.sent)
        self.sent += 1
        return bytes(self.box.encrypt(INNER.pack(len(body)) + body, nonce))

    def open(self, sealed: bytes) -> bytes:
        """The body inside the peer's next frame; ProtocolError in section 5's order."""
        if len(sealed) < NONCE_SIZE + MAC_SIZE:
            raise ProtocolError("decrypt_failed", "a sealed frame is at least 40 bytes")
        nonce = sealed[:NONCE_SIZE]
        try:
            plain = self.box.decrypt(sealed[NONCE_SIZE:], nonce)
        except nacl.exceptions.CryptoError:
            raise ProtocolError("decrypt_failed", "the frame does not authenticate") from None
        if nonce[1:16] != bytes(15) or nonce[:1] not in DIRECTIONS.values():
            raise ProtocolError("bad_nonce", "the nonce does not follow the protocol's layout")
        if nonce[:1] == self.own:
            raise ProtocolError("reflected", "a frame we sent was sent back to us")
        (counter,) = COUNTER.unpack(nonce[16:])
        if counter < self.received:
            raise ProtocolError("replayed", f"frame {counter} came before")
        if counter > self.received:
            raise ProtocolError("reordered", f"frame {counter} came before frame {self.received}")
        self.received += 1
        if len(plain) < INNER.size:
            raise ProtocolError("frame_empty" if not plain else "frame_truncated",
                                "a sealed frame holds one inner frame")
        (length,) = INNER.unpack(plain[:INNER.size])
        if length == 0:
            raise ProtocolError("frame_empty", "an inner frame of length 0")
        if len(plain) != INNER.size + length:
            raise ProtocolError("frame_truncated", "the inner frame's length does not match")
        return plain[INNER.size:]


def keylog_line(client_public: bytes, key: bytes) -> str:
    """One line of the key log (docs/protocol.md section 8)."""
    return f"SOCKETLAB_BOX {client_public.hex()} {key.hex()}\n"


def write_keylog(client_public: bytes, key: bytes) -> None:
    """Append the session's line to $SOCKETLAB_KEYLOG, if it is set (mode 0600)."""
    path = os.environ.get("SOCKETLAB_KEYLOG")
    if not path:
        return
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(handle, "a", encoding="ascii") as file:
        file.write(keylog_line(client_public, key))

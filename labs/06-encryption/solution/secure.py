"""Lab 06 · the encrypted channel: a session key from two X25519 keys, and sealed frames.

After the handshake (chat_server.py, chat_client.py) both sides hold the same
32-byte session key, and every frame body is SEALED with it:

    sealed  = nonce (24 bytes) + MAC (16 bytes) + ciphertext
    inside  = ONE inner frame: a 4-byte big-endian length + the JSON body

The nonce here is 24 random bytes, as PyNaCl's Box.encrypt() makes it: the
way the original project did it. (Lab 07 shows what a random nonce does not
stop, and replaces it with a direction and a counter.)

The session key goes to the key log ($SOCKETLAB_KEYLOG) when asked, so the
inspector can decrypt a capture: docs/protocol.md section 8.
"""

import os
import struct

import nacl.utils
from nacl.bindings import crypto_box_easy_afternm, crypto_box_open_easy_afternm
from nacl.exceptions import CryptoError
from nacl.public import Box, PrivateKey, PublicKey

NONCE_SIZE = 24  # bytes: XSalsa20's nonce
MAC_SIZE = 16  # bytes: Poly1305's tag, in front of the ciphertext
KEY_SIZE = 32  # bytes: an X25519 key, and the session key
HEADER = struct.Struct(">I")  # the inner frame's 4-byte length, as on the wire
KEYLOG_ENV = "SOCKETLAB_KEYLOG"  # the key log's file, if set (socketlab lab sniff sets it)


class ProtocolError(Exception):
    """The peer broke the protocol: it gets an error frame (code + message), then the
    connection closes. The client raises it too, with the server's code, on a refusal."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def new_key() -> PrivateKey:
    """A fresh X25519 key pair for one session (its public half: bytes(key.public_key))."""
    return PrivateKey.generate()


def session_key(own: PrivateKey, peer_public: bytes) -> bytes:
    """The 32-byte session key both sides compute: X25519 of our secret and the peer's
    public key, then HSalsa20 — exactly what Box(own, PublicKey(peer_public)).shared_key()
    gives (docs/protocol.md section 5, "The session key").

    - The trap: a "low-order" public key (all zeros, 01 00 … 00, a few others) makes the
      shared secret all zeros, whoever our secret is — a key everyone knows. libsodium
      refuses such a key: PyNaCl raises nacl.exceptions.CryptoError. Turn that into
      ProtocolError("bad_key", ...).
    - A peer_public that is not 32 bytes: ProtocolError("bad_key", ...).
    """
    # BEGIN SOLUTION 06.1: Box(own, PublicKey(peer_public)).shared_key(); a low-order or wrong-size key is ProtocolError bad_key
    if len(peer_public) != KEY_SIZE:
        raise ProtocolError("bad_key", f"an X25519 public key is {KEY_SIZE} bytes")
    try:
        key = Box(own, PublicKey(peer_public)).shared_key()
    except CryptoError:
        raise ProtocolError("bad_key", "a low-order X25519 key: its session key is known "
                                       "to everyone") from None
    return key
    # END SOLUTION


class SecureChannel:
    """One side of an encrypted session. Both sides use the same key; role is
    "client" or "server" (lab 07 needs it; this lab's nonces do not)."""

    def __init__(self, key: bytes, role: str) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError(f"a session key is {KEY_SIZE} bytes")
        if role not in ("client", "server"):
            raise ValueError('role is "client" or "server"')
        self.key = key
        self.role = role

    def seal(self, body: bytes) -> bytes:
        """The sealed form of one message body: nonce + MAC + ciphertext.

        - The plaintext is ONE inner frame: HEADER.pack(len(body)) + body.
        - The nonce: nacl.utils.random(NONCE_SIZE), a fresh one for EVERY call. Never
          use a nonce twice with one key: the same message would look the same on the
          wire, and two messages under one nonce leak their XOR.
        - crypto_box_easy_afternm(plaintext, nonce, self.key) gives MAC + ciphertext;
          put the nonce in front (the receiver needs it, and it is not secret).
        """
        # BEGIN SOLUTION 06.2: one inner frame, sealed under a fresh random nonce; return nonce + MAC + ciphertext
        plaintext = HEADER.pack(len(body)) + body
        nonce = nacl.utils.random(NONCE_SIZE)
        return nonce + crypto_box_easy_afternm(plaintext, nonce, self.key)
        # END SOLUTION

    def open(self, sealed: bytes) -> bytes:
        """The message body inside a sealed frame, or ProtocolError saying why not.

        - Fewer than NONCE_SIZE + MAC_SIZE bytes: ProtocolError("decrypt_failed", ...).
        - crypto_box_open_easy_afternm(sealed[NONCE_SIZE:], nonce, self.key) checks the
          MAC and decrypts; it raises CryptoError if one bit was changed or the key is
          wrong: ProtocolError("decrypt_failed", ...). Never use what did not verify.
        - The plaintext must be ONE inner frame: fewer than 4 bytes, or a length that is
          not the rest: ProtocolError("frame_truncated", ...); length 0 (or nothing at
          all): ProtocolError("frame_empty", ...). (The protocol lets a sender put
          several inner frames in one sealed frame; this lab's programs never do.)
        """
        # BEGIN SOLUTION 06.3: check the length, open (MAC first: decrypt_failed), return the one inner frame's body (frame_empty, frame_truncated)
        if len(sealed) < NONCE_SIZE + MAC_SIZE:
            raise ProtocolError("decrypt_failed", f"{len(sealed)} bytes is too short for a "
                                                  "sealed frame")
        nonce = sealed[:NONCE_SIZE]
        try:
            plaintext = crypto_box_open_easy_afternm(sealed[NONCE_SIZE:], nonce, self.key)
        except CryptoError:
            raise ProtocolError("decrypt_failed", "the frame does not authenticate "
                                                  "(tampered, or the wrong key)") from None
        if not plaintext:
            raise ProtocolError("frame_empty", "a sealed frame must carry a message")
        if len(plaintext) < HEADER.size:
            raise ProtocolError("frame_truncated", "a sealed frame ends inside an inner frame")
        (length,) = HEADER.unpack_from(plaintext)
        if length == 0:
            raise ProtocolError("frame_empty", "an inner frame of length 0 is not allowed")
        if length != len(plaintext) - HEADER.size:
            raise ProtocolError("frame_truncated", "a sealed frame holds one whole inner frame")
        return plaintext[HEADER.size:]
        # END SOLUTION


def keylog_line(client_public: bytes, key: bytes) -> str:
    """One line of the key log, with its newline (docs/protocol.md section 8):

        SOCKETLAB_BOX <the client's public key, 64 hex digits> <the session key, 64 hex digits>

    The client's key comes first: the inspector finds it in the capture's hello,
    and so knows which session key opens that connection. (bytes.hex() writes hex.)
    """
    # BEGIN SOLUTION 06.4: "SOCKETLAB_BOX <client public key hex> <session key hex>\n"
    return f"SOCKETLAB_BOX {client_public.hex()} {key.hex()}\n"
    # END SOLUTION


def write_keylog(client_public: bytes, key: bytes) -> None:
    """Append keylog_line(...) to the file named by $SOCKETLAB_KEYLOG, if it is set.

    The file is created readable by its owner only (mode 0600, where the system has
    modes): anyone who has it can read every session in it.
    """
    path = os.environ.get(KEYLOG_ENV)
    if not path:
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, keylog_line(client_public, key).encode("ascii"))
    finally:
        os.close(fd)

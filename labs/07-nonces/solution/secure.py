"""Lab 07 · the encrypted channel, with nonces that say who sent a frame and which one it is.

Lab 06 sealed every frame with a fresh RANDOM nonce (RandomNonceChannel, below,
kept for step 0 of the README). The MAC then proves only that someone with the
key sealed the frame once, not that it is the frame the receiver should get
now: a copy of it (a replay), frames swapped (a reorder) and a frame sent back
to its own author (a reflection; both directions share one key) all decrypt.
This lab gives the nonce a meaning instead (docs/protocol.md, section 5):

    byte 0      the sender's direction: b"C" client -> server, b"S" server -> client
    bytes 1-15  zero
    bytes 16-23 the sender's counter, 8 bytes big-endian: 0, 1, 2, ... per direction

and the receiver accepts only the peer's direction and the next counter.

A sealed frame body is: nonce (24 bytes) + MAC (16 bytes) + ciphertext.
The plaintext inside is ONE inner frame: a 4-byte big-endian length, then the
message body (so the kit's inspector and client can read it).
"""

import os
import struct

from nacl.exceptions import CryptoError
from nacl.public import Box, PrivateKey, PublicKey
from nacl.secret import SecretBox

NONCE_SIZE = 24
MAC_SIZE = 16
DIRECTIONS = {"client": b"C", "server": b"S"}  # byte 0 of the nonce, by who seals
PADDING = bytes(15)  # bytes 1-15 of the nonce
COUNTER = struct.Struct(">Q")  # bytes 16-23: unsigned 64-bit, big-endian
MAX_COUNTER = 2**64 - 1  # the last counter a side may seal with
INNER_HEADER = struct.Struct(">I")  # the inner frame's length


class ProtocolError(Exception):
    """The peer broke the protocol: it gets an error frame with this code, then the
    connection closes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# ---- keys and the key log (lab 06) --------------------------------------------------


def new_key() -> PrivateKey:
    """A fresh X25519 key pair for one session (its public half goes in the hello)."""
    return PrivateKey.generate()


def session_key(own: PrivateKey, peer_public: bytes) -> bytes:
    """The 32-byte key both sides compute from their own secret and the peer's public key.

    A low-order peer key would give a session key everyone knows: bad_key.
    """
    try:
        key = Box(own, PublicKey(peer_public)).shared_key()
    except CryptoError:  # PyNaCl refuses a low-order point
        raise ProtocolError("bad_key", "that X25519 key gives a session key everyone knows") from None
    if key == bytes(32):
        raise ProtocolError("bad_key", "that X25519 key gives a session key everyone knows")
    return key


def keylog_line(client_public: bytes, key: bytes) -> str:
    """One key-log line: what the inspector needs to decrypt this session."""
    return f"SOCKETLAB_BOX {client_public.hex()} {key.hex()}\n"


def write_keylog(client_public: bytes, key: bytes) -> None:
    """Append this session's line to the file named by $SOCKETLAB_KEYLOG, if it is set.

    Whoever reads that file can read the session: it is created readable by
    you only (mode 0600, where the system has modes).
    """
    path = os.environ.get("SOCKETLAB_KEYLOG")
    if not path:
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, keylog_line(client_public, key).encode("ascii"))
    finally:
        os.close(fd)


# ---- inner frames (lab 06) ----------------------------------------------------------


def inner_frame(body: bytes) -> bytes:
    """The plaintext that gets sealed: body's length (4 bytes), then body."""
    return INNER_HEADER.pack(len(body)) + body


def inner_body(plaintext: bytes) -> bytes:
    """The body of the one inner frame in a decrypted plaintext.

    (The protocol lets a sender seal several messages in one frame, a batch;
    this chat seals one per frame and refuses more.)
    """
    if len(plaintext) < INNER_HEADER.size:
        raise ProtocolError("frame_truncated", "a sealed frame ends inside an inner frame header")
    (length,) = INNER_HEADER.unpack_from(plaintext)
    if length == 0:
        raise ProtocolError("frame_empty", "an inner frame of length 0 is not allowed")
    if INNER_HEADER.size + length > len(plaintext):
        raise ProtocolError("frame_truncated", "a sealed frame ends inside an inner frame")
    if INNER_HEADER.size + length < len(plaintext):
        raise ProtocolError("bad_message", "this chat seals one message per frame")
    return plaintext[INNER_HEADER.size:]


# ---- decryption (lab 06) ----------------------------------------------------------


def decrypt(box: SecretBox, sealed: bytes) -> bytes:
    """The plaintext of sealed (nonce + MAC + ciphertext), if its MAC verifies.

    Too short to hold a nonce and a MAC, or a MAC that does not verify
    (tampered, or sealed with another key): decrypt_failed. The MAC covers the
    nonce too, so a frame whose nonce was changed on the way fails here.
    """
    if len(sealed) < NONCE_SIZE + MAC_SIZE:
        raise ProtocolError("decrypt_failed", f"{len(sealed)} bytes is too short for a sealed frame")
    try:
        return box.decrypt(sealed)  # PyNaCl reads the nonce from the first 24 bytes
    except CryptoError:
        raise ProtocolError("decrypt_failed", "the frame does not authenticate (tampered?)") from None


# ---- lab 06's channel: random nonces ------------------------------------------------


class RandomNonceChannel:
    """Lab 06's channel, kept for step 0: a random nonce per frame, only the MAC checked.

    It keeps what is sealed secret and untouched, and nothing else: run the
    chat with --random-nonces and a replayed frame is a message said twice.
    """

    def __init__(self, key: bytes, role: str) -> None:
        self.box = SecretBox(key)
        self.role = role

    def seal(self, body: bytes) -> bytes:
        """nonce + MAC + ciphertext of body's inner frame, under a fresh random nonce."""
        return bytes(self.box.encrypt(inner_frame(body)))  # no nonce given: PyNaCl draws one

    def open(self, sealed: bytes) -> bytes:
        """The body inside sealed, if its MAC verifies (decrypt_failed if not). Whatever its nonce."""
        return inner_body(decrypt(self.box, sealed))


# ---- this lab: direction + counter --------------------------------------------------


def make_nonce(role: str, counter: int) -> bytes:
    """The 24-byte nonce of the counter-th frame that role ("client" or "server") seals.

    DIRECTIONS[role] (1 byte), then PADDING (15 zero bytes), then the counter
    as 8 bytes big-endian (COUNTER.pack(counter)). In hex, make_nonce("client", 1)
    is "43" (b"C"), then 22 times "00", then "01".
    """
    # BEGIN SOLUTION 07.1: direction byte, 15 zero bytes, the counter as 8 bytes big-endian
    return DIRECTIONS[role] + PADDING + COUNTER.pack(counter)
    # END SOLUTION


class SecureChannel:
    """One side of an encrypted session: seals what it sends, opens what it receives.

    role is "client" or "server": the side that holds this channel. Both sides
    have the same key; the nonce tells their frames apart.
    """

    def __init__(self, key: bytes, role: str) -> None:
        self.box = SecretBox(key)  # XSalsa20-Poly1305 under the session key
        self.role = role
        self.sent = 0  # the counter of the next frame we seal
        self.received = 0  # the counter the peer's next frame must carry

    def seal(self, body: bytes) -> bytes:
        """nonce + MAC + ciphertext of body's inner frame (inner_frame(body)).

        - The nonce is make_nonce(self.role, self.sent), and self.sent goes up
          by one, so no two frames of this side ever share a nonce. (The same
          nonce twice under one key leaks the XOR of the two plaintexts, and
          lets an attacker forge MACs.)
        - self.box.encrypt(plaintext, nonce) returns exactly nonce + MAC +
          ciphertext (make it bytes()).
        - After the frame with counter MAX_COUNTER the counter would wrap
          around: if self.sent is above MAX_COUNTER, raise
          ProtocolError("counter_exhausted", ...) instead of sealing.
        """
        # BEGIN SOLUTION 07.2: refuse past MAX_COUNTER (counter_exhausted), seal under make_nonce(role, sent), count up
        counter = self.sent
        if counter > MAX_COUNTER:
            raise ProtocolError("counter_exhausted", "this session has sealed 2**64 frames")
        self.sent = counter + 1
        return bytes(self.box.encrypt(inner_frame(body), make_nonce(self.role, counter)))
        # END SOLUTION

    def check_nonce(self, nonce: bytes) -> None:
        """Accept the nonce of the peer's next frame, or raise ProtocolError saying why not.

        Check in this order (docs/protocol.md section 5; the README's table) and stop
        at the first failure:
        1. bytes 1-15 not all zero, or byte 0 neither b"C" nor b"S": bad_nonce
        2. byte 0 is OUR direction (DIRECTIONS[self.role]): reflected
           (a frame we sealed, sent back to us)
        3. the counter is below self.received: replayed
           ((counter,) = COUNTER.unpack(nonce[16:]): unpack always returns a tuple)
        4. the counter is above self.received: reordered
        Accepted: self.received goes up by one (the next frame must carry the next counter).
        Careful: slicing bytes gives bytes (nonce[:1] == b"C"), indexing gives an int.
        """
        # BEGIN SOLUTION 07.3: bad_nonce, reflected, replayed, reordered in this order; else count the frame
        direction, padding = nonce[:1], nonce[1:16]
        (counter,) = COUNTER.unpack(nonce[16:])
        if padding != PADDING or direction not in DIRECTIONS.values():
            raise ProtocolError("bad_nonce", "the nonce does not follow the protocol's layout")
        if direction == DIRECTIONS[self.role]:
            raise ProtocolError("reflected", "a frame we sealed was sent back to us")
        if counter < self.received:
            raise ProtocolError("replayed", f"frame {counter} came already (expected {self.received})")
        if counter > self.received:
            raise ProtocolError("reordered", f"frame {counter} came before frame {self.received}")
        self.received += 1
        # END SOLUTION

    def open(self, sealed: bytes) -> bytes:
        """The message body inside the peer's next sealed frame, or ProtocolError.

        Like RandomNonceChannel.open, plus the nonce, in this order:
        1. decrypt(self.box, sealed): the MAC (decrypt_failed if it fails).
        2. Only then check the nonce (the first NONCE_SIZE bytes) with
           self.check_nonce: the MAC covers the nonce, so a nonce that passed
           it is the one the sender sealed with. Checked before the MAC, a
           nonce an attacker changed would be judged, and counted.
        3. The body of the inner frame (inner_body).
        """
        # BEGIN SOLUTION 07.4: the MAC first (decrypt), then check_nonce, then the inner body
        plaintext = decrypt(self.box, sealed)
        self.check_nonce(sealed[:NONCE_SIZE])
        return inner_body(plaintext)
        # END SOLUTION

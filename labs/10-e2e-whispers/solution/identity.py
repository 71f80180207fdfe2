"""The server's identity: a long-term Ed25519 key, and what it signs (lab 08).

The encryption of labs 06-07 has a hole: the client takes the server's
session key on trust. Whoever sits in the middle can hand the client a key
of their own (and the server another one), and read everything. So the
server has a key that does not change, its *identity*, and signs each
handshake with it:

    signature = Ed25519(identity, HELLO_CONTEXT + client key + server key)

The client checks that signature (so nobody could have swapped the keys
without the identity's secret), and remembers which identity this server had
the first time (pins.py), so an impostor with an identity of its own is
refused later.
"""

import hashlib
import os
from pathlib import Path

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey
from secure import ProtocolError

HELLO_CONTEXT = b"socketlab/1 server hello\x00"  # says what the signature is for


def load_or_create_identity(path: Path) -> SigningKey:
    """The server's long-term key from path (64 hex digits: the 32-byte seed), made on first start.

    The file is the server's secret: it is created readable by its owner only
    (mode 0600, where the system has modes). Delete it and the server gets a new
    identity, which every client that pinned the old one will refuse.
    """
    path = Path(path)
    if path.exists():
        return SigningKey(bytes.fromhex(path.read_text(encoding="ascii").strip()))
    key = SigningKey.generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(bytes(key).hex() + "\n")
    return key


def sign_hello(identity: SigningKey, client_key: bytes, server_key: bytes) -> bytes:
    """The server's 64-byte signature over HELLO_CONTEXT + client_key + server_key.

    identity.sign(data) returns the signature followed by the data: keep only
    the signature (its .signature attribute). Both keys are the raw 32 bytes,
    client's first, exactly as they travel (hex-decoded) in hello and server_hello.
    """
    return identity.sign(HELLO_CONTEXT + client_key + server_key).signature


def verify_hello(identity: bytes, client_key: bytes, server_key: bytes, signature: bytes) -> None:
    """Return quietly if signature is identity's signature over this handshake's two keys;
    else raise ProtocolError("bad_signature", ...).

    VerifyKey(identity).verify(data, signature) raises BadSignatureError when
    the signature does not match. client_key is OUR key (the one we sent in
    hello), server_key the one server_hello carries: a man in the middle who
    swapped either cannot make a signature that matches, unless it has the
    identity's secret.
    """
    try:
        VerifyKey(identity).verify(HELLO_CONTEXT + client_key + server_key, signature)
    except BadSignatureError:
        raise ProtocolError("bad_signature",
                            "the server's signature over this handshake does not verify") from None


def fingerprint(identity: bytes) -> str:
    """A short form of the identity that people can compare by reading it aloud.

    The first 16 bytes of SHA-256 of the 32-byte identity, as 32 lower-case hex
    digits in 8 groups of 4, after "SHA256:" (docs/protocol.md section 4):
    "SHA256:8b8d 61ad 407d 5334 db27 ddcb d23f afad". Hash the raw bytes, not
    their hex.
    """
    digest = hashlib.sha256(identity).hexdigest()[:32]
    return "SHA256:" + " ".join(digest[i:i + 4] for i in range(0, 32, 4))

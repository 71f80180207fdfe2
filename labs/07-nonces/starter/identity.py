"""The server's long-term identity: an Ed25519 key that signs every server_hello.

Given code in labs 06 and 07 (lab 08 explains it, and writes the client's side):
the signature lets a client that knows the server's identity tell the real
server from a man in the middle who swapped in a key of its own.
"""

import os
from pathlib import Path

from nacl.signing import SigningKey

HELLO_CONTEXT = b"socketlab/1 server hello\x00"  # what the signature is about, then the two keys


def load_or_create_identity(path: Path) -> SigningKey:
    """The identity stored in path (its 32-byte seed), made and saved there the first time.

    The file is the server's secret: it is created readable by its owner only
    (mode 0600, where the system has modes).
    """
    path = Path(path)
    if path.exists():
        seed = path.read_bytes()
        if len(seed) != 32:
            raise ValueError(f"{path} is not an identity file (it must hold 32 bytes)")
        return SigningKey(seed)
    identity = SigningKey.generate()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, bytes(identity))
    finally:
        os.close(fd)
    return identity


def sign_hello(identity: SigningKey, client_key: bytes, server_key: bytes) -> bytes:
    """The 64-byte Ed25519 signature over HELLO_CONTEXT + client key + server key."""
    return identity.sign(HELLO_CONTEXT + client_key + server_key).signature

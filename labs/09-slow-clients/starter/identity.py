"""The server's long-term identity (lab 08, working): an Ed25519 key that signs each hello.

The server signs "socketlab/1 server hello\\0" + the client's key + its own
fresh key, so a man in the middle, who must swap the keys, cannot make a
signature that a client with a pin for this identity accepts.
"""

import os
from pathlib import Path

import nacl.signing

CONTEXT = b"socketlab/1 server hello\x00"


def load_or_create_identity(path: Path) -> nacl.signing.SigningKey:
    """The key in path (a 32-byte seed in hex), made on first use (mode 0600)."""
    path = Path(path)
    if path.exists():
        return nacl.signing.SigningKey(bytes.fromhex(path.read_text(encoding="ascii").strip()))
    key = nacl.signing.SigningKey.generate()
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "w", encoding="ascii") as file:
        file.write(bytes(key).hex() + "\n")
    return key


def sign_hello(identity: nacl.signing.SigningKey, client_key: bytes, server_key: bytes) -> bytes:
    """The 64-byte signature the server_hello carries."""
    return identity.sign(CONTEXT + client_key + server_key).signature

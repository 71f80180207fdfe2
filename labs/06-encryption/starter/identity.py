"""Lab 06 · the server's long-term identity: given, you do not need to change it.

The server has a long-term Ed25519 signing key, kept in server_identity.key
(its 32-byte seed, in hex). In every box handshake the server signs

    b"socketlab/1 server hello\\x00" + the client's key + the server's key

and sends its public identity and the signature in server_hello
(docs/protocol.md section 4). Why, and how a client checks it: lab 08.
"""

import os
from pathlib import Path

from nacl.signing import SigningKey

HELLO_CONTEXT = b"socketlab/1 server hello\x00"


def load_or_create_identity(path: Path) -> SigningKey:
    """The identity kept in path; made (mode 0600) the first time."""
    path = Path(path)
    if path.exists():
        seed = bytes.fromhex(path.read_text(encoding="ascii").strip())
        if len(seed) != 32:
            raise ValueError(f"{path} does not hold a 32-byte key")
        return SigningKey(seed)
    identity = SigningKey.generate()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(bytes(identity).hex() + "\n")
    return identity


def sign_hello(identity: SigningKey, client_key: bytes, server_key: bytes) -> bytes:
    """The 64-byte Ed25519 signature over the context and both session keys."""
    return identity.sign(HELLO_CONTEXT + client_key + server_key).signature

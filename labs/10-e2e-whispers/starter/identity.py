"""Long-term Ed25519 identities, fingerprints and pins (lab 08). Given code in lab 10.

The server signs each handshake with its identity; a client pins that
identity per HOST:PORT the first time (trust on first use, like SSH's
known_hosts) and refuses a different one later, showing both fingerprints.
Lab 10 uses the same pieces for users: each user has an identity of their own.
"""

import hashlib
import os
import sys
from pathlib import Path

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey
from secure import ProtocolError

HELLO_CONTEXT = b"socketlab/1 server hello\x00"
IDENTITY_FILE = Path(__file__).with_name("server_identity.key")


def home_folder() -> Path:
    """Where a user's keys and pins live: $SOCKETLAB_HOME, else ~/.socketlab (%APPDATA% on Windows)."""
    if os.environ.get("SOCKETLAB_HOME"):
        return Path(os.environ["SOCKETLAB_HOME"])
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "socketlab"
    return Path.home() / ".socketlab"


def write_private(path: Path, text: str) -> None:
    """Write path readable by its owner only (mode 0600 where the system has modes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(text.encode("utf-8"))


def load_or_create_identity(path: Path) -> SigningKey:
    """The Ed25519 key kept in path (a 32-byte seed as hex), made on first use."""
    path = Path(path)
    if path.exists():
        return SigningKey(bytes.fromhex(path.read_text(encoding="ascii").strip()))
    key = SigningKey.generate()
    write_private(path, bytes(key).hex() + "\n")
    return key


def fingerprint(identity: bytes) -> str:
    """What people compare: SHA256: and the first 16 bytes of SHA-256, in groups of four."""
    digest = hashlib.sha256(identity).hexdigest()[:32]
    return "SHA256:" + " ".join(digest[i:i + 4] for i in range(0, 32, 4))


def sign_hello(identity: SigningKey, client_key: bytes, server_key: bytes) -> bytes:
    """The server's signature over this handshake's two ephemeral keys."""
    return identity.sign(HELLO_CONTEXT + client_key + server_key).signature


def verify_hello(identity: bytes, client_key: bytes, server_key: bytes, signature: bytes) -> None:
    """Raise ProtocolError bad_signature unless identity signed these two keys."""
    try:
        VerifyKey(identity).verify(HELLO_CONTEXT + client_key + server_key, signature)
    except (BadSignatureError, ValueError):
        raise ProtocolError("bad_signature", "the server's handshake signature does not verify") \
            from None


def read_pins(path: Path, fields: int) -> dict[str, str]:
    """The pins in a pin file: the last field of each line by the others, joined by a space.

    Lines starting with #, blank lines and lines without `fields` fields are skipped.
    """
    pins: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == fields and not line.startswith("#"):
                pins[" ".join(parts[:-1])] = parts[-1]
    return pins


def write_pins(path: Path, pins: dict[str, str]) -> None:
    write_private(path, "".join(f"{where} {key}\n" for where, key in sorted(pins.items())))


def check_server_pin(home: Path, host: str, port: int, identity: bytes) -> str:
    """Pin the server's identity on first use ("new"), accept it again ("known"),
    or raise ProtocolError identity_changed with both fingerprints."""
    path = home / "known_servers"
    where = f"{host}:{port}"
    pins = read_pins(path, 2)
    if where not in pins:
        pins[where] = identity.hex()
        write_pins(path, pins)
        return "new"
    if pins[where] == identity.hex():
        return "known"
    raise ProtocolError(
        "identity_changed",
        f"the server at {where} is not the one you met before:\n"
        f"  pinned:  {fingerprint(bytes.fromhex(pins[where]))}\n"
        f"  offered: {fingerprint(identity)}\n"
        "someone may be in the middle. If the server's key really changed, delete its line "
        f"in {path}")

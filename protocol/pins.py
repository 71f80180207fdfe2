"""Server identity: long-term keys, fingerprints, and pinning on first use.

Like SSH's known_hosts: the first time a client meets a server (host:port)
it records the server's identity key; afterwards a different key is refused,
with both fingerprints shown so a person can compare them out of band.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from pathlib import Path
from typing import Literal

from nacl.signing import SigningKey

from .errors import IdentityError, LocalProtocolError

PINS_FILE = "known_servers"


def socketlab_home() -> Path:
    """The per-user folder for pins and keys (``$SOCKETLAB_HOME`` overrides it)."""
    override = os.environ.get("SOCKETLAB_HOME")
    if override:
        return Path(override)
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "socketlab"
    return Path.home() / ".socketlab"


def fingerprint(identity: bytes) -> str:
    """A short, grouped fingerprint people can read aloud and compare."""
    digest = hashlib.sha256(identity).hexdigest()[:32]
    return "SHA256:" + " ".join(digest[i : i + 4] for i in range(0, 32, 4))


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only (where the OS has modes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def load_or_create_identity(path: Path) -> SigningKey:
    """The server's long-term Ed25519 key, made (mode 0600) on first start."""
    path = Path(path)
    if path.exists():
        seed = bytes.fromhex(path.read_text(encoding="ascii").strip() or "00")
        if len(seed) != 32:
            raise LocalProtocolError("bad_identity", f"{path} does not hold a 32-byte key")
        return SigningKey(seed)
    key = SigningKey.generate()
    _write_private(path, bytes(key).hex().encode("ascii") + b"\n")
    return key


class PinFile:
    """A text file of pins: each line the fields of a key, then an identity in hex.

    Lines starting with ``#``, blank lines and lines of another field count are
    ignored; the file is rewritten sorted, readable by its owner only. Both pin
    stores (servers, and users per server) are one of these.
    """

    def __init__(self, path: Path, fields: int) -> None:
        self.path = path
        self._fields = fields  # the key's fields, the identity not counted
        self._lock = threading.Lock()

    def _read(self) -> dict[tuple[str, ...], str]:
        pins: dict[tuple[str, ...], str] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) == self._fields + 1 and not line.startswith("#"):
                    pins[tuple(parts[:-1])] = parts[-1]
        return pins

    def _write(self, pins: dict[tuple[str, ...], str]) -> None:
        text = "".join(" ".join((*key, ident)) + "\n" for key, ident in sorted(pins.items()))
        _write_private(self.path, text.encode("utf-8"))

    def pin(self, key: tuple[str, ...], identity: bytes) -> str | None:
        """Pin ``identity`` under ``key`` if nothing is pinned there yet (and return None);
        else return the identity pinned before, in hex, and change nothing."""
        with self._lock:
            pins = self._read()
            known = pins.get(key)
            if known is None:
                pins[key] = identity.hex()
                self._write(pins)
            return known

    def entries(self) -> dict[tuple[str, ...], str]:
        """Every pin: its key's fields -> the identity in hex."""
        with self._lock:
            return self._read()

    def forget(self, key: tuple[str, ...]) -> bool:
        """Remove the pin under ``key``; True if there was one."""
        with self._lock:
            pins = self._read()
            if pins.pop(key, None) is None:
                return False
            self._write(pins)
            return True


def changed_identity(known_hex: str, offered: bytes, story: str) -> IdentityError:
    """``identity_changed``: ``story`` says who, then both fingerprints, then ``advice``."""
    known_fp, offered_fp = fingerprint(bytes.fromhex(known_hex)), fingerprint(offered)
    head, _, advice = story.partition("\n")
    return IdentityError(
        "identity_changed",
        f"{head}\n  pinned:  {known_fp}\n  offered: {offered_fp}\n{advice}",
        known=known_fp,
        offered=offered_fp,
    )


class PinStore:
    """``host:port identity-hex`` lines in a text file, one per server."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else socketlab_home() / PINS_FILE
        self._file = PinFile(self.path, fields=1)

    def check(self, host: str, port: int, identity: bytes) -> Literal["new", "known"]:
        """Pin ``identity`` for host:port on first use; refuse a different one later."""
        where = f"{host}:{port}"
        known = self._file.pin((where,), identity)
        if known is None:
            return "new"
        if known == identity.hex():
            return "known"
        raise changed_identity(
            known, identity,
            f"the server at {where} presented a different identity than before.\n"
            "Someone may be intercepting the connection (a man in the middle), or the "
            "server's key was replaced. If you trust the new key, forget the old one: "
            f"socketlab client --forget-server {where}",
        )

    def forget(self, host: str, port: int) -> bool:
        """Remove the pin for host:port; True if there was one."""
        return self._file.forget((f"{host}:{port}",))

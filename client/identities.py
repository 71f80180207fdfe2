"""One end-to-end user identity per chat name per server, kept in the socketlab home.

In ``user_identities``: one line ``HOST:PORT NAMEKEY SEED`` per name that logged
in on a server (``NAMEKEY`` is the name's key, so ``Alice`` is ``alice``; the
Ed25519 seed in hex), readable by its owner only. So alice and bob started
from one computer's two terminals have two fingerprints, and comparing them
means something.

Before this, one ``user_identity.key`` served every name. If a home still has
one, the first name to log in on each server keeps it there (the people who
pinned that name see no change), and every other name gets a key of its own.
The old file stays where it is.
"""

from __future__ import annotations

from pathlib import Path

from nacl.signing import SigningKey

from socketlab.protocol import load_or_create_identity, name_key
from socketlab.protocol.pins import PinFile

IDENTITIES_FILE = "user_identities"
OLD_IDENTITY_FILE = "user_identity.key"  # the one identity of every name, before


class UserIdentities:
    """The user identities in ``home``: ``find`` one for a login, ``keep`` it once welcomed."""

    def __init__(self, home: Path) -> None:
        self.path = home / IDENTITIES_FILE
        self._file = PinFile(self.path, fields=2)
        self._legacy = home / OLD_IDENTITY_FILE

    def find(self, host: str, port: int, name: str) -> SigningKey:
        """The identity of ``name`` on ``host:port``: its own, else the old shared one if
        no name on that server has it yet, else a new one (``keep`` stores it)."""
        where = f"{host}:{port}"
        entries = self._file.entries()
        seed = entries.get((where, name_key(name)))
        if seed is not None:
            return SigningKey(bytes.fromhex(seed))
        if self._legacy.exists():
            legacy = load_or_create_identity(self._legacy)
            taken = {known for (server, _), known in entries.items() if server == where}
            if bytes(legacy).hex() not in taken:
                return legacy
        return SigningKey.generate()

    def keep(self, host: str, port: int, name: str, identity: SigningKey) -> None:
        """Store ``identity`` for ``name`` on ``host:port`` unless one is stored already."""
        self._file.pin((f"{host}:{port}", name_key(name)), bytes(identity))

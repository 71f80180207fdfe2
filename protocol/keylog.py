"""The key log: socketlab's SSLKEYLOGFILE, so the inspector can decrypt.

Written only when asked (``--keylog FILE`` or ``SOCKETLAB_KEYLOG=FILE``):
one line per session, ``SOCKETLAB_BOX <client key hex> <session key hex>``,
in the spirit of NSS's ``CLIENT_RANDOM <hex> <hex>``. The client's ephemeral
public key appears in its ``hello``, which is how a capture finds its line.
Anyone holding this file can read the sessions in it: it is created 0600.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .errors import KeyLogError

KEYLOG_LABEL = "SOCKETLAB_BOX"
KEYLOG_ENV = "SOCKETLAB_KEYLOG"


def keylog_line(client_key: bytes, session_key: bytes) -> str:
    """One key-log line (with its newline)."""
    return f"{KEYLOG_LABEL} {client_key.hex()} {session_key.hex()}\n"


class KeyLogWriter:
    """Appends key-log lines; safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(self, client_key: bytes, session_key: bytes) -> None:
        line = keylog_line(client_key, session_key).encode("ascii")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
            fd = os.open(self.path, flags, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)


def keylog_from_env(arg: str | os.PathLike[str] | None) -> KeyLogWriter | None:
    """A writer for ``arg``, else for ``$SOCKETLAB_KEYLOG``, else None (no key log)."""
    target = arg or os.environ.get(KEYLOG_ENV)
    return KeyLogWriter(target) if target else None


def parse_keylog(text: str) -> dict[bytes, bytes]:
    """Map client key → session key; blank lines and ``#`` comments are skipped."""
    keys: dict[bytes, bytes] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = stripped.split()
        if len(parts) != 3 or parts[0] != KEYLOG_LABEL:
            raise KeyLogError(
                f"expected '{KEYLOG_LABEL} <client key> <session key>'", line_no=line_no
            )
        try:
            client_key, session_key = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
        except ValueError:
            raise KeyLogError("keys must be hex", line_no=line_no) from None
        if len(client_key) != 32 or len(session_key) != 32:
            raise KeyLogError("keys must be 32 bytes (64 hex digits)", line_no=line_no)
        keys[client_key] = session_key
    return keys


def read_keylog(path: str | os.PathLike[str]) -> dict[bytes, bytes]:
    """Read a key-log file (see ``parse_keylog``)."""
    try:
        text = Path(path).read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise KeyLogError("the file is not a text key log", line_no=1) from None
    return parse_keylog(text)

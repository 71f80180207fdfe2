"""The key log: socketlab's SSLKEYLOGFILE, so the inspector can decrypt.

Written only when asked (``--keylog FILE`` or ``SOCKETLAB_KEYLOG=FILE``):
one line per session, ``SOCKETLAB_BOX <client key hex> <session key hex>``,
in the spirit of NSS's ``CLIENT_RANDOM <hex> <hex>``. The client's ephemeral
public key appears in its ``hello``, which is how a capture finds its line.
Anyone holding this file can read the sessions in it: it is created 0600.

A client's key log may also hold ``SOCKETLAB_E2E <e2e public key hex> <e2e
secret key hex>``: with it the inspector opens that user's end-to-end
whispers, which the server's key log (transport keys only) cannot.
"""

from __future__ import annotations

import codecs
import os
import threading
from pathlib import Path

from nacl.bindings import crypto_scalarmult_base

from .errors import KeyLogError

KEYLOG_LABEL = "SOCKETLAB_BOX"
E2E_KEYLOG_LABEL = "SOCKETLAB_E2E"
KEYLOG_ENV = "SOCKETLAB_KEYLOG"


def keylog_line(client_key: bytes, session_key: bytes) -> str:
    """One key-log line (with its newline)."""
    return f"{KEYLOG_LABEL} {client_key.hex()} {session_key.hex()}\n"


def e2e_keylog_line(public: bytes, secret: bytes) -> str:
    """One ``SOCKETLAB_E2E`` line (with its newline): a user's e2e key pair."""
    return f"{E2E_KEYLOG_LABEL} {public.hex()} {secret.hex()}\n"


class KeyLogWriter:
    """Appends key-log lines; safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(self, client_key: bytes, session_key: bytes) -> None:
        self._append(keylog_line(client_key, session_key))

    def write_e2e(self, public: bytes, secret: bytes) -> None:
        """Log a session's end-to-end key pair (a client's key log only)."""
        self._append(e2e_keylog_line(public, secret))

    def _append(self, text: str) -> None:
        line = text.encode("ascii")
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


def _parse(text: str) -> tuple[dict[bytes, bytes], dict[bytes, bytes]]:
    boxes: dict[bytes, bytes] = {}
    e2e: dict[bytes, bytes] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = stripped.split()
        if len(parts) != 3 or parts[0] not in (KEYLOG_LABEL, E2E_KEYLOG_LABEL):
            raise KeyLogError(
                f"expected '{KEYLOG_LABEL} <client key> <session key>' or "
                f"'{E2E_KEYLOG_LABEL} <e2e public key> <e2e secret key>'",
                line_no=line_no,
            )
        try:
            first, second = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
        except ValueError:
            raise KeyLogError("keys must be hex", line_no=line_no) from None
        if len(first) != 32 or len(second) != 32:
            raise KeyLogError("keys must be 32 bytes (64 hex digits)", line_no=line_no)
        if parts[0] == KEYLOG_LABEL:
            boxes[first] = second
        elif crypto_scalarmult_base(second) != first:
            raise KeyLogError("the e2e secret key is not the public key's", line_no=line_no)
        else:
            e2e[first] = second
    return boxes, e2e


def parse_keylog(text: str) -> dict[bytes, bytes]:
    """Map client key → session key; blank lines and ``#`` comments are skipped
    (``SOCKETLAB_E2E`` lines are checked, and read by ``parse_e2e_keylog``)."""
    return _parse(text)[0]


def parse_e2e_keylog(text: str) -> dict[bytes, bytes]:
    """Map e2e public key → e2e secret key, from the ``SOCKETLAB_E2E`` lines."""
    return _parse(text)[1]


def _read_text(path: str | os.PathLike[str]) -> str:
    # Notepad starts a file it saves as UTF-8 with a byte-order mark: not a key-log error.
    data = Path(path).read_bytes().removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise KeyLogError("the file is not a text key log", line_no=1) from None


def read_e2e_keylog(path: str | os.PathLike[str]) -> dict[bytes, bytes]:
    """Read the ``SOCKETLAB_E2E`` lines of a key-log file (see ``parse_e2e_keylog``)."""
    return parse_e2e_keylog(_read_text(path))


def read_keylog(path: str | os.PathLike[str]) -> dict[bytes, bytes]:
    """Read a key-log file (see ``parse_keylog``)."""
    return parse_keylog(_read_text(path))

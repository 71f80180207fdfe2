"""A key log that follows its file while a live capture runs."""

from __future__ import annotations

from pathlib import Path
from stat import S_ISDIR

from socketlab.protocol import read_e2e_keylog, read_keylog

from .errors import KeyLogFileError


class KeyLogFile(dict[bytes, bytes]):
    """A key log that reads its file again when it has changed.

    During a live capture the key-log line of a session is written while the
    session starts, so the file must be read again as new sessions appear;
    a missing key costs one ``stat`` until the file changes, not a re-read.
    The file may not exist yet (a live capture started before the server),
    unless ``must_exist``: a file read offline that is not there is a typo.
    ``e2e`` holds a client's end-to-end key pairs (``SOCKETLAB_E2E`` lines).
    Raises ``KeyLogFileError`` naming the path when the file cannot be read.
    """

    def __init__(self, path: Path, *, must_exist: bool = False) -> None:
        super().__init__()
        self.path = path
        self.e2e = E2EKeyPairs(self)
        self._seen: tuple[int, int] | None = None
        if must_exist and not path.exists():
            raise KeyLogFileError("no_keylog", f"no key log at {path}: a server or client "
                                               f"writes one when started with --keylog {path}")
        self.refresh()

    def refresh(self) -> None:
        """Read the file again if it changed since the last read."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return
        if (stat.st_mtime_ns, stat.st_size) == self._seen:
            return
        if S_ISDIR(stat.st_mode):
            raise KeyLogFileError("cannot_read_keylog", f"{self.path} is a folder, not a key log")
        self._seen = (stat.st_mtime_ns, stat.st_size)
        try:
            self.update(read_keylog(self.path))
            self.e2e.update(read_e2e_keylog(self.path))
        except OSError as exc:
            raise KeyLogFileError("cannot_read_keylog", f"cannot read the key log {self.path}: "
                                                        f"{exc.strerror or exc}") from None

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        if key not in self:
            self.refresh()
        return super().get(key, default)


class E2EKeyPairs(dict[bytes, bytes]):
    """A key log's e2e pairs (public key → secret key), read again with its file
    (a client logs its pair when it logs in, after its session's line)."""

    def __init__(self, owner: KeyLogFile) -> None:
        super().__init__()
        self._owner = owner

    def __contains__(self, key: object) -> bool:
        if not super().__contains__(key):
            self._owner.refresh()
        return super().__contains__(key)

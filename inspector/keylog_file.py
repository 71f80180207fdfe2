"""A key log that follows its file while a live capture runs."""

from __future__ import annotations

from pathlib import Path

from socketlab.protocol import read_keylog


class KeyLogFile(dict[bytes, bytes]):
    """A key log that reads its file again when it has changed.

    During a live capture the key-log line of a session is written while the
    session starts, so the file must be read again as new sessions appear;
    a missing key costs one ``stat`` until the file changes, not a re-read.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._refresh()

    def _refresh(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return
        if (stat.st_mtime_ns, stat.st_size) != self._seen:
            self._seen = (stat.st_mtime_ns, stat.st_size)
            self.update(read_keylog(self.path))

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        if key not in self:
            self._refresh()
        return super().get(key, default)

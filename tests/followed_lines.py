"""A child process's output, read line by line as it comes, for tests that wait for a line."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import IO


class FollowedLines:
    """What a child printed: ``seen`` (the lines looked at so far) and the lines still to come."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))

    def next_match(self, match: Callable[[str], object], timeout: float) -> str | None:
        """The first line from now on that ``match`` accepts, or None when none comes in time."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if match(line):
                return line
        return None

    def rest(self, timeout: float) -> list[str]:
        """Every line still to come once the stream has ended (waits up to ``timeout``)."""
        self._reader.join(timeout)
        rest = []
        while not self._lines.empty():
            rest.append(self._lines.get())
        self.seen += rest
        return rest

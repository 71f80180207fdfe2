"""Writes decoded items to stdout: the side-by-side view, or JSON lines (``--json``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from itertools import islice

from .decode import Decoded
from .events import Connection
from .view import render, to_json_line


class Printer:
    """Writes decoded items as the side-by-side view or as JSON lines."""

    def __init__(self, as_json: bool, colour: bool | None = None,
                 width: int | None = None) -> None:
        self.as_json = as_json
        self.colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ \
            if colour is None else colour
        self.width = max(80, min(160, _terminal_width())) if width is None else width
        self._seen: set[Connection] = set()

    def format(self, items: Iterable[Decoded]) -> list[str]:
        """The text blocks for ``items``, one or more per item, without writing them."""
        if self.as_json:
            return [to_json_line(item) for item in items]
        return list(render(items, colour=self.colour, width=self.width, seen=self._seen))

    def emit(self, items: Iterable[Decoded]) -> int:
        """Write ``items`` as they come (a live capture shows each at once); how many blocks."""
        if self.as_json:
            return self.write(map(to_json_line, items))
        return self.write(render(items, colour=self.colour, width=self.width, seen=self._seen))

    def write(self, texts: Iterable[str]) -> int:
        """Write text blocks in chunks (one write per block would dominate a large file);
        return how many blocks were written."""
        count = 0
        blocks = iter(texts)
        while chunk := list(islice(blocks, 512)):
            count += len(chunk)
            chunk.append("")  # the last line's newline, without copying the chunk again
            sys.stdout.write("\n".join(chunk))
        sys.stdout.flush()
        return count


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 120

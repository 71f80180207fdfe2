"""Writes decoded items to stdout: the side-by-side view, or JSON lines (``--json``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from .decode import Decoded
from .events import Connection
from .view import render, to_json_line


class Printer:
    """Writes decoded items as the side-by-side view or as JSON lines."""

    def __init__(self, as_json: bool, colour: bool | None = None) -> None:
        self.as_json = as_json
        self.colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ \
            if colour is None else colour
        self.width = max(80, min(160, _terminal_width()))
        self._seen: set[Connection] = set()

    def emit(self, items: Iterable[Decoded]) -> None:
        """Write ``items``, in chunks: one write per item would dominate a large file."""
        chunk: list[str] = []
        for item in items:
            if self.as_json:
                chunk.append(to_json_line(item))
            else:
                chunk.extend(render([item], colour=self.colour, width=self.width,
                                    seen=self._seen))
            if len(chunk) >= 512:
                sys.stdout.write("\n".join(chunk) + "\n")
                chunk.clear()
        if chunk:
            sys.stdout.write("\n".join(chunk) + "\n")
        sys.stdout.flush()


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 120

"""Reading the text view back as a student reads it: which connection each frame is under.

A connection is introduced by one heading; every frame, chunk and note line
starts with its connection's tag, the client's port; a frame's hex rows are
indented under its title line.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

HEADING = re.compile(r"^═══ connection \[(\d+)\]: client \S+:(\d+) ⇄ server \S+:(\d+) ")
TAGGED = re.compile(r"^\[(\d+)\] ")
TITLE = re.compile(r"^\[(\d+)\] #(\d+) +(client → server|server → client)  (\d+) B  "
                   r"(plaintext|encrypted|undecodable|frame): (\S+)$")
DIRECTIONS = {"client → server": "c2s", "server → client": "s2c"}
STATES = {"plain": "plaintext", "sealed": "encrypted", "undecodable": "undecodable",
          "frame": "frame"}


@dataclass(frozen=True)
class Shown:
    """One frame's title line: the connection it is under and its number there."""

    port: int
    number: int
    direction: str
    size: int
    state: str
    what: str
    rows: tuple[str, ...]  # the indented lines under it


def frames_under_connections(text: str) -> list[Shown]:
    """The frames of a text view, in order; fails unless every line is placed:
    a heading once per connection before its first line, each other line tagged
    with an introduced connection or indented under a tagged line."""
    introduced: set[int] = set()
    shown: list[Shown] = []
    rows: list[str] = []
    title: re.Match[str] | None = None
    tagged_before = False

    def close_title() -> None:
        if title is not None:
            port, number, arrow, size, state, what = title.groups()
            shown.append(Shown(int(port), int(number), DIRECTIONS[arrow], int(size), state,
                               what, tuple(rows)))

    for line in text.splitlines():
        if line.startswith("  "):
            assert tagged_before, f"an indented line under no tagged line: {line!r}"
            rows.append(line)
            continue
        close_title()
        title, rows = None, []
        if heading := HEADING.match(line):
            port = int(heading[1])
            assert port == int(heading[2]), line
            assert port not in introduced, f"connection {port} introduced twice"
            introduced.add(port)
            tagged_before = False
            continue
        tag = TAGGED.match(line)
        assert tag, f"a line that names no connection: {line!r}"
        assert int(tag[1]) in introduced, f"tagged before its heading: {line!r}"
        tagged_before = True
        title = TITLE.match(line)
        assert title or "#" not in line.split()[1], f"a frame line not understood: {line!r}"
    close_title()
    return shown


def assert_numbered_per_connection(shown: list[Shown], first: int | None = 1) -> None:
    """Each connection numbers each direction's frames on its own, one by one
    (from ``first``, or from wherever it starts when ``first`` is None)."""
    numbers: dict[tuple[int, str], list[int]] = defaultdict(list)
    for frame in shown:
        numbers[frame.port, frame.direction].append(frame.number)
    for key, seen in numbers.items():
        start = seen[0] if first is None else first
        assert seen == list(range(start, start + len(seen))), (key, seen)


def assert_interleaved(shown: list[Shown]) -> None:
    """Some connection's frames come back after another connection's: the hard case."""
    runs = [frame.port for i, frame in enumerate(shown)
            if i == 0 or shown[i - 1].port != frame.port]
    assert len(runs) > len(set(runs)), f"the connections never interleave: {runs}"


def json_frames(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if "number" in row]


def as_shown(row: dict[str, Any]) -> tuple[int, int, str, int, str]:
    """A ``--json`` frame as the text view should title it."""
    return (row["client"][1], row["number"], row["direction"], row["size"],
            STATES[row["kind"]])


def title_of(frame: Shown) -> tuple[int, int, str, int, str]:
    return (frame.port, frame.number, frame.direction, frame.size, frame.state)

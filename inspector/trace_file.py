"""Read the thread trace files written by ``--trace FILE`` (JSON lines).

Each line is one state change of one thread (schema in the API contract):
``{"t": 1764075123.1, "proc": "server", "thread": "reader-alice", "state": "recv"}``
with an optional ``"detail"`` string. Unknown extra keys are ignored so that a
newer tracer can add fields without breaking older inspectors.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from socketlab.protocol import SocketlabError
from socketlab.trace import RENAMED, STATES

__all__ = ["RENAMED", "STATES", "TraceFileError", "TraceRecord", "parse_trace_line", "read_trace"]


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """One state change: thread ``thread`` of ``proc`` entered ``state`` at wall-clock ``t``."""

    t: float
    proc: str
    thread: str
    state: str
    detail: str | None = None


class TraceFileError(SocketlabError):
    """A trace line is not valid; names the file and the 1-based line number."""

    def __init__(self, path: Path, line_no: int, reason: str) -> None:
        super().__init__("bad_trace", f"{path}:{line_no}: {reason}")
        self.path = path
        self.line_no = line_no
        self.reason = reason


def parse_trace_line(line: str) -> TraceRecord:
    """Parse one JSON line; raise ``ValueError`` with a short reason if it is invalid."""
    try:
        obj = json.loads(line)
    except RecursionError:  # json.loads of deeply nested arrays is not a ValueError
        raise ValueError("not valid JSON (nested too deeply)") from None
    except ValueError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")

    t = obj.get("t")
    # bool is an int subclass, and json accepts NaN/Infinity: reject all three.
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
        raise ValueError(f'"t" must be a finite number of seconds, got {t!r}')
    fields: dict[str, str] = {}
    for key in ("proc", "thread", "state"):
        value = obj.get(key)
        if not isinstance(value, str) or not value:
            raise ValueError(f'"{key}" must be a non-empty string, got {value!r}')
        fields[key] = value
    if fields["state"] not in STATES:
        raise ValueError(f"unknown state {fields['state']!r} (expected one of {', '.join(STATES)})")
    detail = obj.get("detail")
    if detail is not None and not isinstance(detail, str):
        raise ValueError(f'"detail" must be a string, got {detail!r}')
    return TraceRecord(float(t), fields["proc"], fields["thread"], fields["state"], detail)


def read_trace(paths: str | Path | Iterable[str | Path]) -> list[TraceRecord]:
    """Read one or more trace files into one list sorted by time.

    Several files (a server's and its clients') merge on one axis because ``t``
    is wall-clock time. Blank lines are skipped. Raises ``TraceFileError`` with
    the file and line number on the first invalid line.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    records: list[TraceRecord] = []
    for path in map(Path, paths):
        with path.open("rb") as f:
            # Binary read + per-line decode, so bad UTF-8 is reported with its line number.
            for line_no, raw in enumerate(f, start=1):
                try:
                    line = raw.decode("utf-8")
                    if line.strip():
                        records.append(parse_trace_line(line))
                except ValueError as exc:  # UnicodeDecodeError is a ValueError too
                    raise TraceFileError(path, line_no, str(exc)) from None
    # Stable sort: records with equal times keep their file order.
    records.sort(key=lambda r: r.t)
    return records

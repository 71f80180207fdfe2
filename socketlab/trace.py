"""Thread activity as JSON lines, for the inspector's timeline chart.

One line per state change of one thread (schema in the API contract)::

    {"t": 1764075123.123456, "proc": "server", "thread": "reader-alice", "state": "recv"}

A state lasts until the same thread's next line. Recording only appends a
tuple to a deque (thread-safe under the GIL, no lock); formatting and writing
happen in batches. When tracing is off the server holds a ``NullTracer``,
whose ``record`` does nothing.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from pathlib import Path

# The file contract shared with the inspector's reader (inspector/trace_file.py).
# Order matters there: it is the legend order of the timeline chart.
STATES: tuple[str, ...] = ("recv", "handling", "sending", "queue_wait", "lock_wait", "exit")
# The detail of an "exit" record that means "this thread goes on under another name".
RENAMED = "renamed to "


class Tracer:
    """Writes ``(time, thread, state)`` records of process ``proc`` to ``path``."""

    enabled = True

    def __init__(
        self, path: str | os.PathLike[str], proc: str = "server", *, batch: int = 4096
    ) -> None:
        self.path = Path(path)
        self.proc = proc
        self._batch = batch
        self._pending: deque[tuple[float, str, str, str | None]] = deque()
        self._write_lock = threading.Lock()
        self._file = self.path.open("w", encoding="utf-8")

    def record(self, state: str, detail: str | None = None, *, thread: str | None = None) -> None:
        """The calling thread (or the one named ``thread``) enters ``state`` now."""
        name = thread or threading.current_thread().name
        self._pending.append((time.time(), name, state, detail))
        if len(self._pending) >= self._batch:
            self.flush()

    def flush(self) -> None:
        """Write what was recorded so far."""
        with self._write_lock:
            if self._file.closed:
                self._pending.clear()
                return
            lines = []
            # popleft, not a swap of lists: another thread may append meanwhile.
            for _ in range(len(self._pending)):
                t, thread, state, detail = self._pending.popleft()
                obj = {"t": t, "proc": self.proc, "thread": thread, "state": state}
                if detail is not None:
                    obj["detail"] = detail
                lines.append(json.dumps(obj, ensure_ascii=False) + "\n")
            self._file.write("".join(lines))
            self._file.flush()

    def close(self) -> None:
        """Write the rest and close the file; later records are dropped."""
        self.flush()
        with self._write_lock:
            self._file.close()


class NullTracer:
    """Tracing off: every call returns at once."""

    enabled = False

    def record(self, state: str, detail: str | None = None, *, thread: str | None = None) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def open_tracer(
    target: str | os.PathLike[str] | Tracer | NullTracer | None, proc: str = "server"
) -> Tracer | NullTracer:
    """A tracer for a path, the tracer itself if given one, or a ``NullTracer`` for None."""
    if target is None:
        return NullTracer()
    if isinstance(target, (Tracer, NullTracer)):
        return target
    return Tracer(target, proc)

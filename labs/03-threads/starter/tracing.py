"""A tiny tracer: which state each thread is in, over time, for a timeline chart.

GIVEN — you do not change this file. (It is not called trace.py, because
Python has a standard module of that name, and a file next to yours would hide it.)

When the server runs with --trace FILE, every state change of every thread
becomes one JSON line in FILE:

    {"t": 1764075123.123456, "proc": "server", "thread": "reader-127.0.0.1:50412", "state": "recv"}

A state lasts until the same thread's next line. Draw the timeline with:

    socketlab chart threads FILE -o threads.png

States: "recv" (waiting for bytes), "handling" (working), "sending",
"lock_wait" (waiting for a lock another thread holds), "exit" (the thread ends).
When tracing is off (the default), record() does nothing.
"""

import json
import os
import threading
import time
from typing import IO

STATES = ("recv", "handling", "sending", "queue_wait", "lock_wait", "exit")



class _Output:
    """Where the trace goes: a file while tracing, None while not."""

    file: IO[str] | None = None
    proc = "server"
    lock = threading.Lock()  # one line at a time, never two threads' lines mixed


_out = _Output()


def start(path: str | os.PathLike[str], proc: str = "server") -> None:
    """Trace from now on into the file at path (replaced)."""
    with _out.lock:
        _out.proc = proc
        _out.file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open until stop()


def record(state: str) -> None:
    """The calling thread enters state now (nothing happens while tracing is off)."""
    if _out.file is None:
        return
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}: one of {', '.join(STATES)}")
    line = json.dumps({"t": time.time(), "proc": _out.proc,
                       "thread": threading.current_thread().name, "state": state})
    with _out.lock:
        if _out.file is not None:
            _out.file.write(line + "\n")
            _out.file.flush()  # a server stopped with Ctrl-C keeps what it traced


def stop() -> None:
    """Stop tracing and close the file."""
    with _out.lock:
        if _out.file is not None:
            _out.file.close()
            _out.file = None


class Lock:
    """A threading.Lock that, when tracing, notes how long a thread waited for it.

    Use it like any lock: ``with room.lock: ...``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> "Lock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(blocking=False):  # free: no waiting to show
            return True
        record("lock_wait")
        got = self._lock.acquire(blocking, timeout)
        record("handling")
        return got

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

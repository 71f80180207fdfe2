"""Run one check process on its own, within limits, and say what it did.

A student's code runs inside the checks' process, so it can do anything to
it: start threads that never end, fork copies of it, exit in the middle of a
check, print megabytes of anything. The process therefore gets a process
group of its own (a job object on Windows): at the end, and at every time
limit, the whole group is killed, so no copy of it and no port it held
outlives the run. Its output is read as bytes, and only the tail is kept.

The child writes one JSON line per event to a report file (``plugin.py`` and
``guard.py``), each with the ``pid`` that wrote it: only the child's own lines
are results; lines from another pid were written by a forked copy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPORT_LIMIT = 8 * 1024 * 1024  # bytes of report read at most (a forked copy may loop)
POLL = 0.05  # seconds between looks at the child and its report
REAP_WAIT = 2.0  # seconds to wait for a killed group to be gone


@dataclass(frozen=True)
class Limits:
    """How long the child may take, and how much of its output is kept."""

    check: float  # one check, from its start (the child's own watchdog fires first)
    run: float = 180.0  # the whole run: a backstop for what happens between checks
    check_grace: float = 3.0  # beyond ``check``, for the child's watchdog to end it itself
    exit_grace: float = 5.0  # after the session ends, for the process to exit (slow under load)
    # … or less when non-daemon threads were still running then: they have had a wait already
    thread_grace: float = 2.0
    output: int = 1024 * 1024  # bytes of output kept: the last ones


@dataclass
class ChildOutcome:
    """What happened to the child process, from outside."""

    pid: int
    limits: Limits
    status: int | None = None  # exit status, negative for a signal; None when stopped by us
    stopped: str | None = None  # which limit stopped it: "check", "exit" or "run"
    records: list[dict[str, Any]] = field(default_factory=list)  # its own report lines
    foreign: list[dict[str, Any]] = field(default_factory=list)  # lines of other processes
    leftovers: list[int] = field(default_factory=list)  # processes of its group it outlived by
    output: str = ""  # stdout and stderr, interleaved: the tail, undecodable bytes replaced
    output_cut: int = 0  # bytes of output dropped from the front
    seconds: float = 0.0


class _Tail:
    """The last ``limit`` bytes of a stream, and how many came before them."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size, self.cut = limit, 0, 0
        self.chunks: deque[bytes] = deque()

    def drain(self, stream: IO[bytes]) -> None:
        while chunk := os.read(stream.fileno(), 65536):
            self.chunks.append(chunk)
            self.size += len(chunk)
            while self.size - len(self.chunks[0]) >= self.limit:
                self.size -= len(dropped := self.chunks.popleft())
                self.cut += len(dropped)

    def text(self) -> tuple[str, int]:
        """The kept bytes as text (undecodable bytes replaced), and how many were cut."""
        data = b"".join(self.chunks)
        extra = max(0, len(data) - self.limit)
        return data[extra:].decode("utf-8", errors="replace"), self.cut + extra


class _Report:
    """The report file as it grows: complete lines, split by who wrote them."""

    def __init__(self, path: Path, pid: int) -> None:
        self.path, self.pid = path, pid
        self.offset, self.partial = 0, b""
        self.own: list[dict[str, Any]] = []
        self.foreign: list[dict[str, Any]] = []
        self.open_check_since: float | None = None  # a check started and not ended
        self.finished_at: float | None = None  # the session's end was reported
        self.threads_left = 0  # non-daemon threads running at the session's end

    def read(self) -> None:
        if self.offset >= REPORT_LIMIT:
            return
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read(REPORT_LIMIT - self.offset)
        except OSError:
            return
        self.offset += len(data)
        *lines, self.partial = (self.partial + data).split(b"\n")
        for line in lines:
            try:
                record = json.loads(line.decode("utf-8", errors="replace"))
            except ValueError:
                continue  # torn by a copy writing at the same moment: never a result
            if isinstance(record, dict):
                self._take(record)

    def _take(self, record: dict[str, Any]) -> None:
        if record.get("pid") != self.pid:
            self.foreign.append(record)
            return
        self.own.append(record)
        event, now = record.get("event"), time.monotonic()
        if event == "start":
            self.open_check_since = now
        elif event == "end":
            self.open_check_since = None
        elif event == "finished":
            self.finished_at, self.threads_left = now, int(record.get("threads", 0))


def run_isolated(command: list[str], *, env: dict[str, str], report: Path,
                 limits: Limits, cwd: Path | None = None) -> ChildOutcome:
    """Run ``command`` in a process group of its own and return what it did.

    The child reports into ``report`` (see the module's docstring). Whatever
    happens, no process of the group is left when this returns.
    """
    started = time.monotonic()
    child = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             **_own_group())
    outcome = ChildOutcome(child.pid, limits)
    job = _job_for(child.pid)
    tail = _Tail(limits.output)
    assert child.stdout is not None
    reader = threading.Thread(target=tail.drain, args=(child.stdout,),
                              name="check-output", daemon=True)
    reader.start()
    watched = _Report(report, child.pid)
    try:
        outcome.stopped = _watch(child, watched, limits, started)
    finally:
        outcome.leftovers = _end_group(child, job)
    outcome.status = None if outcome.stopped else child.returncode
    # A process that left the group (setsid) may still hold the pipe: wait a little only.
    reader.join(REAP_WAIT)
    if not reader.is_alive():
        child.stdout.close()
    watched.read()
    outcome.records, outcome.foreign = watched.own, watched.foreign
    outcome.output, outcome.output_cut = tail.text()
    outcome.seconds = time.monotonic() - started
    return outcome


def _watch(child: subprocess.Popen[bytes], report: _Report, limits: Limits,
           started: float) -> str | None:
    """Wait for the child to exit; the name of the limit that stopped it, if one did."""
    while True:
        try:
            child.wait(POLL)
        except subprocess.TimeoutExpired:
            pass
        report.read()
        if child.returncode is not None:
            return None
        now = time.monotonic()
        if report.open_check_since is not None and (
                now - report.open_check_since > limits.check + limits.check_grace):
            return "check"
        grace = limits.thread_grace if report.threads_left else limits.exit_grace
        if report.finished_at is not None and now - report.finished_at > grace:
            return "exit"
        if now - started > limits.run:
            return "run"


if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    _kernel32.CreateJobObjectW.restype = wintypes.HANDLE
    _kernel32.CreateJobObjectW.argtypes = (wintypes.LPVOID, wintypes.LPCWSTR)
    _kernel32.OpenProcess.restype = wintypes.HANDLE
    _kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    _kernel32.AssignProcessToJobObject.argtypes = (wintypes.HANDLE, wintypes.HANDLE)
    _kernel32.TerminateJobObject.argtypes = (wintypes.HANDLE, wintypes.UINT)
    _kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
    _PROCESS_SET_QUOTA_AND_TERMINATE = 0x0100 | 0x0001

    def _own_group() -> dict[str, Any]:
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}

    def _job_for(pid: int) -> int | None:
        """A job object holding the child, so its own children end with it (None if refused)."""
        job = _kernel32.CreateJobObjectW(None, None)
        process = _kernel32.OpenProcess(_PROCESS_SET_QUOTA_AND_TERMINATE, False, pid)
        assigned = bool(job and process and _kernel32.AssignProcessToJobObject(job, process))
        if process:
            _kernel32.CloseHandle(process)
        if job and not assigned:
            _kernel32.CloseHandle(job)
        return int(job) if assigned else None

    def _end_group(child: subprocess.Popen[bytes], job: int | None) -> list[int]:
        if job is not None:
            _kernel32.TerminateJobObject(job, 1)
            _kernel32.CloseHandle(job)
        if child.poll() is None:
            child.kill()
        child.wait()
        return []

else:

    def _own_group() -> dict[str, Any]:
        return {"start_new_session": True}

    def _job_for(pid: int) -> int | None:
        return None

    def _end_group(child: subprocess.Popen[bytes], job: int | None) -> list[int]:
        """Kill the child's whole process group; the pids that outlived the child."""
        alive = child.returncode is None  # stopped by a limit: it is no leftover
        left = [pid for pid in group_members(child.pid) if not (alive and pid == child.pid)]
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except OSError:
            pass  # the group is already gone
        child.wait()
        deadline = time.monotonic() + REAP_WAIT
        while group_members(child.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        return left


def group_members(group: int) -> list[int]:
    """The live (not zombie) processes of process group ``group`` (POSIX).

    Read from /proc where there is one: a killed process whose parent is gone
    may stay a zombie (it holds no port and runs nothing) where nothing reaps
    it. Elsewhere only whether any member is left can be known: then the
    group's own id stands for them.
    """
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        try:
            os.killpg(group, 0)
        except OSError:
            return []
        return [group]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue  # it ended while we looked
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == group and fields[0] not in (b"Z", b"X"):
            members.append(int(entry.name))
    return members

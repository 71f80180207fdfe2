"""Ctrl-C on a ``socketlab`` command, as a terminal sends it: SIGINT to the whole group.

Each command runs in a session of its own (as a shell starts it) and is
interrupted while it works. A command that does a job (read, chart, demo,
lab check) ends with one line, "socketlab VERB: stopped by Ctrl-C", and the
shell's status for it, 130; one whose documented stop is Ctrl-C (server,
proxy, the terminal client) stops cleanly with its own last line and 0. Never
a traceback, and nothing of the group is left running.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from socketlab.inspector.__main__ import PARALLEL_FROM_BYTES
from socketlab.inspector.events import Connection
from socketlab.inspector.synth import write_pcap
from tests.inspector.conftest import vector_events

TIMEOUT = 30.0


class Command:
    """``socketlab ARGS`` in its own session; its output collected as it comes."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "socketlab", *args], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.process.stdout, self.out),
                                               (self.process.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str], lines: list[str]) -> None:
        lines.extend(stream)  # line by line, as they come

    def wait_for(self, working: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not working():
            assert self.process.poll() is None, f"ended before {what}: {''.join(self.err)}"
            assert time.monotonic() < deadline, f"no sign of {what}: {''.join(self.err)}"
            time.sleep(0.05)

    def said(self, pattern: str) -> Callable[[], bool]:
        return lambda: any(re.search(pattern, line) for line in self.out + self.err)

    def ctrl_c(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)
        status = self.process.wait(TIMEOUT)
        for reader in self._readers:
            reader.join(TIMEOUT)
        deadline = time.monotonic() + 5
        while group_alive(self.process.pid):
            assert time.monotonic() < deadline, "a process of the command outlived it"
            time.sleep(0.05)
        return status

    def stderr(self) -> str:
        return "".join(self.err)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stopped_in_one_line(command: Command, verb: str) -> None:
    assert command.ctrl_c() == 130, command.stderr()
    assert "Traceback" not in command.stderr() + "".join(command.out)
    assert command.stderr().endswith(f"socketlab {verb}: stopped by Ctrl-C\n"), command.stderr()
    assert command.stderr().count("\n") == 1 or verb == "demo", command.stderr()


@pytest.fixture(scope="module")
def large_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A class of 1,500 chat sessions, over 4 MB (so ``read`` takes two processes by
    itself): seconds of output."""
    sessions = []
    for n in range(1_500):
        conn = Connection(("127.0.0.1", 20_000 + n), ("127.0.0.1", 7777), n)
        sessions.append([dataclasses.replace(e, conn=conn) for e in vector_events()])
    path = tmp_path_factory.mktemp("ctrl-c") / "class.pcap"
    write_pcap(path, [dataclasses.replace(session[step], ts=1.0 + step + n / 10_000)
                      for step in range(len(sessions[0])) for n, session in enumerate(sessions)])
    assert path.stat().st_size > PARALLEL_FROM_BYTES
    return path


@pytest.mark.parametrize("jobs", ["2", "1"])
def test_read(large_pcap: Path, jobs: str):
    command = Command("read", str(large_pcap), "--jobs", jobs)
    command.wait_for(lambda: len(command.out) > 1000, "output")
    stopped_in_one_line(command, "read")


def test_chart(large_pcap: Path, tmp_path: Path):
    command = Command("chart", "sizes", str(large_pcap), "-o", str(tmp_path / "sizes.png"))
    maps = Path(f"/proc/{command.process.pid}/maps")
    # numpy loaded: the chart has begun (matplotlib's import and the drawing take longer)
    command.wait_for(lambda: "_multiarray_umath" in maps.read_text(), "the chart starting")
    stopped_in_one_line(command, "chart")
    assert not (tmp_path / "sizes.png").exists()


def test_demo(tmp_path: Path, home: Path):
    command = Command("demo", "--capture", "proxy", "--out", str(tmp_path / "demo"))
    command.wait_for(command.said("capturing with proxy"), "the chat starting")
    stopped_in_one_line(command, "demo")


def checks_running(parent: int) -> bool:
    """Is a pytest of the lab runner's checks running under ``parent``?"""
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"socketlab.labs.plugin" in cmdline:
            return True
    return False


def test_lab_check(home: Path):
    command = Command("lab", "check", "03", "--solution")
    command.wait_for(lambda: checks_running(command.process.pid), "the checks running")
    stopped_in_one_line(command, "lab")
    time.sleep(0.5)
    assert not checks_running(command.process.pid)


@pytest.fixture
def server(home: Path) -> Iterator[tuple[Command, int]]:
    command = Command("server", "--port", "0", "--allow-plaintext")
    command.wait_for(command.said("listening on"), "the server listening")
    port = int(re.search(r"listening on [\d.]+:(\d+)", command.stderr()).group(1))  # type: ignore[union-attr]
    yield command, port
    if command.process.poll() is None:
        command.process.kill()
        command.process.wait(TIMEOUT)


def stopped_cleanly(command: Command, last: str) -> None:
    """Once it waits for Ctrl-C (a moment after its ready line: a Ctrl-C before that is
    the 130 and one line above), it stops cleanly."""
    time.sleep(0.5)
    assert command.ctrl_c() == 0, command.stderr()
    everything = command.stderr() + "".join(command.out)
    assert "Traceback" not in everything
    assert everything.rstrip().endswith(last), everything


def test_server(server: tuple[Command, int]):
    stopped_cleanly(server[0], "server stopped")


def test_proxy(server: tuple[Command, int]):
    command = Command("proxy", "--listen", "0", "--target", f"127.0.0.1:{server[1]}")
    command.wait_for(command.said("proxy listening"), "the proxy listening")
    stopped_cleanly(command, "proxy stopped")


def test_terminal_client(server: tuple[Command, int]):
    command = Command("client", "--tui", "--port", str(server[1]), "--name", "zed")
    command.wait_for(command.said("you are zed"), "the client logged in")
    stopped_cleanly(command, "* disconnected: closed by you")

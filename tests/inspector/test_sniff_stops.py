"""However `socketlab sniff --pcap` ends, the pcap holds every frame it showed.

A real chat on a free port, a real `socketlab sniff` in its own session (as a
shell starts it), then one way of ending: Ctrl-C, `timeout`'s SIGTERM and a
closing terminal's SIGHUP are sent to the whole process group, as a terminal
and `timeout` send them; the capture process or the sniffer is killed with
SIGKILL. The pcap is then read back with `socketlab read` and must show what
the sniffer showed. Timestamps are left out of the comparison: the pcap keeps
microseconds, the live capture more.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from socketlab.client.chat_client import ChatClient
from socketlab.protocol import Message, PinStore
from socketlab.server.app import ChatServer

pytestmark = pytest.mark.needs_root

TEXTS = [f"line {n} of the lesson" for n in range(6)]


class Sniffer:
    """`socketlab sniff --json --pcap` in a session of its own; stdout lines as they come."""

    def __init__(self, port: int, keylog: Path, pcap: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "socketlab", "sniff", "--port", str(port), "--json",
             "--keylog", str(keylog), "--pcap", str(pcap)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        assert self.process.stdout is not None and self.process.stderr is not None
        deadline = time.monotonic() + 30
        while "sniffing" not in (line := self.process.stderr.readline()):
            assert line and time.monotonic() < deadline, "the sniffer did not start"
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def settle(self, quiet: float = 0.7, limit: float = 15.0) -> None:
        """Wait until no new line has come for ``quiet`` seconds."""
        deadline = time.monotonic() + limit
        count, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            if len(self.lines) != count:
                count, since = len(self.lines), time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.05)
        raise AssertionError("the sniffer kept printing")

    def capture_pid(self) -> int:
        """The capture process: the sniffer's spawned child (not its resource tracker)."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            if ppid == self.process.pid and b"spawn_main" in cmdline:
                return int(entry.name)
        raise AssertionError("no capture process found")

    def finish(self, timeout: float = 20.0) -> tuple[int, str]:
        assert self.process.stderr is not None
        returncode = self.process.wait(timeout)
        self._reader.join(5)
        return returncode, self.process.stderr.read()


def group_gone(pgid: int, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def items(lines: list[str]) -> list[dict[str, Any]]:
    """The JSON items without their float fields (the timestamps)."""
    return [{key: value for key, value in json.loads(line).items()
             if not isinstance(value, float)} for line in lines if line.strip()]


def read_back(pcap: Path, keylog: Path) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "socketlab", "read", str(pcap), "--json",
                           "--keylog", str(keylog)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return items(done.stdout.splitlines())


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[tuple[ChatServer, Path]]:
    keylog = tmp_path / "keys.log"
    with ChatServer(identity=SigningKey.generate(), keylog=keylog) as server:
        yield server, keylog


def talk(port: int, pins: Path) -> ChatClient:
    """alice logs in and says every line of TEXTS, each echoed back; she stays connected."""
    alice = ChatClient("127.0.0.1", port, pins=PinStore(pins))
    alice.connect()
    alice.login("alice")
    for text in TEXTS:
        alice.say(text)
        deadline = time.monotonic() + 10
        while not (isinstance(event := alice.events.get(timeout=10), Message)
                   and event.text == text):
            assert time.monotonic() < deadline
    return alice


ENDINGS = {
    "ctrl-c": lambda sniffer: os.killpg(sniffer.process.pid, signal.SIGINT),
    "sigterm": lambda sniffer: os.killpg(sniffer.process.pid, signal.SIGTERM),
    "terminal-closed": lambda sniffer: os.killpg(sniffer.process.pid, signal.SIGHUP),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_a_signal_to_the_group_ends_cleanly_with_everything_shown_in_the_pcap(
        chat: tuple[ChatServer, Path], tmp_path: Path, ending: str):
    server, keylog = chat
    pcap = tmp_path / "lesson.pcap"
    sniffer = Sniffer(server.address[1], keylog, pcap)
    alice = talk(server.address[1], tmp_path / "pins")
    try:
        sniffer.settle()
        ENDINGS[ending](sniffer)
        returncode, err = sniffer.finish()
    finally:
        alice.close()
    assert returncode == 0, err
    assert "Traceback" not in err and "pcap written" in err
    assert [line for line in err.splitlines() if line.strip()] == [
        line for line in err.splitlines() if "packets captured" in line]
    shown = "".join(sniffer.lines)
    assert all(text in shown for text in TEXTS)
    assert read_back(pcap, keylog) == items(sniffer.lines)
    assert group_gone(sniffer.process.pid, 5), "a capture process outlived the sniffer"


def test_a_killed_capture_process_keeps_what_was_shown(chat: tuple[ChatServer, Path],
                                                       tmp_path: Path):
    server, keylog = chat
    pcap = tmp_path / "lesson.pcap"
    sniffer = Sniffer(server.address[1], keylog, pcap)
    alice = talk(server.address[1], tmp_path / "pins")
    try:
        sniffer.settle()
        os.kill(sniffer.capture_pid(), signal.SIGKILL)
        returncode, err = sniffer.finish()
    finally:
        alice.close()
    assert returncode == 2 and "Traceback" not in err
    assert [line for line in err.splitlines() if line.strip()] == [
        f"inspector: error: capture_failed: the capture process ended early; {pcap} holds "
        "every packet shown"]
    assert all(text in "".join(sniffer.lines) for text in TEXTS)
    assert read_back(pcap, keylog) == items(sniffer.lines)


def test_a_killed_sniffer_leaves_no_capture_behind_and_a_whole_pcap(
        chat: tuple[ChatServer, Path], tmp_path: Path):
    server, keylog = chat
    pcap = tmp_path / "lesson.pcap"
    sniffer = Sniffer(server.address[1], keylog, pcap)
    alice = talk(server.address[1], tmp_path / "pins")
    try:
        sniffer.settle()
        os.kill(sniffer.process.pid, signal.SIGKILL)
        sniffer.finish()
        assert group_gone(sniffer.process.pid, 5), "the capture process outlived the sniffer"
    finally:
        alice.close()
    shown = items(sniffer.lines)
    assert all(text in "".join(sniffer.lines) for text in TEXTS)
    # The sniffer died before its end-of-capture lines; the pcap has the rest.
    assert read_back(pcap, keylog)[:len(shown)] == shown

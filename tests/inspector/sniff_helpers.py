"""A real `socketlab sniff` and a real chat for it to watch."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from socketlab.client.chat_client import ChatClient
from socketlab.protocol import Message, PinStore

TEXTS = [f"line {n} of the lesson" for n in range(6)]


class Sniffer:
    """`socketlab sniff --json --keylog KEYLOG [--pcap PCAP]` in a session of its own (as a
    shell starts it); ``said``: its stderr lines before "sniffing"; ``lines``: its stdout
    lines as they come."""

    def __init__(self, port: int, keylog: Path, pcap: Path | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "socketlab", "sniff", "--port", str(port), "--json",
             "--keylog", str(keylog), *(["--pcap", str(pcap)] if pcap else [])],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        assert self.process.stdout is not None and self.process.stderr is not None
        self.said: list[str] = []
        deadline = time.monotonic() + 30
        while "sniffing" not in (line := self.process.stderr.readline()):
            assert line and time.monotonic() < deadline, "the sniffer did not start"
            self.said.append(line)
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

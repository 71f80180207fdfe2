"""docs/inspector.md's man-in-the-middle walk-through, run as written.

The guide's commands are run as real processes (the server, the proxy, the
terminal client), on free ports standing for its 7777 and 7000, in its order,
and each step shows what the guide says a student sees: alice pins the real
server through an honest relay; the ``--mitm`` proxy then takes the relay's
port and reads bob (``--no-verify``); alice is refused with both fingerprints
and sends nothing past the handshake.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.followed_lines import FollowedLines

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "inspector.md"
TIMEOUT = 10.0
FINGERPRINT = r"SHA256:(?: ?[0-9a-f]{4}){8}"

# The guide's block, in its order, with its ports (7777 the server, 7000 the proxy).
STEPS = [
    "socketlab server",
    "socketlab proxy --listen 7000 --target 127.0.0.1:7777",
    "socketlab client --tui --name alice --port 7000",
    "socketlab proxy --listen 7000 --target 127.0.0.1:7777 --mitm",
    "socketlab client --tui --name bob --port 7000 --no-verify",
    "socketlab client --tui --name alice --port 7000",
    "socketlab client --forget-server 127.0.0.1:7000",
]


def guide_steps() -> list[str]:
    """The commands of the guide's walk-through block, without their comments."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("**A pin belongs to a host *and* a port.**", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [code for line in block.splitlines() if (code := line.split("#", 1)[0].strip())]


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


class Running:
    """``socketlab ARGS`` as a child process; its stdout and stderr, line by line, as a
    terminal would show them."""

    def __init__(self, command: str, ports: dict[str, int]) -> None:
        for guide_port, port in ports.items():
            command = command.replace(guide_port, str(port))
        args = command.split()[1:]
        if args == ["server"]:
            args += ["--port", str(ports["7777"])]  # the guide's server is on its default
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "socketlab", *args], cwd=ROOT, env=env, text=True,
            encoding="utf-8", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        assert self.proc.stdout is not None
        self.out = FollowedLines(self.proc.stdout)
        self.seen = self.out.seen

    def expect(self, pattern: str) -> re.Match[str]:
        """The first line from now on that ``pattern`` matches."""
        line = self.out.next_match(lambda line: re.search(pattern, line), TIMEOUT)
        if line is None:
            pytest.fail(f"no line matching {pattern!r} within {TIMEOUT} s; so far: {self.seen}")
        found = re.search(pattern, line)
        assert found is not None
        return found

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def exit_status(self) -> int:
        status = self.proc.wait(TIMEOUT)
        self.out.rest(TIMEOUT)
        return status

    def ctrl_c(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        assert self.exit_status() == 0, self.seen


@pytest.fixture
def run() -> Iterator[Callable[[str], Running]]:
    ports = {"7777": free_port(), "7000": free_port()}
    started: list[Running] = []

    def start(command: str) -> Running:
        started.append(Running(command, ports))
        return started[-1]

    yield start
    for child in started:
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.wait(TIMEOUT)


def test_the_guide_lists_the_steps_this_test_runs() -> None:
    assert guide_steps() == STEPS


def test_the_mitm_walk_through_shows_the_warning_and_sends_nothing(
        run: Callable[[str], Running]) -> None:
    server = run(STEPS[0])
    real = server.expect(f"identity ({FINGERPRINT})")[1]
    honest = run(STEPS[1])
    honest.expect("proxy listening on")

    alice = run(STEPS[2])
    address = alice.expect(rf"first connection to (127\.0\.0\.1:\d+): pinned its identity "
                           rf"({FINGERPRINT})")
    assert address[2] == real  # the real server, through the honest relay
    alice.expect("you are alice")
    alice.type("/quit")
    assert alice.exit_status() == 0
    honest.ctrl_c()

    attacker = run(STEPS[3])
    attacker.expect(r"proxy listening on .*\(MITM: substituting keys\)")
    bob = run(STEPS[4])
    fake = bob.expect(rf"NOT verifying the server's identity \(--no-verify\): ({FINGERPRINT})")[1]
    assert fake != real
    bob.expect("you are bob")
    bob.type("my password is hunter2")
    bob.expect("bob: my password is hunter2")
    attacker.expect(r'\[MITM read\] client → server: \{"type":"say","text":"my password is '
                    r'hunter2"\}')
    bob.type("/quit")
    assert bob.exit_status() == 0
    attacker.expect("connection closed")
    attacker.seen.clear()

    alice = run(STEPS[5])
    assert alice.exit_status() == 2
    shown = "\n".join(alice.seen)
    assert f"WARNING: the server at {address[1]} is not the one you talked to before." in shown
    assert f"pinned:  {real}" in shown and f"offered: {fake}" in shown
    assert "you are alice" not in shown
    # Terminal 2: her hello and the server's hello, then the end; no login, nothing said.
    attacker.expect("connection closed")
    read = [line for line in attacker.seen if "[MITM read]" in line]
    assert [re.search(r'"type":"(\w+)"', line)[1] for line in read] == [  # type: ignore[index]
        "hello", "server_hello"], attacker.seen

    forget = run(STEPS[6])
    forget.expect(f"forgot the pinned identity of {address[1]}")
    assert forget.exit_status() == 0
    server.ctrl_c()
    attacker.ctrl_c()

"""However `socketlab sniff --pcap` ends, the pcap holds every frame it showed.

A real chat on a free port, a real `socketlab sniff` in its own session (as a
shell starts it), then one way of ending: Ctrl-C, `timeout`'s SIGTERM and a
closing terminal's SIGHUP are sent to the whole process group, as a terminal
and `timeout` send them; a real terminal (a pty) is closed; the capture
process or the sniffer is killed with SIGKILL. The pcap is then read back
with `socketlab read` and must show what the sniffer showed. Timestamps are
left out of the comparison: the pcap keeps microseconds, the live capture more.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from socketlab.server.app import ChatServer
from tests.inspector.sniff_helpers import TEXTS, Sniffer, talk

pytestmark = pytest.mark.needs_root


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


ENDINGS = {
    "ctrl-c": lambda sniffer: os.killpg(sniffer.process.pid, signal.SIGINT),
    "sigterm": lambda sniffer: os.killpg(sniffer.process.pid, signal.SIGTERM),
    "terminal-closed": lambda sniffer: os.killpg(sniffer.process.pid, signal.SIGHUP),
}


def lesson(chat: tuple[ChatServer, Path], pcap: Path, end: Callable[[Sniffer], None],
           busy: bool = False) -> tuple[Sniffer, int, str]:
    """alice chats under the sniffer; once it is quiet (or while she goes on talking,
    if ``busy``), ``end`` ends the sniffer."""
    server, keylog = chat
    sniffer = Sniffer(server.address[1], keylog, pcap)
    alice = talk(server.address[1], pcap.parent / "pins")
    talking = threading.Event()

    def chatter() -> None:
        for n in range(2_000):  # 20 s at most
            if talking.wait(0.01):
                return
            alice.say(f"and then {n}")

    more = threading.Thread(target=chatter, daemon=True)
    try:
        if busy:
            more.start()
            time.sleep(0.5)
        else:
            sniffer.settle()
        end(sniffer)
        returncode, err = sniffer.finish()
    finally:
        talking.set()
        if busy:
            more.join(5)
        alice.close()
    assert all(text in "".join(sniffer.lines) for text in TEXTS)
    return sniffer, returncode, err


@pytest.mark.parametrize("ending", [*ENDINGS, "ctrl-c-mid-chat"])
def test_a_signal_to_the_group_ends_cleanly_with_everything_shown_in_the_pcap(
        chat: tuple[ChatServer, Path], tmp_path: Path, ending: str):
    pcap = tmp_path / "lesson.pcap"
    busy = ending == "ctrl-c-mid-chat"
    sniffer, returncode, err = lesson(chat, pcap, ENDINGS["ctrl-c" if busy else ending], busy)
    if busy:
        assert '"text":"and then 5"' in "".join(sniffer.lines)
    assert returncode == 0, err
    assert "Traceback" not in err and "pcap written" in err
    assert [line for line in err.splitlines() if line.strip()] == [
        line for line in err.splitlines() if "packets captured" in line]
    assert read_back(pcap, chat[1]) == items(sniffer.lines)
    assert group_gone(sniffer.process.pid, 5), "a capture process outlived the sniffer"


def test_a_killed_capture_process_keeps_what_was_shown(chat: tuple[ChatServer, Path],
                                                       tmp_path: Path):
    pcap = tmp_path / "lesson.pcap"
    sniffer, returncode, err = lesson(
        chat, pcap, lambda sniffer: os.kill(sniffer.capture_pid(), signal.SIGKILL))
    assert returncode == 2 and "Traceback" not in err
    assert [line for line in err.splitlines() if line.strip()] == [
        f"inspector: error: capture_failed: the capture process ended early; {pcap} holds "
        "every packet shown"]
    assert read_back(pcap, chat[1]) == items(sniffer.lines)


def test_a_killed_sniffer_leaves_no_capture_behind_and_a_whole_pcap(
        chat: tuple[ChatServer, Path], tmp_path: Path):
    pcap = tmp_path / "lesson.pcap"
    sniffer, _, _ = lesson(chat, pcap,
                           lambda sniffer: os.kill(sniffer.process.pid, signal.SIGKILL))
    assert group_gone(sniffer.process.pid, 5), "the capture process outlived the sniffer"
    shown = items(sniffer.lines)
    # The sniffer died before its end-of-capture lines; the pcap has the rest.
    assert read_back(pcap, chat[1])[:len(shown)] == shown


# A terminal of its own: the sniffer, a session leader, makes the pty its controlling
# terminal and then becomes `socketlab sniff`; closing the master end hangs it up.
IN_A_TERMINAL = ("import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
                 "os.execv(sys.executable, [sys.executable, '-m', 'socketlab', *sys.argv[1:]])")


def test_closing_the_terminal_keeps_what_was_shown(chat: tuple[ChatServer, Path],
                                                   tmp_path: Path):
    server, keylog = chat
    pcap = tmp_path / "lesson.pcap"
    master, slave = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", IN_A_TERMINAL, "sniff", "--port", str(server.address[1]),
         "--json", "--keylog", str(keylog), "--pcap", str(pcap)],
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    screen = bytearray()

    def read_screen(until: Callable[[], bool], limit: float) -> None:
        deadline = time.monotonic() + limit
        while not until() and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                screen.extend(os.read(master, 65536))

    try:
        read_screen(lambda: b"sniffing" in screen, 30)
        assert b"sniffing" in screen, screen
        alice = talk(server.address[1], tmp_path / "pins")
        try:
            read_screen(lambda: all(text.encode() in screen for text in TEXTS), 15)
            size = -1
            while size != len(screen):  # quiet for half a second
                size = len(screen)
                read_screen(lambda: False, 0.5)
        finally:
            os.close(master)  # the terminal window closes
            alice.close()
        process.wait(20)
    finally:
        if process.poll() is None:
            process.kill()
    assert group_gone(process.pid, 5), "a capture process outlived the terminal"
    shown = [line for line in screen.decode().split("\r\n") if line.startswith("{")]
    assert all(text in "".join(shown) for text in TEXTS)
    assert read_back(pcap, keylog)[:len(shown)] == items(shown)

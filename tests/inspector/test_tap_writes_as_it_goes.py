"""``socketlab lab sniff NN --pcap OUT`` (and the demo's tap) write the pcap as they go.

A student's echo client that hangs after its second line keeps the lab's demo
running; the pcap must hold both lines while it still runs, and keep them
after a Ctrl-C to the whole group (one line, status 130) or a kill -9. Both
taps: the live sniff (capture rights) and the proxy (none).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from socketlab.labs.catalog import LABS_DIR

LINES = (b"hello, echo\n", b"TCP is a byte stream\n")
HANGS = '''

_echo_as_written = echo


def echo(sock, data):
    """The student's echo, which then hangs after the second line."""
    answer = _echo_as_written(sock, data)
    if data.startswith(b"TCP"):
        time.sleep(60)
    return answer
'''
CAPTURES = [pytest.param("sniff", marks=pytest.mark.needs_root), "proxy"]


@pytest.fixture
def hanging_client(tmp_path: Path) -> Path:
    folder = tmp_path / "01-echo"
    shutil.copytree(LABS_DIR / "01-echo" / "solution", folder)
    client = folder / "echo_client.py"
    client.write_text("import time\n" + client.read_text() + HANGS)
    return folder


def sniff_lab(folder: Path, pcap: Path, capture: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "socketlab", "lab", "sniff", "01", str(folder), "--pcap", str(pcap),
         "--capture", capture], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for_both_lines(process: subprocess.Popen[str], pcap: Path) -> None:
    """Both lines crossed the wire, and are on disk while the demo still runs."""
    deadline = time.monotonic() + 30
    while not (pcap.exists() and all(line in pcap.read_bytes() for line in LINES)):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the pcap on disk never held both lines"
        time.sleep(0.05)
    assert process.poll() is None


def read_back(pcap: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "socketlab", "read", str(pcap), "--as", "raw"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout


def both_ways(shown: str) -> bool:
    """Each line went there and back (the raw view's text column)."""
    return shown.count("|hello, echo.|") == shown.count("|TCP is a byte st|") == 2


def ended_by(signum: int, folder: Path, pcap: Path, capture: str) -> tuple[int, str]:
    """Run the lab's demo until both lines are on disk, end it with ``signum`` sent to
    the whole group; its exit status and stderr."""
    process = sniff_lab(folder, pcap, capture)
    wait_for_both_lines(process, pcap)
    os.killpg(process.pid, signum)
    out, err = process.communicate(timeout=30)
    assert "Traceback" not in out + err
    return process.returncode, err


@pytest.mark.parametrize("capture", CAPTURES)
def test_ctrl_c_keeps_the_capture(hanging_client: Path, tmp_path: Path, capture: str):
    pcap = tmp_path / "lesson.pcap"
    status, err = ended_by(signal.SIGINT, hanging_client, pcap, capture)
    assert status == 130, err
    assert err.endswith("socketlab lab: stopped by Ctrl-C\n"), err
    assert both_ways(read_back(pcap))


@pytest.mark.parametrize("capture", CAPTURES)
def test_a_kill_keeps_what_was_flushed(hanging_client: Path, tmp_path: Path, capture: str):
    pcap = tmp_path / "lesson.pcap"
    assert ended_by(signal.SIGKILL, hanging_client, pcap, capture)[0] == -signal.SIGKILL
    assert both_ways(read_back(pcap))

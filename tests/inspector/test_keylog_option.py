"""``--keylog``: a file that is not there, a folder, a key log saved by Notepad.

Offline (``read``, ``chart``) a key log that does not exist is a typo: one line
naming the path, exit 2, with one worker or two. Live (``sniff``) the server may
write it later: one line says so and the capture goes on, decrypting once it
appears.
"""

from __future__ import annotations

import codecs
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from socketlab.server.app import ChatServer
from tests.inspector.sniff_helpers import TEXTS, Sniffer, talk


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "socketlab", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize("command", [["read", "PCAP", "--jobs", "1"],
                                     ["read", "PCAP", "--jobs", "2"],
                                     ["chart", "entropy", "PCAP", "-o", "PNG"]],
                         ids=["read", "read-two-workers", "chart"])
def test_a_key_log_that_does_not_exist_is_named(demo_pcap: Path, tmp_path: Path,
                                                command: list[str]):
    missing = tmp_path / "keys.log"
    files = {"PCAP": str(demo_pcap), "PNG": str(tmp_path / "chart.png")}
    args = [files.get(arg, arg) for arg in command]
    line = one_line(run(*args, "--keylog", str(missing)))
    assert f"no key log at {missing}" in line and "--keylog" in line


def test_a_folder_given_as_the_key_log_is_named(demo_pcap: Path, tmp_path: Path):
    for jobs in ("1", "2"):
        line = one_line(run("read", str(demo_pcap), "--jobs", jobs, "--keylog", str(tmp_path)))
        assert f"{tmp_path} is a folder, not a key log" in line


def test_a_key_log_saved_with_a_byte_order_mark_decrypts(demo_pcap: Path,
                                                         vector_keylog: Path, tmp_path: Path):
    notepad = tmp_path / "keys.txt"
    notepad.write_bytes(codecs.BOM_UTF8 + vector_keylog.read_text().replace("\n", "\r\n")
                        .encode())
    plain = run("read", str(demo_pcap), "--json", "--keylog", str(vector_keylog))
    bom = run("read", str(demo_pcap), "--json", "--keylog", str(notepad))
    assert plain.returncode == bom.returncode == 0, bom.stderr
    assert '"type":"say"' in plain.stdout
    assert bom.stdout == plain.stdout


@pytest.mark.needs_root
def test_sniff_says_the_key_log_is_not_there_yet_and_decrypts_once_it_is(tmp_path: Path):
    keylog = tmp_path / "keys.log"
    with ChatServer(identity=SigningKey.generate(), keylog=keylog) as server:
        sniffer = Sniffer(server.address[1], keylog)
        talk(server.address[1], tmp_path / "pins").close()
        sniffer.settle()
        os.killpg(sniffer.process.pid, signal.SIGINT)
        returncode, err = sniffer.finish()
    assert returncode == 0 and "Traceback" not in err
    assert len(sniffer.said) == 1 and f"{keylog} does not exist yet" in sniffer.said[0]
    assert all(f'"text":"{text}"' in "".join(sniffer.lines) for text in TEXTS)

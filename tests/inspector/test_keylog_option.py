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
import time
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from socketlab.client.chat_client import ChatClient
from socketlab.protocol import Message, PinStore
from socketlab.server.app import ChatServer


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
        port = server.address[1]
        sniffer = subprocess.Popen(
            [sys.executable, "-m", "socketlab", "sniff", "--port", str(port), "--json",
             "--keylog", str(keylog)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        assert sniffer.stderr is not None
        try:
            said = []
            deadline = time.monotonic() + 30
            while "sniffing" not in (line := sniffer.stderr.readline()):
                assert line and time.monotonic() < deadline, "the sniffer did not start"
                said.append(line)
            with ChatClient("127.0.0.1", port, pins=PinStore(tmp_path / "pins")) as alice:
                alice.connect()
                alice.login("alice")
                alice.say("the key log came later")
                while not isinstance(event := alice.events.get(timeout=10), Message):
                    pass
            time.sleep(0.5)
        finally:
            os.killpg(sniffer.pid, signal.SIGINT)
            out, err = sniffer.communicate(timeout=20)
    assert sniffer.returncode == 0 and "Traceback" not in err
    assert len(said) == 1 and f"{keylog} does not exist yet" in said[0]
    assert event.text == "the key log came later" and '"text":"the key log came later"' in out

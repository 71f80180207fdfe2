"""``socketlab read --jobs N``: connections shared out between processes, the same output."""

import subprocess
import sys
from pathlib import Path

import pytest

from socketlab.inspector.__main__ import PARALLEL_FROM_BYTES
from socketlab.inspector.events import Closed, Connection, Data, Opened
from socketlab.inspector.packets import LINKTYPE_ETHERNET
from socketlab.inspector.parallel_read import share_of
from socketlab.inspector.pcapread import iter_pcap
from socketlab.inspector.pcapwrite import PcapWriter
from socketlab.inspector.synth import write_pcap
from tests.inspector.conftest import class_sessions, interleaved

SESSIONS = 12


def read(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "socketlab", "read", *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def class_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve copies of the vector session, interleaved frame by frame, on ports of
    both parities; every third is still open when the capture ends, and one is an
    echo of raw bytes on another server port."""
    path = tmp_path_factory.mktemp("parallel") / "class.pcap"
    write_pcap(path, interleaved(class_sessions(SESSIONS)))
    return path


def test_the_sessions_are_shared_between_both_workers(class_pcap: Path):
    shares = {share_of(p.linktype, p.data, 2) for p in iter_pcap(class_pcap)}
    assert shares == {0, 1}


@pytest.mark.parametrize("options", [
    ["--json"], [], ["--json", "--port", "7777"], ["--json", "--as", "raw"],
], ids=["json", "text", "one-port", "raw-view"])
def test_two_processes_print_exactly_what_one_prints(class_pcap: Path, vector_keylog: Path,
                                                     options: list[str]):
    one = read(str(class_pcap), "--keylog", str(vector_keylog), "--jobs", "1", *options)
    two = read(str(class_pcap), "--keylog", str(vector_keylog), "--jobs", "2", *options)
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert one.stdout.count("\n") > 100
    assert two.stdout == one.stdout


def test_without_the_key_log_too(class_pcap: Path):
    one, three = read(str(class_pcap), "--jobs", "1"), read(str(class_pcap), "--jobs", "3")
    assert one.returncode == three.returncode == 0
    assert three.stdout == one.stdout and "no key log given" in one.stdout


def test_a_cut_file_is_reported_the_same(class_pcap: Path, tmp_path: Path):
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(class_pcap.read_bytes()[:-7])
    one, two = read(str(cut), "--json", "--jobs", "1"), read(str(cut), "--json", "--jobs", "2")
    assert two.stdout == one.stdout
    assert "truncated" in two.stderr and two.stderr == one.stderr


def test_errors_are_one_line_before_any_process_starts(tmp_path: Path, class_pcap: Path):
    text = tmp_path / "notes.pcap"
    text.write_text("not a capture\n")
    done = read(str(text), "--jobs", "2")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "not a pcap" in done.stderr
    bad_keys = tmp_path / "keys.log"
    bad_keys.write_text("SOCKETLAB_BOX nonsense\n")
    done = read(str(class_pcap), "--keylog", str(bad_keys), "--jobs", "2")
    assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1


@pytest.mark.parametrize("jobs", ["0", "two", "65"])
def test_jobs_must_be_a_sensible_number(class_pcap: Path, jobs: str):
    done = read(str(class_pcap), "--jobs", jobs)
    assert done.returncode == 2 and "--jobs" in done.stderr


def test_a_non_ethernet_capture_is_shared_by_parsing(class_pcap: Path):
    """Link types other than Ethernet go through the full parse, with the same answer."""
    for packet in iter_pcap(class_pcap):
        assert packet.linktype == LINKTYPE_ETHERNET
        raw_ip = packet.data[14:]
        assert share_of(101, raw_ip, 2) == share_of(packet.linktype, packet.data, 2)


def test_a_short_frame_in_a_large_capture_reads_as_with_one_process(tmp_path: Path,
                                                                    class_pcap: Path,
                                                                    vector_keylog: Path):
    """Over 4 MB ``read`` takes two processes by itself; a frame too short for an IPv4
    header (here 17 bytes, Ethernet type IPv4) once failed the whole read there."""
    bulk = Connection(("127.0.0.1", 52_000), ("127.0.0.1", 9000), 0)
    chunk = bytes(range(256)) * 250
    events = [Opened(bulk, 1.0, True), *(Data(bulk, "c2s", n * len(chunk), chunk, 1.0)
                                         for n in range(70)), Closed(bulk, "fin", 1.0)]
    big = tmp_path / "big.pcap"
    write_pcap(big, events)
    with PcapWriter(tmp_path / "short.pcap", LINKTYPE_ETHERNET) as short:
        short.write(1.0, bytes(12) + b"\x08\x00" + b"\x45\x00\x00")
    records = [data[24:] for data in
               (class_pcap.read_bytes(), (tmp_path / "short.pcap").read_bytes())]
    big.write_bytes(big.read_bytes() + records[1] + records[0])
    assert big.stat().st_size > PARALLEL_FROM_BYTES
    args = [str(big), "--keylog", str(vector_keylog), "--json", "--port", "7777"]
    one, default, two = read(*args, "--jobs", "1"), read(*args), read(*args, "--jobs", "2")
    assert one.returncode == default.returncode == two.returncode == 0, two.stderr
    assert one.stdout.count('"type":"say"') >= SESSIONS
    assert default.stdout == two.stdout == one.stdout
    assert default.stderr == two.stderr == one.stderr == ""

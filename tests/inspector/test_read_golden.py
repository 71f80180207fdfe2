"""``socketlab read`` prints, byte for byte, what it printed before it was made faster.

A fixed synthetic capture (the known-answer session twelve times, interleaved;
three still open at the end; one whose handshake was not captured; an echo of
raw bytes; length-prefixed frames that are not socketlab) is read as text and
as ``--json``, by one process and by two. The expected outputs in
``golden/`` were made by the code before issue 22's changes to ``read``
(commit 661f64a, where one and two processes printed the same bytes):
``python -m tests.inspector.test_read_golden`` writes them again, with
whatever code is installed.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from socketlab.inspector.events import Closed, Connection, Data, Event, Opened
from socketlab.inspector.packets import LINKTYPE_ETHERNET, parse_packet
from socketlab.inspector.pcapread import iter_pcap
from socketlab.inspector.pcapwrite import PcapWriter
from socketlab.inspector.synth import write_pcap
from socketlab.protocol import encode_frame
from tests.inspector.conftest import class_sessions, interleaved, vector_keylog_text

GOLDEN = Path(__file__).parent / "golden"
SESSIONS = 12
LATE_PORT = 50_000 + 3 * 5  # the session whose handshake packets are left out
HANDSHAKE_PACKETS = 5  # SYN, SYN-ACK, ACK, hello, server hello
GOLDEN_FILES = {"json": "read-class.jsonl", "text": "read-class.txt"}


def class_events() -> list[Event]:
    """Every session's events, interleaved step by step, with fixed timestamps."""
    sessions = class_sessions(SESSIONS)
    frames = Connection(("127.0.0.1", 51_002), ("127.0.0.1", 9001), SESSIONS + 1)
    ping, binary = encode_frame(b"ping"), encode_frame(b"\xff\x00")
    sessions.append([Opened(frames, 1.0, True), Data(frames, "c2s", 0, ping, 1.0),
                     Data(frames, "s2c", 0, binary, 1.0), Closed(frames, "fin", 1.0)])
    return interleaved(sessions)


def write_capture(path: Path) -> None:
    """The class capture, less the late session's first packets."""
    whole = path.with_suffix(".whole.pcap")
    write_pcap(whole, class_events())
    left_out = 0
    with iter_pcap(whole) as packets, PcapWriter(path, LINKTYPE_ETHERNET) as out:
        for ts, linktype, data in packets:
            seg = parse_packet(ts, linktype, data)
            if seg is not None and LATE_PORT in (seg.src[1], seg.dst[1]) \
                    and left_out < HANDSHAKE_PACKETS:
                left_out += 1
                continue
            out.write(ts, data)


def read(capture: Path, keylog: Path, view: str, jobs: str) -> bytes:
    json = ["--json"] if view == "json" else []
    done = subprocess.run([sys.executable, "-m", "socketlab", "read", str(capture), "--keylog",
                           str(keylog), "--jobs", jobs, *json],
                          capture_output=True, timeout=60, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("golden")
    keylog = folder / "keys.txt"
    keylog.write_text(vector_keylog_text())
    write_capture(folder / "class.pcap")
    return folder / "class.pcap", keylog


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("view", GOLDEN_FILES)
def test_read_prints_what_it_printed_before(capture: tuple[Path, Path], view: str, jobs: str):
    expected = (GOLDEN / GOLDEN_FILES[view]).read_bytes()
    printed = read(*capture, view, jobs)
    assert printed == expected, f"read ({view}, --jobs {jobs}) differs from golden/"


def test_read_imports_neither_scapy_nor_matplotlib(capture: tuple[Path, Path]):
    """Seconds of start-up that ``read`` never needs (its own pcap reader, no charts)."""
    pcap, keylog = capture
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "socketlab", "read",
                           str(pcap), "--keylog", str(keylog), "--json", "--jobs", "2"],
                          capture_output=True, text=True, timeout=60, check=True)
    imported = [line.split("|")[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")]
    assert "socketlab.inspector.decode" in imported  # the list is read correctly
    assert not [name for name in imported if name.split(".")[0] in ("scapy", "matplotlib")]


def test_the_capture_shows_every_kind_of_line():
    """The golden outputs are worth comparing: decrypted, late, raw, frames and closing lines."""
    text = (GOLDEN / GOLDEN_FILES["text"]).read_text()
    for shown in ("encrypted: welcome", "the handshake happened before the capture started",
                  "Session key found",
                  "raw bytes (not length-prefixed frames)",
                  "length-prefixed frames (not socketlab messages)",
                  "connection closed (capture_end)", "connection closed (fin)"):
        assert shown in text, shown


def write_golden(folder: Path) -> None:
    keylog = folder / "keys.txt"
    keylog.write_text(vector_keylog_text())
    write_capture(folder / "class.pcap")
    GOLDEN.mkdir(exist_ok=True)
    for view, name in GOLDEN_FILES.items():
        (GOLDEN / name).write_bytes(read(folder / "class.pcap", keylog, view, "1"))


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        write_golden(Path(tmp))

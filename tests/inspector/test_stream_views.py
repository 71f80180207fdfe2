"""Any TCP stream is shown the way it speaks: raw bytes, length-prefixed frames, socketlab.

Real sessions go through the proxy tap (which records them) and are read back
by ``socketlab read``, from the recording and from a pcap built from it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from socketlab.inspector.classify import classify
from socketlab.inspector.decode import Chunk, Frame, Note, SessionDecoder
from socketlab.inspector.events import Closed, Data, Opened
from socketlab.inspector.livecapture import LiveCapture
from socketlab.inspector.packets import FIN
from socketlab.inspector.pipeline import decode_events, reassemble
from socketlab.inspector.proxy import Proxy
from socketlab.inspector.recording import read_recording
from socketlab.inspector.synth import write_pcap
from socketlab.protocol import encode_frame, encode_message
from socketlab.protocol.messages import Hello
from tests.inspector.conftest import vector_events
from tests.inspector.net_helpers import (
    TIMEOUT,
    echo_until_eof,
    frame_echo_until_eof,
    length_prefixed,
    recv_exactly,
    serving,
    wait_until,
)

ECHOED = [b"hello, echo!\n", b"\x00\x01binary\xff\n"]
FRAMED = [b"first frame", "zweite Nachricht: grüße".encode()]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "socketlab", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def record_session(record: Path, handler, talk) -> Path:
    """Run ``talk(sock)`` against ``handler`` through a proxy recording to ``record``."""
    with serving(handler) as target, Proxy("127.0.0.1", 0, target, record=record) as proxy:
        with socket.create_connection(proxy.address, timeout=TIMEOUT) as sock:
            talk(sock)
            sock.shutdown(socket.SHUT_WR)
            assert sock.recv(1) == b""
        wait_until(lambda: any(isinstance(e, Closed) for e in proxy.events()), "the close")
    return record


def echo_talk(sock: socket.socket) -> None:
    for line in ECHOED:
        sock.sendall(line)
        assert recv_exactly(sock, len(line)) == line


def framed_talk(sock: socket.socket) -> None:
    for body in FRAMED:
        sock.sendall(length_prefixed(body))
        assert recv_exactly(sock, 4 + len(body)) == length_prefixed(body.upper())


def json_items(*args: str) -> list[dict]:
    result = run("read", *args, "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def echo_recording(tmp_path: Path) -> Path:
    return record_session(tmp_path / "echo.jsonl", echo_until_eof, echo_talk)


@pytest.fixture
def framed_recording(tmp_path: Path) -> Path:
    return record_session(tmp_path / "framed.jsonl", frame_echo_until_eof, framed_talk)


def test_an_echo_session_shows_the_raw_bytes_both_ways_in_order(echo_recording, tmp_path):
    pcap = tmp_path / "echo.pcap"
    write_pcap(pcap, read_recording(echo_recording))
    for source in (echo_recording, pcap):
        items = json_items(str(source))
        raw = [(i["direction"], bytes.fromhex(i["data"])) for i in items if i.get("kind") == "raw"]
        assert raw == [(d, line) for line in ECHOED for d in ("c2s", "s2c")]
        assert any("shown as raw bytes" in i.get("note", "") for i in items)
    text = run("read", str(echo_recording)).stdout
    assert "client → server  13 B at offset 0  raw" in text
    assert "server → client  13 B at offset 13  raw" not in text  # each way has its own offsets
    assert "server → client  13 B at offset 0  raw" in text
    assert "68 65 6c 6c 6f 2c 20 65 63 68 6f 21 0a" in text
    assert "|hello, echo!.|" in text


def test_a_length_prefixed_session_shows_frames_with_their_text(framed_recording):
    items = json_items(str(framed_recording))
    frames = [(i["direction"], i["number"], i["text"]) for i in items if i.get("kind") == "frame"]
    # The server upper-cases bytes, so only the ASCII letters change.
    assert frames == [("c2s", 1, "first frame"), ("s2c", 1, "FIRST FRAME"),
                      ("c2s", 2, "zweite Nachricht: grüße"), ("s2c", 2, "ZWEITE NACHRICHT: GRüßE")]
    assert any("shown as length-prefixed frames" in i.get("note", "") for i in items)
    text = run("read", str(framed_recording)).stdout
    assert "#1   client → server  15 B  frame: text" in text
    assert '"first frame"' in text


def test_a_socketlab_session_is_shown_as_before(demo_pcap, vector_keylog):
    auto = run("read", str(demo_pcap), "--keylog", str(vector_keylog), "--json")
    forced = run("read", str(demo_pcap), "--keylog", str(vector_keylog), "--json",
                 "--as", "socketlab")
    assert auto.returncode == forced.returncode == 0
    assert auto.stdout == forced.stdout
    kinds = {json.loads(line).get("kind") for line in auto.stdout.splitlines()}
    assert kinds == {"plain", "sealed", None}  # None: the closing note; no raw, no frame
    assert "shown as" not in auto.stdout


def test_as_overrides_the_automatic_choice(echo_recording, framed_recording, demo_pcap):
    raw = json_items(str(framed_recording), "--as", "raw")
    assert [bytes.fromhex(i["data"]) for i in raw if i["direction"] == "c2s" and "data" in i] \
        == [length_prefixed(body) for body in FRAMED]
    assert not any("shown as" in i.get("note", "") for i in raw)  # chosen, not guessed

    as_frames = json_items(str(echo_recording), "--as", "frames")
    notes = [i["note"] for i in as_frames if "note" in i and i["direction"] == "c2s"]
    assert any("not a valid frame" in n and "shown raw" in n for n in notes)
    assert {bytes.fromhex(i["data"]) for i in as_frames if i.get("kind") == "raw"} == set(ECHOED)

    socketlab_as_raw = json_items(str(demo_pcap), "--as", "raw")
    assert {i.get("kind") for i in socketlab_as_raw} == {"raw", None}


def test_the_classifier_needs_a_whole_first_frame():
    hello = encode_frame(encode_message(Hello(mode="plain")))
    assert classify(hello[:3]) is None
    assert classify(hello[:-1]) is None
    assert classify(hello).view == "socketlab"
    assert classify(length_prefixed(b"hi")).view == "frames"
    assert classify(b"hello\n").view == "raw"
    assert classify(b"\x00\x00\x00\x00").view == "raw"  # an empty frame is no frame


def test_a_short_echo_is_raw_as_soon_as_the_server_answers():
    """'hi' is too short to be a frame header; once the echo comes back it cannot be one."""
    conn = vector_events()[0].conn
    decoder = SessionDecoder()
    assert decoder.add(Opened(conn, 0.0, True)) == []
    assert decoder.add(Data(conn, "c2s", 0, b"hi", 0.1)) == []
    out = decoder.add(Data(conn, "s2c", 0, b"hi", 0.2))
    assert isinstance(out[0], Note) and "answered before" in out[0].text
    assert [(c.direction, c.data) for c in out[1:] if isinstance(c, Chunk)] == \
        [("c2s", b"hi"), ("s2c", b"hi")]
    assert decoder.view_of(conn) == "raw"


def test_decode_events_takes_the_view_for_every_connection():
    items = list(decode_events(vector_events(), None, "frames"))
    assert all(i.kind == "frame" for i in items if isinstance(i, Frame))
    assert sum(isinstance(i, Frame) for i in items) == len(
        [e for e in vector_events() if hasattr(e, "data")])


@pytest.mark.needs_root
def test_a_live_sniff_of_an_echo_shows_raw_bytes_and_of_frames_their_text(tmp_path):
    """Lab 01's echo and lab 02's frames on loopback, captured live and read back."""
    for handler, talk, kind in ((echo_until_eof, echo_talk, "raw"),
                                (frame_echo_until_eof, framed_talk, "frame")):
        segments = []
        pcap = tmp_path / f"{kind}.pcap"
        with serving(handler) as target:
            capture = LiveCapture(None, target[1], segments.append, pcap_out=pcap)
            capture.start()
            try:
                with socket.create_connection(target, timeout=TIMEOUT) as sock:
                    talk(sock)
                    sock.shutdown(socket.SHUT_WR)
                    assert sock.recv(1) == b""
                wait_until(lambda caught=segments: sum(s.flags & FIN != 0 for s in caught) >= 2,
                           "both FINs")
            finally:
                capture.stop()
        items = list(decode_events(reassemble(segments, target[1]), None))
        if kind == "raw":
            shown = [(i.direction, i.data) for i in items if isinstance(i, Chunk)]
            assert b"".join(d for w, d in shown if w == "c2s") == b"".join(ECHOED)
            assert b"".join(d for w, d in shown if w == "s2c") == b"".join(ECHOED)
        else:
            texts = [i.text for i in items if isinstance(i, Frame) and i.direction == "c2s"]
            assert texts == [body.decode() for body in FRAMED]
        assert json_items(str(pcap))  # the pcap written during the capture reads back


def test_lab_01s_reference_capture_says_raw_bytes_without_an_alarm():
    """Lab 01 comes before framing: its echo is raw bytes, said as such, nothing red."""
    reference = Path(__file__).parents[2] / "labs" / "01-echo" / "capture" / "reference.pcap"
    done = run("read", str(reference))
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    said = [line for line in lines if "shown as" in line]
    assert len(said) == 2  # two clients, one after the other
    assert all("· shown as raw bytes (not length-prefixed frames): it starts with text" in line
               for line in said)
    assert '("hello, echo")' in said[0]
    assert not any(word in done.stdout for word in ("exceeds", "maximum", "error", "invalid"))
    assert not any(line.split(" ", 2)[1:2] == ["!"] for line in lines)  # no warning mark
    assert "|hello, echo.|" in done.stdout

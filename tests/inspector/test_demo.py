"""The demo end to end: the README's first command, in a temporary folder."""

import multiprocessing
import subprocess
import sys
import threading

import pytest

from socketlab.inspector.decode import Frame
from socketlab.inspector.demo import E2E_SECRET, PLAIN_SECRET, TRANSPORT_SECRET, run_demo
from socketlab.inspector.keylog_file import KeyLogFile
from socketlab.inspector.pipeline import read_pcap
from socketlab.protocol import E2EMessage, E2EWhisper
from tests.inspector.report_html import Page

SECTIONS = [
    "Who was on the wire",
    "How this was captured",
    "How to read a frame",
    "Highlights",
    "Two whispers: end-to-end against transport only",
    "The whisper, opened with bob's key log",
    "Searching every captured byte",
    "One connection as a ladder diagram",
    "Plaintext against ciphertext",
    "Bytes per message, with and without encryption",
    "Threads at work",
    "Every frame",
]


@pytest.fixture(scope="module", params=[pytest.param("sniff", marks=pytest.mark.needs_root),
                                        "proxy"])
def demo(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"demo-{request.param}")
    threads_before = set(threading.enumerate())
    said = out / "said.txt"
    with said.open("w", encoding="utf-8") as stream:
        result = run_demo(out, stream, prefer=request.param)
    # Nothing left running: no server, client, proxy or capture thread, no child process.
    assert set(threading.enumerate()) <= threads_before
    assert multiprocessing.active_children() == []
    return request.param, result, said.read_text(encoding="utf-8")


def shown(frame: Frame) -> str:
    """Everything the inspector says about a frame: bodies, note, decoded messages."""
    return " ".join([*(b.decode() for b in frame.bodies), frame.note, repr(frame.messages)])


def test_demo_writes_everything_it_promises(demo):
    capture, result, said = demo
    assert result.method == capture
    for name in ("view", "threads", "bytes", "sizes", "ladder", "report", "pcap"):
        assert result.files[name].exists() and result.files[name].stat().st_size > 0
    assert result.files["pcap"].read_bytes()[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")
    frames = [i for i in result.items if isinstance(i, Frame)]
    texts = {m.text for f in frames for m in f.messages if hasattr(m, "text")}
    assert {"hello, class!", TRANSPORT_SECRET, PLAIN_SECRET} <= texts
    assert "name_taken" in said
    assert f"{E2E_SECRET!r}" in said
    assert "on the wire not found; with the server's key log not found" in said
    assert "on the wire not found; with the server's key log FOUND" in said
    assert "on the wire FOUND; with the server's key log FOUND" in said
    html = result.files["report"].read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 4
    assert str(result.out) in said


def test_the_whisper_is_end_to_end_the_servers_key_log_cannot_read_it(demo):
    _, result, _ = demo
    pcap, out = result.files["pcap"], result.out
    server = [i for i in read_pcap(pcap, KeyLogFile(out / "keys.log")) if isinstance(i, Frame)]
    assert all(f.messages for f in server)  # the transport opens: every frame is read...
    assert not any(E2E_SECRET in shown(f) for f in server)  # ...but never the whisper
    (sent,) = [f for f in server if any(isinstance(m, E2EWhisper) for m in f.messages)]
    (box,) = sent.messages
    assert f"end-to-end: {len(box.box)} bytes, the server cannot read it" in sent.note
    assert any(TRANSPORT_SECRET in shown(f) for f in server)  # the old client's is readable
    # bob's own key log opens what he received, and only that.
    bob = [i for i in read_pcap(pcap, KeyLogFile(out / "bob.keys")) if isinstance(i, Frame)]
    opened = [f for f in bob if E2E_SECRET in shown(f)]
    # One sealed frame may carry several messages (a batch): the whisper is one of them.
    assert len(opened) == 1 and any(isinstance(m, E2EMessage) for m in opened[0].messages)
    assert "end-to-end whisper alice → bob, opened with the client's e2e key" in opened[0].note


def test_the_report_reads_top_to_bottom(demo):
    capture, result, _ = demo
    page = Page(result.files["report"].read_text(encoding="utf-8"))
    assert page.title == "socketlab demo: a chat on the wire"
    assert "alice and bob have new clients (end-to-end whispers)" in page.intro[0]
    assert [s.heading for s in page.sections] == SECTIONS
    for section in page.sections:  # what to look at, what to notice, one question
        assert set(section.prose) == {"what", "notice", "question"}, section.heading
        assert section.prose["question"].startswith("Think about it:")
        assert section.prose["question"].endswith("?")
        assert len(section.captions) == section.images, section.heading

    who = page.section("Who was on the wire").tables[0]
    assert who.head == ["user", "client port", "session", "login", "whispers", "frames"]
    assert [(r[0], r[2], r[3], r[4]) for r in who.rows] == [
        ("alice", "encrypted", "welcomed", "end-to-end"),
        ("bob", "encrypted", "welcomed", "end-to-end"),
        ("carol", "encrypted", "welcomed", "transport only"),
        ("Alice", "encrypted", "refused: name_taken", "—"),
        ("eve", "PLAINTEXT", "welcomed", "transport only"),
    ]
    captured = page.section("How this was captured").terms
    assert {"lo", "port", "pcap", "key log", "this run"} <= set(captured)
    assert "loopback interface" in captured["lo"]
    assert ("proxy" in captured) == (capture == "proxy")
    assert set(page.section("How to read a frame").terms) == \
        {"len", "body", "nonce", "ctr", "mac", "data", "B"}

    (whispers,) = page.section("Two whispers: end-to-end against transport only").tables
    assert whispers.head == ["whisper", "on the wire", "decrypted with the server's key log",
                             "decrypted with the recipient's key log"]
    e2e, transport = whispers.rows
    assert e2e[0].startswith("alice → bob: END-TO-END")
    assert "the server cannot read it" in e2e[2] and E2E_SECRET not in e2e[2]
    assert "bob's key log: end-to-end whisper alice → bob" in e2e[3] and E2E_SECRET in e2e[3]
    assert transport[0].startswith("alice → carol: TRANSPORT ONLY (carol's client is old")
    assert TRANSPORT_SECRET in transport[2]

    (search,) = page.section("Searching every captured byte").tables
    assert [[r[0], r[2], r[3]] for r in search.rows] == [
        [E2E_SECRET, "not found", "not found"],
        [TRANSPORT_SECRET, "not found", "FOUND"],
        [PLAIN_SECRET, "FOUND", "FOUND"],
    ]

    frames = [i for i in result.items if isinstance(i, Frame)]
    (ladder,) = page.section("One connection as a ladder diagram").captions
    assert "Dashed blue arrows are plaintext" in ladder and "solid orange ones sealed" in ladder
    first = [f for f in frames if f.conn == frames[0].conn]
    batch = next((f for f in first if len(f.messages) > 1), None)
    if batch is not None:  # the server batches what is ready at once; not every run
        assert (f"A label like {batch.label} ({len(batch.wire)} B) is one sealed frame "
                f"carrying {len(batch.messages)} messages") in ladder
    assert "bits per byte" in page.section("Plaintext against ciphertext").captions[0]
    assert "44 bytes" in page.section("Bytes per message, with and without encryption") \
        .captions[0]

    every = page.section("Every frame")
    assert [t.conn for t in every.tables] == ["alice", "bob", "carol", "Alice", "eve"]
    assert "login refused: name_taken" in every.conns[3]
    assert "PLAINTEXT session" in every.conns[4]
    assert sum(len(t.rows) for t in every.tables) == len(result.items)  # frames and notes
    for table in every.tables:
        numbers = [row[0] for row in table.rows if row[0]]
        assert numbers == [str(n) for n in range(1, len(numbers) + 1)]
    for section in (every, page.section("Highlights")):
        assert E2E_SECRET not in section.text
    (opened,) = page.section("The whisper, opened with bob's key log").tables
    assert opened.conn == "bob" and len(opened.rows) == 1
    assert opened.rows[0][2].startswith("server → bob")
    assert "end-to-end whisper alice → bob, opened with the client's e2e key" in opened.rows[0][4]
    assert E2E_SECRET in opened.rows[0][4]
    highlights = page.section("Highlights")
    assert [t.conn for t in highlights.tables] == ["alice", "eve"]


def test_demo_command_runs_cleanly_and_exits(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "socketlab", "demo", "--out", str(out), "--capture", "proxy"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (out / "report.html").exists()
    assert "Traceback" not in done.stderr

"""The HTML report: one self-contained file, images embedded, text escaped."""

import base64
import re
import struct
import zlib

import pytest

from socketlab.inspector.decode import Frame
from socketlab.inspector.events import Connection, Data, Opened
from socketlab.inspector.pipeline import decode_events
from socketlab.inspector.report import (
    Cell,
    FramesSection,
    ImageSection,
    Prose,
    TableSection,
    TermsSection,
    TextSection,
    write_report,
)
from socketlab.inspector.usernames import refused_logins, user_names
from socketlab.protocol import (
    Bye,
    Error,
    Hello,
    Login,
    Message,
    Say,
    ServerHello,
    Welcome,
    encode_frame,
    encode_message,
    read_keylog,
)
from tests.inspector.conftest import box_session_vectors
from tests.inspector.report_html import Page


def tiny_png(colour: tuple[int, int, int]) -> bytes:
    """A valid 1x1 RGB PNG, written by hand so this test needs no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + bytes(colour))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
def pngs(tmp_path):
    paths = []
    for i, colour in enumerate([(255, 0, 0), (0, 128, 255)]):
        path = tmp_path / "charts" / f"chart{i}.png"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(tiny_png(colour))
        paths.append(path)
    return paths


def test_report_is_one_file_embedding_every_png_byte_for_byte(tmp_path, pngs):
    out = tmp_path / "out"
    path = write_report(
        out,
        title="Demo",
        sections=[
            ImageSection("Timeline", pngs[0], caption="threads"),
            TextSection("Frames", "c2s 88 B"),
            ImageSection("Histogram", pngs[1]),
        ],
    )
    assert path == out / "report.html"
    assert [p.name for p in out.iterdir()] == ["report.html"]
    html = path.read_text(encoding="utf-8")
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert [base64.b64decode(e) for e in embedded] == [p.read_bytes() for p in pngs]
    assert "<figcaption>threads</figcaption>" in html


def test_report_escapes_html_in_title_headings_text_and_tables(tmp_path):
    evil = '<script>alert("x")</script> & <b>'
    html = write_report(
        tmp_path,
        title=evil,
        sections=[
            TextSection(evil, evil),
            TextSection("para", evil, preformatted=False),
            TableSection("table", columns=[evil], rows=[[evil]]),
        ],
    ).read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "<b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in html
    # <title>, <h1>, nav link, <h2>, <pre>, <p>, <th>, <td>
    assert html.count("&lt;script&gt;") == 8


def test_preformatted_text_keeps_its_layout(tmp_path):
    frame_view = 'c2s   88 B | 00 00 00 54\n  s2c  9 B | {"type":"who"}'
    sections = [TextSection("Frames", frame_view)]
    html = write_report(tmp_path, title="t", sections=sections).read_text()
    assert (
        "<pre>c2s   88 B | 00 00 00 54\n  s2c  9 B | {&quot;type&quot;:&quot;who&quot;}</pre>"
        in html
    )


def test_table_rows_and_number_cells(tmp_path):
    html = write_report(
        tmp_path,
        title="t",
        sections=[
            TableSection(
                "Sizes",
                columns=["message", "plain", "box"],
                rows=[["say", 41, 81], ["who", 19, 59]],
            ),
        ],
    ).read_text()
    assert "<th>message</th><th>plain</th><th>box</th>" in html
    assert '<tr><td>say</td><td class="num">41</td><td class="num">81</td></tr>' in html
    assert html.count("<tr>") == 3


def test_table_row_with_wrong_cell_count_is_refused(tmp_path):
    with pytest.raises(ValueError, match="row 2 has 1 cells, expected 2"):
        write_report(
            tmp_path,
            title="t",
            sections=[
                TableSection("Sizes", columns=["a", "b"], rows=[[1, 2], [3]]),
            ],
        )


def test_non_png_image_is_refused(tmp_path):
    fake = tmp_path / "chart.png"
    fake.write_text("<svg/>")
    with pytest.raises(ValueError, match="not a PNG"):
        write_report(tmp_path, title="t", sections=[ImageSection("Chart", fake)])


def test_report_references_no_external_resource(tmp_path, pngs):
    html = write_report(
        tmp_path,
        title="Demo",
        sections=[
            ImageSection("Chart", pngs[0]),
            TextSection("Link text", "see http://example.com and <link href='x'>"),
            TableSection("t", columns=["url"], rows=[["https://example.com"]]),
        ],
    ).read_text()
    assert not re.search(r"""src\s*=\s*["']?(https?:|//)""", html)
    assert not re.search(r"<link\b", html)
    assert not re.search(r"@import|url\(", html)
    assert "<style>" in html  # the CSS is inline


def test_report_links_each_section_from_a_table_of_contents(tmp_path):
    html = write_report(
        tmp_path,
        title="t",
        sections=[
            TextSection("One", "1"),
            TextSection("Two", "2"),
        ],
    ).read_text()
    assert '<a href="#s1">One</a>' in html and '<section id="s1">' in html
    assert '<a href="#s2">Two</a>' in html and '<section id="s2">' in html


# --- frames under their own connection -----------------------------------------

ALICE = Connection(("127.0.0.1", 50001), ("127.0.0.1", 7777), 0)
EVE = Connection(("127.0.0.1", 50002), ("127.0.0.1", 7777), 0)
COPYCAT = Connection(("127.0.0.1", 50003), ("127.0.0.1", 7777), 0)


def plain_frames(*messages) -> list[tuple[str, bytes]]:
    return [(direction, encode_frame(encode_message(msg))) for direction, msg in messages]


def interleaved_events() -> list:
    """Three connections whose frames alternate one by one on the wire: alice's
    encrypted session (the known-answer vectors), eve's plaintext session and a
    plaintext login refused as name_taken."""
    streams = {
        ALICE: [(v.direction, v.frame) for v in box_session_vectors()],
        EVE: plain_frames(("c2s", Hello("plain")), ("s2c", ServerHello("plain")),
                          ("c2s", Login("eve")), ("s2c", Welcome("eve", ("alice", "eve"))),
                          ("c2s", Say("in the clear")),
                          ("s2c", Message("eve", "in the clear", 1)), ("c2s", Bye())),
        COPYCAT: plain_frames(("c2s", Hello("plain")), ("s2c", ServerHello("plain")),
                              ("c2s", Login("Alice")), ("s2c", Error("name_taken", "taken")),
                              ("c2s", Bye())),
    }
    events: list = [Opened(conn, 0.0, True) for conn in streams]
    offsets = {(conn, d): 0 for conn in streams for d in ("c2s", "s2c")}
    ts = 0.0
    for i in range(max(len(frames) for frames in streams.values())):
        for conn, frames in streams.items():
            if i < len(frames):
                direction, wire = frames[i]
                ts += 0.001
                events.append(Data(conn, direction, offsets[conn, direction], wire, ts))
                offsets[conn, direction] += len(wire)
    return events


def test_every_frame_sits_under_its_own_connection_with_its_own_numbers(tmp_path,
                                                                        vector_keylog):
    items = list(decode_events(interleaved_events(), read_keylog(vector_keylog)))
    frames = [i for i in items if isinstance(i, Frame)]
    # On the wire the three connections take turns: never two frames of one in a row early on.
    assert [f.conn for f in frames[:6]] == [ALICE, EVE, COPYCAT] * 2
    names = user_names(items)
    assert names == {ALICE: "alice", EVE: "eve", COPYCAT: "Alice"}
    refused = refused_logins(items)
    assert refused == {COPYCAT: "name_taken"}
    html = write_report(tmp_path, title="t", sections=[
        FramesSection("Every frame", items, names, refused)]).read_text(encoding="utf-8")
    section = Page(html).section("Every frame")

    assert [t.conn for t in section.tables] == ["alice", "eve", "Alice"]
    assert section.conns[0].startswith("alice 127.0.0.1:50001 ⇄ 127.0.0.1:7777, 17 frames")
    assert "PLAINTEXT session" in section.conns[1]
    assert "login refused: name_taken" in section.conns[2]
    for table in section.tables:
        assert table.head == ["#", "time", "from → to", "on the wire",
                              "what it means, decrypted with the key log"]
        conn = {"alice": ALICE, "eve": EVE, "Alice": COPYCAT}[table.conn]
        own = [f for f in frames if f.conn == conn]
        # Notes about the connection (who logged in) are rows without a number.
        rows = [row for row in table.rows if row[0]]
        assert all(row[-1].startswith("note: ") for row in table.rows if not row[0])
        # Its own numbering, 1..n, and exactly its own frames, in the order they crossed.
        assert [row[0] for row in rows] == [str(n) for n in range(1, len(own) + 1)]
        user = table.conn
        for row, frame in zip(rows, own, strict=True):
            arrow = f"{user} → server" if frame.direction == "c2s" else f"server → {user}"
            assert row[2] == f"{arrow} {len(frame.wire)} B"
            assert all(body.decode() in row[4] for body in frame.bodies)
    alice, eve, copycat = ([row for row in table.rows if row[0]] for table in section.tables)
    assert all("decrypted with the key log" in row[4] for row in alice[2:])
    assert all("nonce 43 + 00×15 + ctr" in row[3] or "nonce 53 + 00×15 + ctr" in row[3]
               for row in alice[2:])
    assert all("sent in plaintext" in row[4] for row in eve + copycat)
    assert '"code":"name_taken"' in copycat[3][4]
    assert not any("in the clear" in cell for row in alice + copycat for cell in row)


def test_prose_captions_and_terms_read_as_paragraphs_with_code_marked(tmp_path, pngs):
    html = write_report(tmp_path, title="t", intro="First.\n\nSecond `<x>`.", sections=[
        TermsSection("Words", [("len", "run `socketlab read a.pcap`")],
                     Prose("What it is.", "What to notice.", "Why?")),
        ImageSection("Chart", pngs[0], caption="blue is `plain`"),
        TableSection("Wide", ["a"], [[Cell("FOUND", "found")]], wide=True),
    ]).read_text(encoding="utf-8")
    page = Page(html)
    assert page.intro == ["First.", "Second <x>."]
    assert "<code>&lt;x&gt;</code>" in html
    words = page.section("Words")
    assert words.prose == {"what": "What it is.", "notice": "What to notice.",
                           "question": "Think about it: Why?"}
    assert words.terms == {"len": "run socketlab read a.pcap"}
    assert "<dd>run <code>socketlab read a.pcap</code></dd>" in html
    assert page.section("Chart").captions == ["blue is plain"]
    assert '<table class="wide">' in html and '<td class="found">FOUND</td>' in html


def test_a_connection_is_named_by_the_login_the_server_took():
    """A retry after bad_name names the connection by the name welcomed, and is no refusal."""
    conn = Connection(("127.0.0.1", 50009), ("127.0.0.1", 7777), 0)
    frames = plain_frames(("c2s", Hello("plain")), ("s2c", ServerHello("plain")),
                          ("c2s", Login("bad name!")), ("s2c", Error("bad_name", "no spaces")),
                          ("c2s", Login("dave")), ("s2c", Welcome("dave", ("dave",))))
    events: list = [Opened(conn, 0.0, True)]
    offsets = {"c2s": 0, "s2c": 0}
    for i, (direction, wire) in enumerate(frames):
        events.append(Data(conn, direction, offsets[direction], wire, float(i)))
        offsets[direction] += len(wire)
    items = list(decode_events(events, None))
    assert user_names(items) == {conn: "dave"}
    assert refused_logins(items) == {}
    # Cut after the refusal: named by what it asked for, and refused.
    cut = items[:4]
    assert user_names(cut) == {conn: "bad name!"} and refused_logins(cut) == {conn: "bad_name"}

"""The HTML report: one self-contained file, images embedded, text escaped."""

import base64
import re
import struct
import zlib

import pytest

from socketlab.inspector.report import ImageSection, TableSection, TextSection, write_report


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

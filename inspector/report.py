"""A one-page, self-contained HTML report a student reads once, top to bottom.

The page has no external resources (PNGs are embedded as data URIs, the CSS is
inline), so it opens from disk in any browser, can be mailed or uploaded to a
course site, and shows the same thing offline. Each section may open with
``Prose``: what the student is looking at, what to notice, and one question
to think about; in prose, captions and terms, `backticks` mark code. Frames
are drawn by ``report_frames`` (one table per connection: the bytes on the
wire beside what they mean).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from .decode import Decoded, Frame
from .events import Connection
from .report_frames import frames_html

REPORT_NAME = "report.html"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True, slots=True)
class Prose:
    """The paragraph before a section: what it shows, what to notice, one question."""

    what: str
    notice: str
    question: str


@dataclass(frozen=True, slots=True)
class Cell:
    """A table cell with a look: ``found`` (a secret in the clear), ``hidden``, ``decrypted``."""

    text: str
    look: str


@dataclass(frozen=True, slots=True)
class TextSection:
    """Text under a heading; preformatted keeps columns aligned (e.g. the frame view)."""

    heading: str
    text: str
    preformatted: bool = True
    prose: Prose | None = None


@dataclass(frozen=True, slots=True)
class ImageSection:
    """A PNG file (e.g. a chart from ``charts.save_png``) embedded in the page."""

    heading: str
    path: str | Path
    caption: str = ""
    prose: Prose | None = None


@dataclass(frozen=True, slots=True)
class TableSection:
    """A table; every row has one cell per column, any value (shown with ``str``)."""

    heading: str
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    prose: Prose | None = None
    wide: bool = False  # the page's full width, for cells of sentences


@dataclass(frozen=True, slots=True)
class TermsSection:
    """Words and what they mean (a definition list), e.g. the parts of a frame."""

    heading: str
    terms: Sequence[tuple[str, str]]
    prose: Prose | None = None


@dataclass(frozen=True, slots=True)
class FramesSection:
    """Frames under their own connection, numbered per connection.

    ``items`` is the whole decoded capture (numbers and times count from it);
    ``only``, if given, picks the frames to show. ``names`` names each
    connection by its user (``usernames.user_names``), ``refused`` marks
    refused logins.
    """

    heading: str
    items: Sequence[Decoded]
    names: dict[Connection, str]
    refused: dict[Connection, str]
    only: Sequence[Frame] | None = None
    prose: Prose | None = None


Section = TextSection | ImageSection | TableSection | TermsSection | FramesSection

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1100px; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
h1 { font-size: 1.6rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2.5rem; }
h3 { font-size: 1.05rem; margin: 1.6rem 0 .4rem; }
h3 .addr { font-weight: normal; color: #666; font-size: .85rem; margin-left: .5rem; }
.tag { font-size: .75rem; font-weight: normal; border-radius: 3px; padding: .05rem .4rem;
       margin-left: .5rem; color: #fff; vertical-align: middle; }
.tag.sealed { background: #A35F00; } .tag.plain { background: #0072B2; }
.tag.refused { background: #B00020; }
nav ol { padding-left: 1.2rem; columns: 2; }
p.what, p.notice, p.question { margin: .4rem 0; max-width: 52rem; }
p.question { background: #FFF8E1; border-left: 4px solid #E69F00; padding: .3rem .6rem; }
code, pre, .wire, .meaning pre {
  font-family: ui-monospace, "Cascadia Mono", Consolas, "DejaVu Sans Mono", monospace; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; border-radius: 4px; padding: .75rem;
      overflow-x: auto; font-size: .8rem; line-height: 1.3; }
figure { margin: .5rem 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: .9rem; max-width: 52rem; margin-top: .3rem; }
figcaption::before { content: "Figure: "; font-weight: 600; }
table { border-collapse: collapse; font-size: .88rem; margin: .4rem 0; }
table.wide { width: 100%; } table.wide td:first-child { width: 22%; }
table.wide td { min-width: 9rem; }
code { background: #f0f0f0; border-radius: 3px; padding: 0 .2rem; font-size: .85em; }
th, td { border: 1px solid #ddd; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.found { background: #FDE2E2; color: #8B0000; font-weight: 600; }
td.hidden { background: #E3F4EA; color: #0B5D2A; }
td.decrypted { background: #FFF4E0; }
dl.terms { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem;
           max-width: 52rem; }
dl.terms dt { font-family: ui-monospace, Consolas, "DejaVu Sans Mono", monospace;
              font-weight: 600; }
dl.terms dd { margin: 0; }
table.frames { width: 100%; table-layout: fixed; }
table.frames col.n { width: 2.5rem; } table.frames col.t { width: 5.2rem; }
table.frames col.d { width: 8.5rem; } table.frames col.w { width: 23rem; }
.wire { background: #F2F2F2; font-size: .75rem; white-space: pre; overflow-x: auto; }
.wire .part { color: #777; }
.meaning { font-size: .82rem; }
.meaning pre { margin: .1rem 0; padding: .3rem .4rem; white-space: pre-wrap;
               word-break: break-all; font-size: .75rem; }
.meaning.decrypted pre { background: #FFF4E0; border: 1px dashed #C17800; }
.meaning.plain pre { background: #E8F1FA; border: 1px solid #0072B2; }
.meaning .how { color: #555; font-style: italic; }
.meaning.closed { color: #8a5a00; }
tr.note td { color: #8B0000; font-size: .8rem; }
@media print { pre, .wire { white-space: pre-wrap; } }
"""


def write_report(out_dir: str | Path, *, title: str, sections: Sequence[Section],
                 intro: str = "") -> Path:
    """Write ``out_dir/report.html`` from ``sections`` (in order) and return its path.

    ``intro`` is the page's opening paragraph (blank lines split paragraphs).
    Raises ``ValueError`` if an image is not a PNG or a table row has the wrong
    number of cells, and ``OSError`` if an image cannot be read.
    """
    body = [_section(i, s) for i, s in enumerate(sections, start=1)]
    nav = ""
    if len(sections) > 1:
        items = "".join(
            f'<li><a href="#s{i}">{escape(s.heading)}</a></li>' for i, s in enumerate(sections, 1)
        )
        nav = f"<nav><ol>{items}</ol></nav>\n"
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n{_paragraphs(intro, 'intro')}{nav}{''.join(body)}"
        "</body>\n</html>\n"
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_NAME
    path.write_text(page, encoding="utf-8")
    return path


def _section(index: int, section: Section) -> str:
    if isinstance(section, TextSection):
        content = _text(section)
    elif isinstance(section, ImageSection):
        content = _image(section)
    elif isinstance(section, TableSection):
        content = _table(section)
    elif isinstance(section, TermsSection):
        content = _terms(section.terms)
    elif isinstance(section, FramesSection):
        content = frames_html(section.items, section.names, section.refused, section.only)
    else:
        raise TypeError(f"not a report section: {section!r}")
    return (f'<section id="s{index}">\n<h2>{escape(section.heading)}</h2>\n'
            f"{_prose(section.prose)}{content}\n</section>\n")


def _inline(text: str) -> str:
    """Escaped text where `backticks` mark code: a command or a file to type."""
    return _CODE.sub(r"<code>\1</code>", escape(text))


_CODE = re.compile(r"`([^`]+)`")


def _prose(prose: Prose | None) -> str:
    if prose is None:
        return ""
    return (f'<p class="what">{_inline(prose.what)}</p>\n'
            f'<p class="notice">{_inline(prose.notice)}</p>\n'
            f'<p class="question"><strong>Think about it:</strong> {_inline(prose.question)}</p>\n')


def _paragraphs(text: str, css: str) -> str:
    paragraphs = (p.strip() for p in text.split("\n\n"))
    return "".join(f'<p class="{css}">{_inline(p)}</p>\n' for p in paragraphs if p)


def _text(section: TextSection) -> str:
    if section.preformatted:
        return f"<pre>{escape(section.text)}</pre>"
    return _paragraphs(section.text, "text")


def _terms(terms: Sequence[tuple[str, str]]) -> str:
    rows = "".join(f"<dt>{escape(word)}</dt><dd>{_inline(meaning)}</dd>" for word, meaning in terms)
    return f'<dl class="terms">{rows}</dl>'


def _image(section: ImageSection) -> str:
    data = Path(section.path).read_bytes()
    if not data.startswith(PNG_MAGIC):
        raise ValueError(f"{section.path}: not a PNG file (the report embeds PNG only)")
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    alt = escape(section.caption or section.heading)
    caption = f"<figcaption>{_inline(section.caption)}</figcaption>" if section.caption else ""
    return f'<figure><img src="{uri}" alt="{alt}">{caption}</figure>'


def _table(section: TableSection) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in section.columns)
    rows = []
    for n, row in enumerate(section.rows, start=1):
        if len(row) != len(section.columns):
            raise ValueError(
                f"table {section.heading!r} row {n} has {len(row)} cells, "
                f"expected {len(section.columns)}"
            )
        rows.append("<tr>" + "".join(_cell(v) for v in row) + "</tr>")
    wide = ' class="wide"' if section.wide else ""
    return (
        f"<table{wide}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>"
    )


def _cell(value: object) -> str:
    if isinstance(value, Cell):
        return f'<td class="{escape(value.look)}">{escape(value.text)}</td>'
    # Numbers align right so columns of byte counts compare at a glance.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<td class="num">{escape(str(value))}</td>'
    return f"<td>{escape(str(value))}</td>"

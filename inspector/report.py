"""A one-page, self-contained HTML report: charts, tables and text in one file.

The page has no external resources (PNGs are embedded as data URIs, the CSS is
inline), so it opens from disk in any browser, can be mailed or uploaded to a
course site, and shows the same thing offline.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

REPORT_NAME = "report.html"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True, slots=True)
class TextSection:
    """Text under a heading; preformatted keeps columns aligned (e.g. the frame view)."""

    heading: str
    text: str
    preformatted: bool = True


@dataclass(frozen=True, slots=True)
class ImageSection:
    """A PNG file (e.g. a chart from ``charts.save_png``) embedded in the page."""

    heading: str
    path: str | Path
    caption: str = ""


@dataclass(frozen=True, slots=True)
class TableSection:
    """A table; every row has one cell per column, any value (shown with ``str``)."""

    heading: str
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]


Section = TextSection | ImageSection | TableSection

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1100px; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2rem; }
nav ol { padding-left: 1.2rem; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; border-radius: 4px; padding: .75rem;
      overflow-x: auto; font-size: .8rem; line-height: 1.3;
      font-family: ui-monospace, "Cascadia Mono", Consolas, "DejaVu Sans Mono", monospace; }
figure { margin: 0; }
img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: .9rem; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
@media print { pre { white-space: pre-wrap; } }
"""


def write_report(out_dir: str | Path, *, title: str, sections: Sequence[Section]) -> Path:
    """Write ``out_dir/report.html`` from ``sections`` (in order) and return its path.

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
        f"<h1>{escape(title)}</h1>\n{nav}{''.join(body)}</body>\n</html>\n"
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
    else:
        raise TypeError(f"not a report section: {section!r}")
    return f'<section id="s{index}">\n<h2>{escape(section.heading)}</h2>\n{content}\n</section>\n'


def _text(section: TextSection) -> str:
    if section.preformatted:
        return f"<pre>{escape(section.text)}</pre>"
    paragraphs = (p.strip() for p in section.text.split("\n\n"))
    return "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs if p)


def _image(section: ImageSection) -> str:
    data = Path(section.path).read_bytes()
    if not data.startswith(PNG_MAGIC):
        raise ValueError(f"{section.path}: not a PNG file (the report embeds PNG only)")
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    alt = escape(section.caption or section.heading)
    caption = f"<figcaption>{escape(section.caption)}</figcaption>" if section.caption else ""
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
    return (
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>"
    )


def _cell(value: object) -> str:
    # Numbers align right so columns of byte counts compare at a glance.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<td class="num">{escape(str(value))}</td>'
    return f"<td>{escape(str(value))}</td>"

"""The report's HTML read back as a student's browser lays it out: sections with
their heading, prose, captions, connection headings and tables (html.parser)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Table:
    conn: str | None  # data-conn of a frames table
    head: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Section:
    id: str
    heading: str = ""
    prose: dict[str, str] = field(default_factory=dict)  # what, notice, question
    captions: list[str] = field(default_factory=list)
    conns: list[str] = field(default_factory=list)  # the h3 headings, in order
    tables: list[Table] = field(default_factory=list)
    terms: dict[str, str] = field(default_factory=dict)
    images: int = 0
    text: str = ""  # all the section's text


# Elements whose text is collected on their own (nested ones inside cells join the cell).
_CAPTURED = {"h1", "h2", "h3", "p", "figcaption", "th", "td", "dt", "dd"}


class Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.title = ""
        self.intro: list[str] = []
        self.sections: list[Section] = []
        self._open: list[tuple[str, dict[str, str | None], list[str]]] = []
        self._section: Section | None = None
        self._table: Table | None = None
        self._row: list[str] | None = None
        self._term = ""
        self.feed(html)
        self.close()

    def section(self, heading: str) -> Section:
        (found,) = [s for s in self.sections if s.heading == heading]
        return found

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self._section = Section(a.get("id") or "")
            self.sections.append(self._section)
        elif tag == "table" and self._section is not None:
            self._table = Table(a.get("data-conn"))
            self._section.tables.append(self._table)
        elif tag == "tr":
            self._row = []
        elif tag == "img" and self._section is not None:
            self._section.images += 1
        elif tag == "br":
            self.handle_data("\n")
        if tag in _CAPTURED and not any(t in ("td", "th", "dd") for t, _, _ in self._open):
            self._open.append((tag, a, []))

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            _, attrs, parts = self._open.pop()
            self._done(tag, attrs, " ".join("".join(parts).split()))
        if tag == "section":
            self._section = None
        elif tag == "table":
            self._table = None
        elif tag == "tr":
            self._row = None

    def _done(self, tag: str, attrs: dict[str, str | None], text: str) -> None:
        s = self._section
        if tag == "h1":
            self.title = text
        elif s is None:
            if tag == "p":
                self.intro.append(text)
        elif tag == "h2":
            s.heading = text
        elif tag == "p" and attrs.get("class") in ("what", "notice", "question"):
            s.prose[str(attrs["class"])] = text
        elif tag == "figcaption":
            s.captions.append(text)
        elif tag == "h3":
            s.conns.append(text)
        elif tag == "th" and self._table is not None:
            self._table.head.append(text)
        elif tag == "td" and self._table is not None:
            if self._row is not None and not self._row:
                self._table.rows.append(self._row)
            if self._row is not None:
                self._row.append(text)
        elif tag == "dt":
            self._term = text
        elif tag == "dd":
            s.terms[self._term] = text

    def handle_data(self, data: str) -> None:
        if self._section is not None:
            self._section.text += data
        if self._open:
            self._open[-1][2].append(data)

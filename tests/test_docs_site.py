"""The documentation site builds with --strict, as a student's path: Home, Start here,
every lab's own README, the notebooks with what each cell printed and drew, the guides;
and none of the labs' code. In two languages: English at /, Korean at /ko/, with a
switch between a page's two editions, and English (said so) where a page has no
Korean translation yet.

The build runs the notebooks whose executed copy in build/notebooks/ is missing or
stale (docs/_hooks/socketlab_site.py). In the whole suite tests/notebooks/ has just
made them, so they run once per run; this file alone runs them itself (about a minute).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

from notebooks import execute
from tools import translations

pytestmark = pytest.mark.timeout(600)  # the first build may run every notebook

ROOT = Path(__file__).resolve().parents[1]
GUIDES = ("chat", "inspector", "wireshark", "protocol", "instructor", "performance",
          "architecture", "glossary")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=540, check=False)
    assert done.returncode == 0, done.stderr
    return out


def test_docs_build_strict_with_every_page(site: Path) -> None:
    for page in ("index", "start/index", "labs/index", "notebooks/index",
                 *(f"{guide}/index" for guide in GUIDES)):
        assert (site / f"{page}.html").exists(), page
    assert (site / "images" / "chat.png").exists()
    assert (site / "images" / "demo-report.png").exists()


def test_every_lab_readme_is_a_page_in_the_nav(site: Path) -> None:
    labs = sorted(p.parent.name for p in ROOT.glob("labs/[0-9][0-9]-*/README.md"))
    assert labs, "no lab README found"
    home = (site / "index.html").read_text(encoding="utf-8")
    for lab in labs:
        page = site / "labs" / lab / "index.html"
        assert page.exists(), lab
        assert f'labs/{lab}/' in home, f"{lab} is not in the navigation"
    # The lab's own words, not a copy: its first heading is the page's title.
    first = (ROOT / "labs" / labs[0] / "README.md").read_text(encoding="utf-8").splitlines()[0]
    assert first.lstrip("# ").split(" ")[0] in (site / "labs" / labs[0] / "index.html").read_text(
        encoding="utf-8")


def test_the_site_holds_no_lab_code_or_solutions(site: Path) -> None:
    for labs in (site / "labs", site / "ko" / "labs"):
        shipped = [p.relative_to(labs).as_posix() for p in labs.rglob("*") if p.is_file()]
        assert shipped, labs
        assert not [p for p in shipped if not re.fullmatch(r"(index\.html|[0-9]{2}-[^/]+/"
                                                           r"(index\.html|images/[^/]+))", p)], \
            shipped


def test_every_notebook_is_a_page_with_what_its_cells_did(site: Path) -> None:
    for source in execute.sources():
        page = (site / "notebooks" / source.stem / "index.html").read_text(encoding="utf-8")
        code_cells = sum(c.cell_type == "code" for c in jupytext.read(source).cells)
        # "In [ ]:" is a cell that never ran; each ran cell shows its number.
        assert not re.search(r"In(\s|&nbsp;)*\[(\s|&nbsp;)*\]:", page), source.name
        assert len(re.findall(r"In(\s|&nbsp;)*\[\d+\]:", page)) == code_cells, source.name
        assert 'class="jp-RenderedText jp-OutputArea-output"' in page, source.name
        if "display(" in source.read_text(encoding="utf-8"):
            assert re.search(r'<img [^>]*src="data:image/png;base64,', page), (
                f"{source.name}: its charts are not on its page")
    first = (site / "notebooks" / execute.sources()[0].stem / "index.html").read_text(
        encoding="utf-8")
    assert "<pre>[b'helloworld']" in first  # what the cell printed when it ran


def test_the_path_starts_at_home(site: Path) -> None:
    home = (site / "index.html").read_text(encoding="utf-8")
    for step in ("start/", "labs/", "notebooks/", "instructor/"):
        assert f'href="{step}"' in home, step
    start = re.sub(r"<[^>]+>", "", (site / "start" / "index.html").read_text(encoding="utf-8"))
    for command in ("socketlab demo", "socketlab lab start 01", "socketlab lab check 01",
                    "--capture proxy"):
        assert command in start, command


def _text(page: Path) -> str:
    """What a reader sees of a page's article (no navigation, no markup)."""
    html = page.read_text(encoding="utf-8")
    article = html.split('<article class="md-content__inner', 1)[1].split("</article>", 1)[0]
    return re.sub(r"<[^>]+>", "", article)


def _squeezed(page: Path) -> str:
    """The page's HTML without the white space around its tags."""
    return re.sub(r">\s+", ">", re.sub(r"\s+<", "<", page.read_text(encoding="utf-8")))


def _switch(page: Path) -> dict[str, str]:
    """The language switch's links on a page: language -> href."""
    html = page.read_text(encoding="utf-8")
    return {lang: href for href, lang in re.findall(
        r'<a href="([^"]*)" hreflang="([a-z]+)"', html)}


def test_every_korean_page_is_korean_and_switches_to_its_english_page(site: Path) -> None:
    pages = translations.translations()
    assert len(pages) >= 6 + 10, pages  # the site's pages and the ten labs
    for source in pages:
        name = source.name.removesuffix(".ko.md")
        if source.is_relative_to(ROOT / "labs"):  # labs/NN-name/README.ko.md
            english = site / "labs" / source.parent.name / "index.html"
        else:
            english = site / ("index.html" if name == "index" else f"{name}/index.html")
        korean = site / "ko" / english.relative_to(site)
        assert korean.exists(), korean
        assert '<html lang="ko"' in korean.read_text(encoding="utf-8"), korean
        text = _text(korean)
        # Mostly Hangul: a translation, not the English page shown again.
        assert len(HANGUL.findall(text)) > len(re.findall(r"[A-Za-z]", text)) / 3, korean
        assert "translated_from" not in text, korean  # the front matter stays out of sight
        # The switch: each edition links to the other's same page.
        there = (english.parent / _switch(english)["ko"]).resolve()
        back = (korean.parent / _switch(korean)["en"]).resolve()
        assert there == korean.parent.resolve(), (english, _switch(english))
        assert back == english.parent.resolve(), (korean, _switch(korean))
        # A Korean heading keeps its English anchor, so links into the page work in both.
        for _, anchor in translations.structure(source.read_text(encoding="utf-8")).headings:
            for page in (english, korean):
                assert f'id="{anchor}"' in page.read_text(encoding="utf-8"), (page, anchor)


def test_korean_navigation_and_the_pages_not_translated_yet(site: Path) -> None:
    home = _squeezed(site / "ko" / "index.html")
    for title in ("시작하기", "실습 소개", "노트북 소개", "채팅", "용어집",
                  "와이어 프로토콜 (영문)"):
        assert f">{title}<" in home, title
    # Every lab has its Korean page: none shows the note of a page not translated yet.
    for readme in ROOT.glob("labs/[0-9][0-9]-*/README.md"):
        page = site / "ko" / "labs" / readme.parent.name / "index.html"
        assert "아직 한국어판이 없어" not in _text(page), page
        assert ">실습 소개<" in _squeezed(page), page
    for guide in ("performance", "protocol"):
        assert "영어 원문" in _text(site / "ko" / guide / "index.html"), guide
    instructor = _text(site / "ko" / "instructor" / "index.html")
    assert "영어 원문" not in instructor and "한국어로 수업하기" in instructor
    # The notebooks, in the Korean edition too, with what their cells printed.
    for source in execute.sources():
        page = site / "ko" / "notebooks" / source.stem / "index.html"
        assert 'class="jp-RenderedText jp-OutputArea-output"' in page.read_text(
            encoding="utf-8"), page
        assert (page.parent / _switch(page)["en"]).resolve() == (
            site / "notebooks" / source.stem).resolve()

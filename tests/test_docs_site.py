"""The documentation site builds with --strict, as a student's path: Home, Start here,
every lab's own README, the notebooks with what each cell printed and drew, the guides;
and none of the labs' code.

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

pytestmark = pytest.mark.timeout(600)  # the first build may run every notebook

ROOT = Path(__file__).resolve().parents[1]
GUIDES = ("chat", "inspector", "wireshark", "protocol", "instructor", "performance",
          "architecture")


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
    labs = site / "labs"
    shipped = [p.relative_to(labs).as_posix() for p in labs.rglob("*") if p.is_file()]
    assert not [p for p in shipped if not re.fullmatch(r"(index\.html|[0-9]{2}-[^/]+/"
                                                       r"(index\.html|images/[^/]+))", p)], shipped


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

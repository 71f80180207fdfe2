"""Every Korean page (*.ko.md in docs/ and labs/) translates its English page as it is now.

tools/translations.py holds the rules; these tests hold the checkout to them, and show
on temporary copies that each rule fails when it should: an English page edited after
its translation, a code block, heading, link or image that is not the English one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import translations

ROOT = Path(__file__).resolve().parents[1]
# The pages the Korean edition has now (the lab READMEs and For instructors follow).
KOREAN = ("index", "start", "labs", "notebooks", "chat", "glossary")


def test_every_korean_page_is_in_step_with_its_english_page() -> None:
    pages = translations.translations()
    names = {p.relative_to(ROOT).as_posix() for p in pages}
    assert {f"docs/{name}.ko.md" for name in KOREAN} <= names, names
    found = [problem for page in pages for problem in translations.problems(page)]
    assert not found, "\n".join(found)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the Korean Start here and its English page, and a lab with a Korean README."""
    (tmp_path / "docs").mkdir()
    for name in ("start.md", "start.ko.md"):
        shutil.copy2(ROOT / "docs" / name, tmp_path / "docs" / name)
    lab = tmp_path / "labs" / "01-echo"
    lab.mkdir(parents=True)
    (lab / "README.md").write_text("# Lab 01\n\n## Run it\n\n```bash\nsocketlab lab check 01\n"
                                   "```\n\nSee [the protocol](../../docs/protocol.md).\n",
                                   encoding="utf-8")
    (lab / "README.ko.md").write_text("# 실습 01 {#lab-01}\n\n## 실행하기 {#run-it}\n\n```bash\n"
                                      "socketlab lab check 01\n```\n\n"
                                      "[프로토콜](../../docs/protocol.md)을 보세요.\n",
                                      encoding="utf-8")
    translations.stamp(lab / "README.ko.md")
    return tmp_path


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.translations", "--root", str(root), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def test_editing_an_english_page_makes_its_translation_stale_until_stamped(
        checkout: Path) -> None:
    assert [p.relative_to(checkout).as_posix() for p in translations.translations(checkout)] == [
        "docs/start.ko.md", "labs/01-echo/README.ko.md"]
    assert run_cli(checkout).returncode == 0

    english = checkout / "docs" / "start.md"
    english.write_text(english.read_text(encoding="utf-8").replace(
        "in about half an\nhour", "in about twenty\nminutes"), encoding="utf-8")
    done = run_cli(checkout)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "docs/start.ko.md: docs/start.md changed since it was translated (`python -m "
        "tools.translations --diff docs/start.ko.md` shows how): update the Korean text to the "
        "English, then run `python -m tools.translations --stamp docs/start.ko.md`"]

    stamped = run_cli(checkout, "--stamp", "docs/start.ko.md")
    assert stamped.returncode == 0, stamped.stdout
    assert run_cli(checkout).returncode == 0
    # The hash sits in front matter, and the page's text is what it was.
    korean = (checkout / "docs" / "start.ko.md").read_text(encoding="utf-8")
    assert korean.startswith(f"---\ntranslated_from: {translations.digest(english)}\n---\n")
    assert korean.split("---\n", 2)[2] == (ROOT / "docs" / "start.ko.md").read_text(
        encoding="utf-8").split("---\n", 2)[2]


def test_diff_shows_what_changed_in_english_since_the_translation(checkout: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=checkout,
                       capture_output=True, timeout=30, check=True)

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "translated")
    english = checkout / "docs" / "start.md"
    _edit(english, "in about half an\nhour", "in about twenty\nminutes")
    git("commit", "-qam", "English changed")
    done = run_cli(checkout, "--diff", "docs/start.ko.md")
    assert done.returncode == 0, done.stderr
    assert "-This page takes you from nothing to your first passing lab, in about half an" \
        in done.stdout.splitlines()
    assert "+This page takes you from nothing to your first passing lab, in about twenty" \
        in done.stdout.splitlines()
    # Stamped, there is nothing to show; with no history, it says so in one line.
    translations.stamp(checkout / "docs" / "start.ko.md")
    git("commit", "-qam", "Korean updated")
    assert run_cli(checkout, "--diff", "docs/start.ko.md").stdout == ""
    shutil.rmtree(checkout / ".git")
    lost = run_cli(checkout, "--diff", "docs/start.ko.md")
    assert lost.returncode == 2 and lost.stderr.count("\n") == 1, lost.stderr


def test_a_lab_readme_changed_in_english_names_its_korean_page(checkout: Path) -> None:
    readme = checkout / "labs" / "01-echo" / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nOne more sentence.\n",
                      encoding="utf-8")
    done = run_cli(checkout)
    assert done.returncode == 1
    assert "labs/01-echo/README.ko.md: labs/01-echo/README.md changed since it was translated" \
           in done.stdout
    assert "--stamp labs/01-echo/README.ko.md" in done.stdout


def test_a_page_never_stamped_says_how_to_stamp_it(checkout: Path) -> None:
    korean = checkout / "docs" / "start.ko.md"
    korean.write_text(korean.read_text(encoding="utf-8").split("---\n", 2)[2], encoding="utf-8")
    assert translations.problems(korean, checkout) == [
        "docs/start.ko.md: no `translated_from:` in its front matter: when it matches "
        "docs/start.md, run `python -m tools.translations --stamp docs/start.ko.md`"]


def _edit(page: Path, old: str, new: str) -> None:
    text = page.read_text(encoding="utf-8")
    assert old in text, old
    page.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(("old", "new", "said"), [
    # A command translated, or even a space changed, inside a code block.
    ("socketlab lab start 01      #", "socketlab lab start 1       #",
     "docs/start.ko.md: code block 6 differs from the English one"),
    ("\n```bash\nsocketlab lab sniff 01", "\n```\nsocketlab lab sniff 01",
     "docs/start.ko.md: code block 8 differs from the English one"),
    # A heading left out, or one that lost its English anchor.
    ("## 5. 다음 단계 {#5-then}\n", "", "docs/start.ko.md: its headings differ"),
    ("## 5. 다음 단계 {#5-then}", "## 5. 다음 단계", "docs/start.ko.md: its headings differ"),
    ("## 5. 다음 단계 {#5-then}", "### 5. 다음 단계 {#5-then}",
     "docs/start.ko.md: its headings differ"),
    # A link to another page, or a picture, not the English one.
    ("](chat.md)", "](inspector.md)", "docs/start.ko.md: its links differ from the English ones: "
                                      "missing ['chat.md'], not in the English ['inspector.md']"),
    ("](images/demo-report.png)", "](images/demo-report-ko.png)",
     "docs/start.ko.md: its images differ from the English ones: missing "
     "['images/demo-report.png'], not in the English ['images/demo-report-ko.png']"),
])
def test_a_korean_page_that_differs_in_structure_is_named(checkout: Path, old: str, new: str,
                                                          said: str) -> None:
    page = checkout / "docs" / "start.ko.md"
    _edit(page, old, new)
    found = translations.problems(page, checkout)
    assert len(found) == 1 and found[0].startswith(said), found
    assert run_cli(checkout).returncode == 1


def test_a_code_block_changed_in_english_is_shown_to_copy(checkout: Path) -> None:
    english = checkout / "docs" / "start.md"
    _edit(english, "socketlab lab list          #", "socketlab lab list --all    #")
    translations.stamp(checkout / "docs" / "start.ko.md")
    found = translations.problems(checkout / "docs" / "start.ko.md", checkout)
    assert len(found) == 1 and "code block 6 differs" in found[0], found
    assert "socketlab lab list --all    # the labs" in found[0]  # the block to copy


def test_windows_line_endings_change_nothing(checkout: Path) -> None:
    for page in (checkout / "docs").iterdir():
        page.write_bytes(page.read_bytes().replace(b"\n", b"\r\n"))
    assert translations.problems(checkout / "docs" / "start.ko.md", checkout) == []


def test_stamp_refuses_a_page_that_is_not_a_translation(checkout: Path) -> None:
    done = run_cli(checkout, "--stamp", "docs/start.md")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "not a .ko.md page" in done.stderr
    assert "Traceback" not in done.stderr

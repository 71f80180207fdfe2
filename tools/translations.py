"""Korean pages that cannot fall behind their English ones.

A translation is ``NAME.ko.md`` next to ``NAME.md``: the site's pages in docs/
and the labs' READMEs (``labs/NN-name/README.ko.md``). Its front matter records
the English text it translates, as the SHA-256 of the English file::

    ---
    translated_from: 3f5a…
    ---

A translation is out of step when the English file changed since (its hash is
another now), or when its structure differs from the English: the headings
(how many, their levels, their anchors: a Korean heading keeps the English one
with ``{#anchor}``), the fenced code blocks (byte for byte: commands, their
comments and their output are never translated), and the targets of its links
and images.

    python -m tools.translations                          # which pages are out of step
    python -m tools.translations --diff docs/start.ko.md  # what changed in the English since
    python -m tools.translations --stamp docs/start.ko.md # after updating it to the English
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANG = "ko"
SUFFIX = f".{LANG}.md"
FIELD = "translated_from"

_FRONT = re.compile(r"\A---\n(.*?\n)?---\n", re.S)
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)(?:\s+\{#([\w-]+)\})?\s*#*\s*$")
_LINK = re.compile(r"(!?)\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


@dataclass(frozen=True)
class Structure:
    """What a translation must keep from its English page."""

    headings: list[tuple[int, str]]  # (level, anchor), in order
    code_blocks: list[str]  # each fenced block, fences included, byte for byte
    links: Counter[str]  # link targets, how often each
    images: Counter[str]


def translations(root: Path = ROOT) -> list[Path]:
    """Every Korean page under docs/ and labs/ (docs/labs, a link to labs/, only once)."""
    docs, labs = root / "docs", root / "labs"
    found = {p for p in docs.rglob(f"*{SUFFIX}") if not p.is_relative_to(docs / "labs")}
    found.update(labs.rglob(f"*{SUFFIX}"))
    return sorted(found)


def english_of(page: Path) -> Path:
    return page.with_name(page.name[: -len(SUFFIX)] + ".md")


def digest(english: Path) -> str:
    """SHA-256 of the English text (line endings as \\n, so a Windows checkout agrees)."""
    text = english.read_bytes().replace(b"\r\n", b"\n")
    return hashlib.sha256(text).hexdigest()


def recorded(page_text: str) -> str | None:
    """The hash the page's front matter records, if any."""
    front = _FRONT.match(page_text.replace("\r\n", "\n"))
    if front is None:
        return None
    found = re.search(rf"^{FIELD}:\s*([0-9a-f]{{64}})\s*$", front.group(1) or "", re.M)
    return found.group(1) if found else None


def slug(title: str) -> str:
    """The anchor mkdocs gives a heading (Python-Markdown's toc slugify, on its plain text)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # a link: its words
    text = re.sub(r"[`*]", "", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def structure(text: str) -> Structure:
    """Headings, code blocks, links and images of one page (front matter left out)."""
    text = _FRONT.sub("", text.replace("\r\n", "\n"), count=1)
    headings: list[tuple[int, str]] = []
    blocks: list[str] = []
    prose: list[str] = []
    seen: Counter[str] = Counter()
    fence: tuple[str, str] | None = None  # (indent, marker) of the open block
    for line in text.split("\n"):
        opening = _FENCE.match(line)
        if fence is not None:
            blocks[-1] += line + "\n"
            if opening and opening.group(1) == fence[0] and opening.group(2).startswith(fence[1]) \
                    and line.strip() == opening.group(2):
                fence = None
            continue
        if opening:
            fence = (opening.group(1), opening.group(2))
            blocks.append(line + "\n")
            continue
        prose.append(line)
        heading = _HEADING.match(line)
        if heading:
            anchor = heading.group(3) or slug(heading.group(2))
            seen[anchor] += 1
            if seen[anchor] > 1:  # the toc extension numbers a repeated anchor
                anchor = f"{anchor}_{seen[anchor] - 1}"
            headings.append((len(heading.group(1)), anchor))
    found = _LINK.findall("\n".join(prose))
    return Structure(headings, blocks,
                     Counter(target for bang, target in found if not bang),
                     Counter(target for bang, target in found if bang))


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def structure_problems(page: Path, root: Path = ROOT) -> list[str]:
    """How the page's structure differs from its English page's."""
    name = _shown(page, root)
    english = structure(english_of(page).read_text(encoding="utf-8"))
    korean = structure(page.read_text(encoding="utf-8"))
    problems: list[str] = []
    if english.headings != korean.headings:
        def shown(heading: tuple[int, str] | None) -> str:
            return "nothing" if heading is None else f"`{'#' * heading[0]} … {{#{heading[1]}}}`"
        number, want, have = next(
            (n, w, h) for n, (w, h) in enumerate(zip_longest(english.headings, korean.headings),
                                                 start=1) if w != h)
        problems.append(f"{name}: its headings differ from the English ones "
                        f"({len(korean.headings)} headings, the English has "
                        f"{len(english.headings)}): heading {number} should be {shown(want)}, "
                        f"it is {shown(have)} (a Korean heading keeps the English anchor: "
                        "`## 설치 {#1-install}`)")
    if len(english.code_blocks) != len(korean.code_blocks):
        problems.append(f"{name}: {len(korean.code_blocks)} code blocks, the English has "
                        f"{len(english.code_blocks)}")
    for number, (want_block, have_block) in enumerate(
            zip(english.code_blocks, korean.code_blocks, strict=False), start=1):
        if want_block != have_block:
            problems.append(f"{name}: code block {number} differs from the English one: copy it "
                            f"byte for byte (commands are never translated):\n{want_block}")
    kinds: list[tuple[str, Counter[str], Counter[str]]] = [
        ("links", english.links, korean.links), ("images", english.images, korean.images)]
    for kind, want, have in kinds:
        if want != have:
            missing = sorted((want - have).elements())
            extra = sorted((have - want).elements())
            problems.append(f"{name}: its {kind} differ from the English ones: "
                            f"missing {missing or 'none'}, not in the English {extra or 'none'}")
    return problems


def problems(page: Path, root: Path = ROOT) -> list[str]:
    """Everything that keeps ``page`` from being the translation of the current English."""
    name, english = _shown(page, root), english_of(page)
    if not english.is_file():
        return [f"{name}: no English page {_shown(english, root)} next to it"]
    stamp = f"python -m tools.translations --stamp {name}"
    have = recorded(page.read_text(encoding="utf-8"))
    found: list[str] = []
    if have is None:
        found.append(f"{name}: no `{FIELD}:` in its front matter: when it matches "
                     f"{_shown(english, root)}, run `{stamp}`")
    elif have != digest(english):
        found.append(f"{name}: {_shown(english, root)} changed since it was translated "
                     f"(`python -m tools.translations --diff {name}` shows how): update the "
                     f"Korean text to the English, then run `{stamp}`")
    return found + structure_problems(page, root)


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=folder, capture_output=True, timeout=30,
                          check=False)


def translated_commit(page: Path, history: int = 300) -> str | None:
    """The newest commit (of the last ``history`` that changed the English page) whose
    English text is the one ``page`` records; None without git or when none is."""
    want = recorded(page.read_text(encoding="utf-8"))
    english = english_of(page)
    if want is None:
        return None
    try:
        log = _git(english.parent, "log", "--format=%H", "-n", str(history), "--", english.name)
        for commit in log.stdout.decode().split():
            shown = _git(english.parent, "show", f"{commit}:./{english.name}")
            text = shown.stdout.replace(b"\r\n", b"\n")
            if shown.returncode == 0 and hashlib.sha256(text).hexdigest() == want:
                return commit
    except (OSError, subprocess.SubprocessError):
        return None
    return None


def stamp(page: Path) -> None:
    """Record the current English text's hash in the page's front matter."""
    text = page.read_text(encoding="utf-8").replace("\r\n", "\n")
    line = f"{FIELD}: {digest(english_of(page))}\n"
    front = _FRONT.match(text)
    if front is None:
        text = f"---\n{line}---\n\n{text}"
    else:
        body = re.sub(rf"^{FIELD}:.*\n", "", front.group(1) or "", flags=re.M)
        text = f"---\n{body}{line}---\n{text[front.end():]}"
    page.write_text(text, encoding="utf-8", newline="\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.translations",
        description="Say which Korean pages (*.ko.md in docs/ and labs/) are out of step with "
                    "their English page.")
    parser.add_argument("--stamp", nargs="+", metavar="PAGE", type=Path,
                        help="record that PAGE now translates its English page as it is")
    parser.add_argument("--diff", metavar="PAGE", type=Path,
                        help="show how PAGE's English page changed since PAGE was translated")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout (default: this one)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.diff:
        page = args.diff if args.diff.is_absolute() else root / args.diff
        commit = translated_commit(page) if page.is_file() else None
        if commit is None:
            print(f"error: {args.diff}: git's history has no English text with the hash it "
                  "records", file=sys.stderr)
            return 2
        english = english_of(page)
        sys.stdout.write(_git(english.parent, "diff", commit, "--", english.name)
                         .stdout.decode("utf-8", "replace"))
        return 0
    if args.stamp:
        pages = [(p if p.is_absolute() else root / p) for p in args.stamp]
        for page in pages:
            if not page.name.endswith(SUFFIX) or not english_of(page).is_file():
                print(f"error: {page}: not a {SUFFIX} page next to its English .md",
                      file=sys.stderr)
                return 2
        for page in pages:
            stamp(page)
            print(f"stamped {_shown(page, root)}")
    else:
        pages = translations(root)
    found = [problem for page in pages for problem in problems(page, root)]
    for problem in found:
        print(problem)
    if not found:
        print(f"{len(pages)} Korean pages in step with their English pages")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

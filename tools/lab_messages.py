"""The texts the lab runner and each lab's checks show, and which still lack Korean.

The runner's words are the texts ``labs/*.py`` marks with ``_``, ``N_`` or
``ngettext``; their Korean is in ``labs/locale/ko.po``. A lab's words are
what its checks mark, plus each check's sentence (the first line of a
``test_`` function's docstring, shown beside ✓ or ✗); their Korean is in
``labs/NN-name/locale/ko.po``, or in the runner's table when the runner has
the same text. A suite of checks a lab pulls in whole (lab 09's
``from socketlab.labs.conformance import *``) speaks in that lab's words, so
its texts and sentences are the lab's, not the runner's.

    python -m tools.lab_messages                # what lacks Korean, everywhere
    python -m tools.lab_messages labs/01-echo   # one lab, as .po entries to fill in
    python -m tools.lab_messages runner         # the runner's
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

from socketlab.i18n import KOREAN, Catalog, marked_messages
from socketlab.labs.language import RUNNER, lab_catalog

ROOT = Path(__file__).resolve().parent.parent
LABS = ROOT / "labs"


def check_sentences(source: str, filename: str = "<source>") -> list[str]:
    """The first line of each ``test_`` function's docstring in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            doc = ast.get_docstring(node)
            if doc and doc.strip():
                found.append(doc.strip().splitlines()[0])
    return found


def messages(files: Iterable[Path], sentences: bool) -> dict[str, str]:
    """Every text ``files`` show: text -> the first file showing it."""
    found: dict[str, str] = {}
    for path in sorted(files):
        source = path.read_text(encoding="utf-8")
        texts = list(marked_messages(source, str(path)))
        if sentences:
            texts += check_sentences(source, str(path))
        for text in texts:
            found.setdefault(text, str(path.relative_to(ROOT)))
    return found


def suites(lab: Path) -> set[Path]:
    """The runner's modules whose checks ``lab``'s check files import whole (``*``)."""
    found = set()
    for path in (lab / "checks").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if (isinstance(node, ast.ImportFrom) and node.module
                    and node.module.startswith("socketlab.labs.")
                    and any(alias.name == "*" for alias in node.names)):
                found.add(LABS / f"{node.module.rpartition('.')[2]}.py")
    return found


def runner_messages() -> dict[str, str]:
    shared = set().union(*(suites(lab) for lab in LABS.glob("[0-9][0-9]-*")))
    return messages(set(LABS.glob("*.py")) - shared, sentences=False)


def lab_messages(lab: Path) -> dict[str, str]:
    """The lab's title (lab.toml: the runner's header shows it), then its checks' texts."""
    toml = lab / "lab.toml"
    title = tomllib.loads(toml.read_text(encoding="utf-8"))["title"]
    return {title: str(toml.relative_to(ROOT)), **messages(check_files(lab), sentences=True)}


def check_files(lab: Path) -> set[Path]:
    """The files whose checks ``lab`` runs: its own, and the suites it imports whole."""
    return {*(lab / "checks").glob("*.py"), *suites(lab)}


def missing(texts: dict[str, str], catalog: Catalog) -> dict[str, str]:
    """The texts neither ``catalog`` nor its fallbacks have in Korean."""
    known: set[str] = set()
    table: Catalog | None = catalog
    while table is not None:
        known |= set(table.entries(KOREAN)) if (table.folder / "ko.po").is_file() else set()
        table = table.fallback
    return {text: where for text, where in texts.items() if text not in known}


def po_entries(texts: dict[str, str]) -> str:
    """``texts`` as untranslated .po entries, each with the file that shows it."""
    out = []
    for text, where in texts.items():
        lines = text.split("\n")
        quoted = [_quote(line + "\n") for line in lines[:-1]] + [_quote(lines[-1])]
        msgid = f"msgid {quoted[0]}" if len(quoted) == 1 else 'msgid ""\n' + "\n".join(quoted)
        out.append(f"#: {where}\n{msgid}\nmsgstr \"\"\n")
    return "\n".join(out)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        which = args[0]
        if which == "runner":
            print(po_entries(missing(runner_messages(), RUNNER)))
        else:
            lab = Path(which).resolve()
            print(po_entries(missing(lab_messages(lab), lab_catalog(lab))))
        return 0
    count = len(missing(runner_messages(), RUNNER))
    print(f"runner: {count} without Korean")
    for lab in sorted(LABS.glob("[0-9][0-9]-*")):
        count += (lab_count := len(missing(lab_messages(lab), lab_catalog(lab))))
        print(f"{lab.name}: {lab_count} without Korean")
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main())

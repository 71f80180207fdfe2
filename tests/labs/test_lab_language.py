"""The runner's and every lab's Korean tables (labs/locale, labs/NN-name/locale) are
complete, current and safe: every text a student can see has Korean, no entry
outlives its English, and an entry keeps the English's placeholders and code.

What a student sees with ``SOCKETLAB_LANG=ko`` is asserted where the checks run:
test_labs_meta.py (every starter's ✗ in Korean) and test_runner.py (the report).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from socketlab.i18n import KOREAN, Catalog, parse_po
from socketlab.labs.catalog import Lab, all_labs
from socketlab.labs.language import RUNNER, lab_catalog
from tools.lab_messages import (
    check_files,
    check_sentences,
    lab_messages,
    missing,
    runner_messages,
)

LABS = all_labs()
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# What a student types or looks up, kept as it is: calls, options, bytes, constants. The
# edges are ASCII: Hangul glued on ("PORT에") does not hide the word.
CODE = re.compile(r"(?<![A-Za-z0-9_])(?:\w+\(\)|--[a-z][a-z-]*|b'[^']*'|[A-Z][A-Z_]{3,})"
                  r"(?![A-Za-z0-9_])")
EMPHASIS = {"FIRST", "BEFORE", "BOTH", "ABOVE", "OTHER"}  # English stress, not code
# 합니다체 is 니다/니까 after a syllable closed by ㅂ (습니다, 합니다, 됩니까).
FORMAL = re.compile(r"[가-힣]니(?:다|까)")
# A check's sentence ends where a clause does: at . : ; ( ) or the end of the text.
CLAUSE_END = re.compile(r"[.:;()]|$")


def _tables() -> list[tuple[str, Catalog, dict[str, str]]]:
    return [("labs/locale", RUNNER, runner_messages())] + [
        (f"labs/{lab.name}/locale", lab_catalog(lab.path), lab_messages(lab.path))
        for lab in LABS
    ]


TABLES = _tables()


@pytest.mark.parametrize(("name", "catalog", "texts"), TABLES, ids=[t[0] for t in TABLES])
def test_every_text_has_korean(name: str, catalog: Catalog, texts: dict[str, str]) -> None:
    lacking = missing(texts, catalog)
    assert not lacking, (
        f"no Korean in {name}/ko.po (python -m tools.lab_messages gives the entries) for:\n"
        + "\n".join(f"{where}: {text!r}" for text, where in lacking.items()))


@pytest.mark.parametrize(("name", "catalog", "texts"), TABLES, ids=[t[0] for t in TABLES])
def test_no_entry_outlives_its_english(name: str, catalog: Catalog,
                                       texts: dict[str, str]) -> None:
    if not (catalog.folder / "ko.po").is_file():
        pytest.fail(f"{name}/ko.po is missing")
    stale = sorted(set(catalog.entries(KOREAN)) - set(texts))
    assert stale == [], f"{name}/ko.po translates text nothing shows any more: {stale}"


@pytest.mark.parametrize(("name", "catalog", "texts"), TABLES, ids=[t[0] for t in TABLES])
def test_korean_keeps_placeholders_and_code(name: str, catalog: Catalog,
                                            texts: dict[str, str]) -> None:
    text = (catalog.folder / "ko.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in text, f"{name}/ko.po has fuzzy entries"
    assert [k for k, forms in parse_po(text).items() if k and not all(forms)] == [], (
        f"{name}/ko.po has empty entries")
    wrong = []
    for english, forms in catalog.entries(KOREAN).items():
        for korean in forms:
            if sorted(PLACEHOLDER.findall(english)) != sorted(PLACEHOLDER.findall(korean)):
                wrong.append(f"placeholders: {english!r} -> {korean!r}")
            lost = set(CODE.findall(english)) - set(CODE.findall(korean)) - EMPHASIS
            if lost:
                wrong.append(f"code {lost}: {english!r} -> {korean!r}")
    assert wrong == [], "\n".join(wrong)


def _formal_endings(korean: str) -> list[str]:
    return [m.group() for m in FORMAL.finditer(korean)
            if (ord(m.group()[0]) - ord("가")) % 28 == 17]  # 17: the final consonant ㅂ


@pytest.mark.parametrize(("name", "catalog", "texts"), TABLES, ids=[t[0] for t in TABLES])
def test_one_register(name: str, catalog: Catalog, texts: dict[str, str]) -> None:
    """One screen mixes the runner's lines and a lab's hints: both speak 해요체 ("멈췄어요"),
    never 합니다체 ("멈췄습니다"). A missing table is reported by the tests above."""
    po = catalog.folder / "ko.po"
    entries = catalog.entries(KOREAN) if po.is_file() else {}
    formal = [f"{english!r} -> {korean!r}" for english, forms in entries.items()
              for korean in forms if _formal_endings(korean)]
    assert formal == [], f"{name}/ko.po speaks 합니다체, not 해요체:\n" + "\n".join(formal)


def _polite_clauses(korean: str) -> list[str]:
    """The clauses of ``korean`` that end in 해요체 (…요) or 합니다체 (…습니다, …됩니까);
    "…있으니까" (because) is plain."""
    clauses = (c.strip(" \t,'\"`…") for c in CLAUSE_END.split(korean))
    return [c for c in clauses if c.endswith("요") or _formal_endings(c[-3:])]


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.name)
def test_check_sentences_are_plain(lab: Lab) -> None:
    """Beside ✓ and ✗ a check's sentence states what must hold, like a spec: every lab
    says it in the plain declarative ("…돌려준다") or as a noun phrase, never "…돌려줘요"."""
    korean = lab_catalog(lab.path).translations(KOREAN)
    sentences = [sentence
                 for path in sorted(check_files(lab.path))
                 for sentence in check_sentences(path.read_text(encoding="utf-8"), str(path))]
    polite = [f"{english!r} -> {korean.gettext(english)!r}" for english in sentences
              if _polite_clauses(korean.gettext(english))]
    assert polite == [], (f"labs/{lab.name}/locale/ko.po: a check's sentence in 해요체 or "
                          "합니다체, not the plain declarative (…한다):\n" + "\n".join(polite))

def _hiding_the_translator(path: Path) -> list[str]:
    """Where ``path`` assigns ``_`` (``sock, _ = pair``): from there on its ``_("…")``
    calls a tuple's item, or fails as an unbound local. A comprehension's own ``_``
    hides nothing outside it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_comprehension = {id(node) for c in ast.walk(tree) if isinstance(c, ast.comprehension)
                        for node in ast.walk(c.target)}
    return [f"{path.name} line {node.lineno}" for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id == "_"
            and isinstance(node.ctx, ast.Store) and id(node) not in in_comprehension]


# labs/language.py is where the runner's ``_`` is made, not hidden.
SPEAKING = [path for path in sorted(RUNNER.folder.parent.glob("*.py"))
            if path.name != "language.py"] + [path for lab in LABS
                                              for path in sorted(lab.checks.glob("*.py"))]


@pytest.mark.parametrize("path", SPEAKING, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_no_module_hides_the_translator(path: Path) -> None:
    hiding = _hiding_the_translator(path)
    assert hiding == [], f"'_' is assigned (name the unused value, e.g. 'unused'): {hiding}"


def test_a_lab_text_falls_back_on_the_runner_then_english(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "locale").mkdir()
    (tmp_path / "locale" / "ko.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "the lab\'s own"\nmsgstr "실습의 것"\n', encoding="utf-8")
    monkeypatch.setenv("SOCKETLAB_LANG", "ko")
    catalog = lab_catalog(tmp_path)
    assert catalog.gettext("the lab's own") == "실습의 것"
    assert catalog.gettext("not written yet: {error}") == "아직 작성하지 않음: {error}"
    assert catalog.gettext("never marked") == "never marked"


def test_a_suite_a_lab_pulls_in_whole_speaks_in_that_labs_words() -> None:
    """Lab 09 runs the conformance suite (``import *``): its hints and sentences are in
    lab 09's table, where its students see them, and asked of no other table."""
    slow_clients = next(lab for lab in LABS if lab.name == "09-slow-clients")
    texts = lab_messages(slow_clients.path)
    assert "a plain client" in texts  # a hint of labs/conformance.py
    assert "welcome lists everyone in the order they joined; the others get joined" in texts
    assert "a plain client" not in runner_messages()

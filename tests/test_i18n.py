"""socketlab.i18n: which language the kit speaks, and its gettext catalogs."""

from __future__ import annotations

import gettext
import io
import locale
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from socketlab.i18n import ENGLISH, KOREAN, Catalog, compile_po, language, marked_messages
from tests.test_import_graph import graph

LOCALE_VARIABLES = ("SOCKETLAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG")

LAB_PO = r'''# A lab's own table, as a lab folder would carry it.
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=1; plural=0;\n"

msgid "not written yet"
msgstr "아직 작성하지 않음"

msgid "{n} check failed"
msgid_plural "{n} checks failed"
msgstr[0] "확인 {n}개 실패"

#, fuzzy
msgid "an old guess"
msgstr "예전 추측"

msgid "not translated yet"
msgstr ""

msgid ""
"two\n"
"lines with \"quotes\""
msgstr ""
"두 줄\n"
"\"따옴표\"와 함께"
'''


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in LOCALE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(locale, "getlocale", lambda *args: (None, None))
    return monkeypatch


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SOCKETLAB_LANG": "ko"}, KOREAN),
        ({"SOCKETLAB_LANG": "KO"}, KOREAN),
        ({"SOCKETLAB_LANG": "en", "LANG": "ko_KR.UTF-8"}, ENGLISH),  # the switch wins
        ({"SOCKETLAB_LANG": "fr"}, ENGLISH),  # no French: English
        ({"LANG": "ko_KR.UTF-8"}, KOREAN),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ko_KR.UTF-8"}, KOREAN),
        ({"LC_ALL": "C.UTF-8", "LC_MESSAGES": "ko_KR.UTF-8"}, ENGLISH),  # LC_ALL first
        ({"LC_ALL": "ko_KR.eucKR"}, KOREAN),
        ({"LANG": "kok_IN"}, ENGLISH),  # Konkani is not Korean
        ({}, ENGLISH),
    ],
)
def test_the_switch_then_the_locale_choose_the_language(
    bare_env: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        bare_env.setenv(name, value)
    assert language() == expected


@pytest.mark.parametrize("windows_locale", [("Korean_Korea", "949"), ("ko_KR", "cp949")])
def test_without_locale_variables_the_system_locale_decides(
    bare_env: pytest.MonkeyPatch, windows_locale: tuple[str, str]
) -> None:
    bare_env.setattr(locale, "getlocale", lambda *args: windows_locale)
    assert language() == KOREAN
    bare_env.setenv("LANG", "C")  # a locale variable, when set, is what counts
    assert language() == ENGLISH


def test_a_lab_catalog_translates_counts_and_falls_back_to_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ko.po").write_text(LAB_PO, encoding="utf-8")
    catalog = Catalog(tmp_path)
    monkeypatch.setenv("SOCKETLAB_LANG", "ko")
    assert catalog.gettext("not written yet") == "아직 작성하지 않음"
    assert catalog.ngettext("{n} check failed", "{n} checks failed", 3) == "확인 {n}개 실패"
    assert catalog.gettext("two\nlines with \"quotes\"") == "두 줄\n\"따옴표\"와 함께"
    # Untranslated, fuzzy or unknown: the English, never an empty line.
    for english in ("not translated yet", "an old guess", "never marked"):
        assert catalog.gettext(english) == english
    assert set(catalog.entries(KOREAN)) == {
        "not written yet", "{n} check failed", "two\nlines with \"quotes\""
    }
    monkeypatch.setenv("SOCKETLAB_LANG", "en")  # switched back without a restart
    assert catalog.gettext("not written yet") == "not written yet"
    assert catalog.ngettext("{n} check failed", "{n} checks failed", 1) == "{n} check failed"
    assert catalog.ngettext("{n} check failed", "{n} checks failed", 2) == "{n} checks failed"


def test_a_folder_without_a_korean_catalog_speaks_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCKETLAB_LANG", "ko")
    assert Catalog(tmp_path).gettext("Send") == "Send"


def test_the_compiled_catalog_reads_as_msgfmt_s(tmp_path: Path) -> None:
    if shutil.which("msgfmt") is None:
        pytest.skip("GNU gettext's msgfmt is not installed (apt-get install gettext)")
    po = tmp_path / "ko.po"
    po.write_text(LAB_PO, encoding="utf-8")
    theirs = tmp_path / "ko.mo"
    subprocess.run(["msgfmt", "-o", str(theirs), str(po)], check=True)
    with theirs.open("rb") as file:
        expected = gettext.GNUTranslations(file)
    ours = gettext.GNUTranslations(io.BytesIO(compile_po(LAB_PO)))
    assert ours._catalog == expected._catalog  # type: ignore[attr-defined]
    assert ours.info() == expected.info()


def test_marked_text_is_found_and_a_filled_in_string_is_refused() -> None:
    source = (
        "x = _('Send')\n"
        "y = N_('Online')\n"
        "z = ngettext('{n} user', '{n} users', n)\n"
        "w = _(CONSTANT)\n"
        "v = _(TABLE[key])\n"
    )
    assert list(marked_messages(source)) == ["Send", "Online", "{n} user"]
    for wrong in ("_(f'hi {name}')", "_('hi ' + name)", "_('hi {}'.format(name))"):
        with pytest.raises(ValueError, match="literal text"):
            list(marked_messages(wrong, "wrong.py"))


def test_the_language_module_needs_only_the_standard_library() -> None:
    targets = graph()["socketlab.i18n"]
    assert sorted(t for t in targets if t.split(".")[0] not in sys.stdlib_module_names) == []

"""The kit's language: English, or Korean with ``SOCKETLAB_LANG=ko``.

Without ``SOCKETLAB_LANG`` the locale decides (``LC_ALL``, ``LC_MESSAGES``,
``LANG``; on Windows, where those are usually unset, ``locale.getlocale()``):
a Korean locale picks Korean, anything else English.

Each part of the kit marks the text a user reads with ``_()`` (``ngettext``
for counts, ``N_()`` for a constant translated where it is shown) and keeps
its translations as gettext ``.po`` files in one folder, one per language
(``client/locale/ko.po``; a lab's checks can carry their own). A ``Catalog``
reads them with the standard ``gettext`` module, compiling each ``.po`` in
memory the first time it is needed, so neither an editable install nor a
wheel needs a build step or a committed ``.mo``. Text is looked up each time
it is shown, so the switch needs no restart; a string with no translation is
shown in English.
"""

from __future__ import annotations

import ast
import gettext
import io
import locale
import os
import struct
from collections.abc import Iterator
from pathlib import Path

ENGLISH = "en"
KOREAN = "ko"
SWITCH = "SOCKETLAB_LANG"
# The POSIX order: the first of these that is set names the messages' locale.
_LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")
# The functions that mark text for translation, and which argument holds it.
MARKERS = {"_": 1, "N_": 1, "ngettext": 2}


def _is_korean(name: str) -> bool:
    # "ko", "ko_KR.UTF-8", "ko-KR", and Windows' "Korean_Korea".
    name = name.strip().lower()
    return name == "ko" or name.startswith(("ko_", "ko-", "ko.", "korean"))


def language() -> str:
    """The language to speak now: ``KOREAN`` or ``ENGLISH``."""
    chosen = os.environ.get(SWITCH, "").strip()
    if not chosen:
        chosen = next((os.environ[v] for v in _LOCALE_VARIABLES if os.environ.get(v)), "")
    if not chosen:
        chosen = locale.getlocale()[0] or ""
    return KOREAN if _is_korean(chosen) else ENGLISH


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it (pass it to ``_`` later)."""
    return message


class Catalog:
    """One part of the kit's translations: ``folder/LANG.po`` for each language but English.

    A text it has no translation for is looked up in ``fallback`` (a lab's
    checks fall back on the runner's words), then shown in English.
    """

    def __init__(self, folder: Path, fallback: Catalog | None = None) -> None:
        self.folder, self.fallback = folder, fallback
        self._loaded: dict[str, gettext.NullTranslations] = {}

    def translations(self, lang: str | None = None) -> gettext.NullTranslations:
        """The translations for ``lang`` (default: ``language()``); English has none."""
        lang = lang or language()
        if lang not in self._loaded:
            po = self.folder / f"{lang}.po"
            if lang == ENGLISH or not po.is_file():
                self._loaded[lang] = gettext.NullTranslations()
            else:
                mo = compile_po(po.read_text(encoding="utf-8"))
                self._loaded[lang] = gettext.GNUTranslations(io.BytesIO(mo))
            if self.fallback is not None and lang != ENGLISH:
                self._loaded[lang].add_fallback(self.fallback.translations(lang))
        return self._loaded[lang]

    def gettext(self, message: str) -> str:
        return self.translations().gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations().ngettext(singular, plural, n)

    def entries(self, lang: str) -> dict[str, list[str]]:
        """``lang``'s translated messages: msgid (a plural's singular) -> its msgstr(s)."""
        po = self.folder / f"{lang}.po"
        return {
            msgid.split("\0")[0]: strings
            for msgid, strings in parse_po(po.read_text(encoding="utf-8")).items()
            if msgid and all(strings)
        }


# -- .po files -----------------------------------------------------------------


def parse_po(text: str) -> dict[str, list[str]]:
    """The entries of a ``.po`` file: msgid -> msgstr forms; a plural's msgid is
    "singular\\0plural". Fuzzy entries are left out, as ``msgfmt`` does."""
    entries: dict[str, list[str]] = {}
    fields: dict[str, str] = {}
    current: str | None = None
    fuzzy = False
    # A closing comment ends the last entry like any other.
    for number, raw in enumerate([*text.splitlines(), "#"], start=1):
        line = raw.strip()
        if not line:
            continue
        # A comment or a msgid after a msgstr starts the next entry.
        if line.startswith(("#", "msgid ")) and any(k.startswith("msgstr") for k in fields):
            if not fuzzy:
                msgid = fields["msgid"]
                if "msgid_plural" in fields:
                    msgid += "\0" + fields["msgid_plural"]
                entries[msgid] = [fields[k] for k in sorted(fields) if k.startswith("msgstr")]
            fields, current, fuzzy = {}, None, False
        if line.startswith("#"):
            fuzzy = fuzzy or (line.startswith("#,") and "fuzzy" in line)
        elif line.startswith('"'):
            if current is None:
                raise ValueError(f"line {number}: a string outside any entry")
            fields[current] += _po_string(line, number)
        else:
            current, _, rest = line.partition(" ")
            fields[current] = _po_string(rest.strip(), number)
    return entries


def _po_string(quoted: str, number: int) -> str:
    if len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
        raise ValueError(f"line {number}: expected a quoted string, got {quoted!r}")
    value = ast.literal_eval(quoted)
    assert isinstance(value, str)
    return value


def compile_po(text: str) -> bytes:
    """A ``.po`` file's text as the bytes of a ``.mo`` file (what ``msgfmt`` writes)."""
    messages = {k: "\0".join(v) for k, v in parse_po(text).items() if all(v) or not k}
    ids = strs = b""
    table: list[tuple[int, int, int, int]] = []
    for msgid in sorted(messages):
        key, value = msgid.encode(), messages[msgid].encode()
        table.append((len(key), len(ids), len(value), len(strs)))
        ids += key + b"\0"
        strs += value + b"\0"
    count = len(table)
    keys_at = 7 * 4 + 16 * count
    values_at = keys_at + len(ids)
    offsets = [n for length, at, _, _ in table for n in (length, keys_at + at)]
    offsets += [n for _, _, length, at in table for n in (length, values_at + at)]
    header = struct.pack("<7I", 0x950412DE, 0, count, 7 * 4, 7 * 4 + count * 8, 0, 0)
    return header + struct.pack(f"<{len(offsets)}I", *offsets) + ids + strs


# -- finding the marked text -----------------------------------------------------


def marked_messages(source: str, filename: str = "<source>") -> Iterator[str]:
    """Every message ``source`` marks with ``_``, ``N_`` or ``ngettext`` (a plural's
    singular). A marker given anything but literal text raises ``ValueError``: an
    f-string would be looked up already filled in, and never found."""
    for node in ast.walk(ast.parse(source, filename)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        wanted = MARKERS.get(node.func.id)
        if wanted is None:
            continue
        texts = node.args[:wanted]
        # _(NAME), _(TABLE[key]): a constant, marked with N_ where it is defined.
        constant = (ast.Name, ast.Subscript, ast.Attribute)
        if node.func.id == "_" and texts and isinstance(texts[0], constant):
            continue
        literal = [t.value for t in texts if isinstance(t, ast.Constant)]
        if len(literal) != wanted or not all(isinstance(text, str) for text in literal):
            raise ValueError(
                f"{filename}:{node.lineno}: {node.func.id}() needs literal text, "
                "with .format() after it"
            )
        yield str(literal[0])

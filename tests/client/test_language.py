"""The clients' Korean catalog (client/locale/ko.po) is complete, current and safe.

Every text client/*.py marks for translation must have a Korean entry; an entry
must keep the English's {placeholders}, commands and options; and no entry may
outlive the English it translated (a reworded message shows up as both).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from socketlab.client.commands import HELP_TEXT, format_event
from socketlab.client.events import CONNECTION_LOST, Disconnected
from socketlab.client.language import CATALOG
from socketlab.i18n import KOREAN, marked_messages, parse_po
from socketlab.protocol import Joined, Left

CLIENT = Path(__file__).resolve().parents[2] / "client"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# Commands and options a user types: never translated.
TYPED = re.compile(r"(?<![\w/])/{1,2}[a-z]+(?![a-z])|--[a-z-]+")


def marked() -> dict[str, str]:
    """Every message the client's modules mark: message -> the file marking it."""
    found: dict[str, str] = {}
    for path in sorted(CLIENT.glob("*.py")):
        for message in marked_messages(path.read_text(encoding="utf-8"), str(path)):
            found.setdefault(message, path.name)
    return found


def test_the_walk_finds_the_window_and_terminal_texts() -> None:
    found = marked()
    assert {"Send", "Reconnect", "* {name} joined", HELP_TEXT, "your name: "} <= set(found)
    assert {"gui.py", "gui_window.py", "gui_dialog.py", "tui.py", "commands.py"} <= set(
        found.values()
    )


def test_every_marked_message_has_korean() -> None:
    korean = CATALOG.entries(KOREAN)
    missing = [f"{where}: {message!r}" for message, where in marked().items()
               if message not in korean]
    assert missing == [], "no Korean in client/locale/ko.po for:\n" + "\n".join(missing)


def test_no_korean_entry_outlives_its_english() -> None:
    stale = sorted(set(CATALOG.entries(KOREAN)) - set(marked()))
    assert stale == [], f"ko.po translates text the client no longer has: {stale}"


def test_korean_keeps_placeholders_commands_and_options() -> None:
    wrong = []
    for english, (korean,) in CATALOG.entries(KOREAN).items():
        if set(PLACEHOLDER.findall(english)) != set(PLACEHOLDER.findall(korean)):
            wrong.append(f"placeholders: {english!r} -> {korean!r}")
        if set(TYPED.findall(english)) != set(TYPED.findall(korean)):
            wrong.append(f"commands: {english!r} -> {korean!r}")
    assert wrong == [], "\n".join(wrong)


def test_the_catalog_has_no_fuzzy_or_empty_entries() -> None:
    text = (CLIENT / "locale" / "ko.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in text
    assert [msgid for msgid, forms in parse_po(text).items() if msgid and not all(forms)] == []


def test_system_lines_in_korean_keep_names_and_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCKETLAB_LANG", "ko")
    assert format_event(Joined("지민")) == "* 지민님이 들어왔습니다"
    assert format_event(Left("bob", "timeout")) == "* bob님이 나갔습니다 (timeout)"
    lost = Disconnected(f"{CONNECTION_LOST} (Connection reset by peer)")
    assert format_event(lost) == "* 연결 끊김: 갑자기 끊어짐 (Connection reset by peer)"
    # A server's own reason ("code: message") is shown as the server sent it.
    assert format_event(Disconnected("kicked: flooding")) == "* 연결 끊김: kicked: flooding"
    monkeypatch.setenv("SOCKETLAB_LANG", "en")
    assert format_event(Joined("지민")) == "* 지민 joined"
    assert format_event(lost) == "* disconnected: connection lost (Connection reset by peer)"

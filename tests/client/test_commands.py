"""parse_command: one parser for every front end, as a table plus properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socketlab.client.commands import HELP_TEXT, Help, Quit, Usage, parse_command
from socketlab.protocol import Say, Whisper, Who

WHISPER_USAGE = Usage("usage: /w NAME MESSAGE")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("hello", Say("hello")),
        ("  indented stays", Say("  indented stays")),
        ("/w bob hi there", Whisper("bob", "hi there")),
        ("/whisper bob hi", Whisper("bob", "hi")),
        ("/W bob hi", Whisper("bob", "hi")),
        ("/w\tbob\thi", Whisper("bob", "hi")),
        ("/w bob   spaced  text", Whisper("bob", "spaced  text")),
        ("/who", Who()),
        ("/who   ", Who()),
        ("/quit", Quit()),
        ("/help", Help()),
        ("/help w", Help()),
        ("//etc/passwd", Say("/etc/passwd")),
        ("//", Say("/")),
        ("/w", WHISPER_USAGE),
        ("/w   ", WHISPER_USAGE),
        ("/w bob", WHISPER_USAGE),
        ("/w bob   ", WHISPER_USAGE),
        ("/who alice", Usage("usage: /who")),
        ("/quit now", Usage("usage: /quit")),
        ("/foo bar", Usage("unknown command /foo; type /help for the list")),
        ("/", Usage("unknown command /; type /help for the list")),
        ("", None),
        ("   \t ", None),
    ],
)
def test_table(line: str, expected: object) -> None:
    assert parse_command(line) == expected


def test_usage_is_one_line_and_help_lists_every_command() -> None:
    for line in ("/w", "/w bob", "/nope", "/who x", "/\x1b[2J"):
        result = parse_command(line)
        assert isinstance(result, Usage)
        assert "\n" not in result.text and "\x1b" not in result.text
    for command in ("/w NAME MESSAGE", "/whisper", "/who", "/quit", "/help", "//"):
        assert command in HELP_TEXT


lines = st.text(alphabet=st.characters(blacklist_characters="\r\n"))


@given(lines.filter(lambda s: s.strip() and not s.startswith("/")))
def test_any_line_not_starting_with_slash_is_said_as_is(line: str) -> None:
    assert parse_command(line) == Say(line)


@given(lines)
def test_never_raises_and_returns_a_command(line: str) -> None:
    result = parse_command("/" + line)
    assert isinstance(result, (Say, Whisper, Who, Quit, Help, Usage))
    if isinstance(result, Whisper):
        assert result.to and result.text.strip()


@given(st.text(alphabet=st.characters(blacklist_categories=("Z", "C")), min_size=1), lines)
def test_whisper_keeps_name_and_text(name: str, text: str) -> None:
    result = parse_command(f"/w {name} {text}")
    if text.strip():
        assert result == Whisper(name, text.lstrip())
    else:
        assert result == WHISPER_USAGE

"""format_event: each received event becomes exactly one clearly marked line."""

from __future__ import annotations

import pytest

from socketlab.client.commands import format_event
from socketlab.client.events import Disconnected
from socketlab.protocol import Bye, Error, Joined, Left, Message, Users, Welcome


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (Message("alice", "hi", 1), "alice: hi"),
        (Message("bob", "psst", 1, to="alice"), "[whisper from bob] psst"),
        (Message("alice", "psst", 1, to="bob"), "[whisper to bob] psst"),
        (Message("ALICE", "psst", 1, to="bob"), "[whisper to bob] psst"),  # names compare by key
        (Joined("carol"), "* carol joined"),
        (Left("carol", "quit"), "* carol left (quit)"),
        (Left("carol"), "* carol left"),
        (Users(("alice", "bob")), "* online: alice, bob"),
        (Welcome("alice", ("alice", "bob")), "* you are alice; online: alice, bob"),
        (Error("name_taken", "alice is in use"), "! error name_taken: alice is in use"),
        (Error("no_such_user"), "! error no_such_user"),
        (Bye(), "* the server said bye"),
        (Disconnected("connection lost"), "* disconnected: connection lost"),
    ],
)
def test_lines(event: object, line: str) -> None:
    assert format_event(event, "alice") == line


def test_text_cannot_break_the_line_or_drive_the_terminal() -> None:
    hostile = "one\ntwo\r\x1b[2J\x9b31m\u202eevil\ttab"
    line = format_event(Message("bob", hostile, 1), "alice")
    assert line == "bob: one\\ntwo\\r\\x1b[2J\\x9b31m\\u202eevil\ttab"
    assert all(char.isprintable() or char == "\t" for char in line)


def test_emoji_and_other_scripts_pass_unchanged() -> None:
    text = "héllo 世界 👩\u200d👩\u200d👧"
    assert format_event(Message("bob", text, 1), "alice") == f"bob: {text}"

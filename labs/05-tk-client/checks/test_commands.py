"""Step 7: what the user types is said, or is a command: /w, /who, /quit."""

from collections.abc import Callable
from typing import Any

from conftest import WAIT, Gui, Users

from socketlab.labs.harness import _
from socketlab.protocol import Left, Message


def _said_by_alice(text: str) -> Callable[[Any], bool]:
    return lambda event: isinstance(event, Message) and event.sender == "alice" and event.text == text


def test_a_line_is_said(window: Gui, users: Users, expect) -> None:
    """A line typed in the entry is said to everyone (Send button or Enter), and the entry empties"""
    bob = users.join("bob")
    window.type_and_send("hello everyone")
    assert expect(bob, _said_by_alice("hello everyone")), _(
        "you typed 'hello everyone' and pressed Send, but bob got no such message within "
        "{wait:.0f} s — in send(), send {{'type': 'say', 'text': line}} (README step 7)"
    ).format(wait=WAIT)
    assert window.window.entry.get() == "", _("after sending, the entry must be empty again")
    window.type_and_send("and with Enter", press_enter=True)
    assert expect(bob, _said_by_alice("and with Enter")), _(
        "pressing Enter in the entry must send the line too (README step 7)")


def test_whisper_reaches_only_its_recipient(window: Gui, users: Users, expect) -> None:
    """/w NAME MESSAGE whispers to NAME only"""
    bob, carol = users.join("bob"), users.join("carol")
    window.type_and_send("/w bob meet me at noon")
    whisper = expect(bob, lambda e: isinstance(e, Message) and e.sender == "alice")
    assert whisper is not None and whisper.text == "meet me at noon" and whisper.to == "bob", _(
        "after '/w bob meet me at noon' bob got {whisper} — send {{'type': 'whisper', "
        "'to': 'bob', 'text': 'meet me at noon'}} (README step 7)").format(whisper=whisper)
    window.type_and_send("and now to all")
    first = expect(carol, lambda e: isinstance(e, Message) and e.sender == "alice")
    assert first is not None and first.text == "and now to all", _(
        "carol's first message from alice was {first} — a whisper must reach only its "
        "recipient, and a plain line everyone (README step 7)").format(first=first)


def test_who_asks_the_server(window: Gui, users: Users) -> None:
    """/who asks the server who is here, and the answer shows in the log"""
    users.join("bob")
    window.pump(lambda: "bob" in window.user_list(), timeout=1.0)
    lines_before = len(window.log_lines())
    window.type_and_send("/who")

    def answered() -> bool:
        new = "\n".join(window.log_lines()[lines_before:])
        return "alice" in new and "bob" in new

    assert window.pump(answered), _(
        "after /who no line naming alice and bob reached the log within {wait:.0f} s — send "
        "{{'type': 'who'}}; the answer is a 'users' message (README steps 5 and 7)"
    ).format(wait=WAIT)


def test_other_commands_are_not_sent(window: Gui, users: Users, expect) -> None:
    """An unknown command, or /w without a message, shows help and sends nothing"""
    bob = users.join("bob")
    for line in ("/dance", "/w bob"):
        lines_before = len(window.log_lines())
        window.type_and_send(line)
        assert len(window.log_lines()) > lines_before, _(
            "after {line!r} the log showed nothing: show HELP, so the user learns the "
            "commands (README step 7)").format(line=line)
    window.type_and_send("marker")
    first = expect(bob, lambda e: isinstance(e, Message) and e.sender == "alice")
    assert first is not None and first.text == "marker", _(
        "bob got {first} before the next line: '/dance' and '/w bob' must not be sent "
        "(README step 7)").format(first=first)


def test_quit_leaves_and_closes_the_window(window: Gui, users: Users, expect) -> None:
    """/quit says goodbye to the server and closes the window"""
    bob = users.join("bob")
    window.type_and_send("/quit")
    left = expect(bob, lambda e: isinstance(e, Left) and e.name == "alice")
    assert left is not None and left.reason == "quit", _(
        "after /quit bob saw {left} instead of alice leaving with reason 'quit' — "
        "call self.close(), which sends 'bye' (README step 7)").format(left=left)
    assert not window.alive(), _("after /quit the window must close (self.close() does it)")

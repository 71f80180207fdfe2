"""Step 4: chat messages and errors appear in the log."""

from conftest import WAIT, Gui, Users

from socketlab.labs.harness import _


def test_messages_appear_in_the_log(window: Gui, users: Users) -> None:
    """What others say, what you say and whispers appear in the log"""
    bob = users.join("bob")
    bob.say("hello alice")
    assert window.pump(lambda: "bob: hello alice" in window.log()), _(
        "bob said 'hello alice', but the log did not show 'bob: hello alice' within {wait:.0f} s "
        "— in show_message(), show a 'message' with self.show(format_message(message)) "
        "(README step 4)").format(wait=WAIT)
    window.window.connection.send({"type": "say", "text": "hi bob"})
    assert window.pump(lambda: "alice: hi bob" in window.log()), _(
        "you said 'hi bob': the server sends your own message back to you, and the log must "
        "show it as 'alice: hi bob' (README step 4)")
    bob.whisper("alice", "psst")
    assert window.pump(lambda: "[whisper] bob → alice: psst" in window.log()), _(
        "bob whispered 'psst' to you, but the log did not show '[whisper] bob → alice: psst' — "
        "use format_message() for every 'message', whispers included (README step 4)")


def test_errors_appear_in_the_log(window: Gui) -> None:
    """An error from the server appears in the log"""
    window.window.connection.send({"type": "whisper", "to": "nobody", "text": "hello?"})
    assert window.pump(lambda: "nobody" in window.log().split("\n", 1)[1]), _(
        "a whisper to 'nobody' (no such user) got an error from the server, but the log did "
        "not show it within {wait:.0f} s — in show_message(), show an 'error' message's "
        "'message' field (README step 4)").format(wait=WAIT)

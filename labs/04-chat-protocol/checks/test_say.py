"""Step 7: say reaches everyone, the sender included."""

import time

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_say_reaches_everyone(join, until):
    """a say reaches all 3 users, the sender too, as message {from, text, ts}"""
    alice, bob, carol = join("alice"), join("bob"), join("carol")
    before = int(time.time() * 1000)
    bob.send({"type": "say", "text": "hello, class"})
    for user in (alice, bob, carol):
        msg = until(user, "message", _(
            "a say goes to every user, the sender included — README step 7"))[-1]
        assert msg.get("from") == "bob" and msg.get("text") == "hello, class", harness.why(_(
            "{label} got {msg}: from is the sender's name, text what they said — README step 7"
        ).format(label=user.label, msg=msg))
        assert "to" not in msg, harness.why(_("{label} got {msg}: only a whisper has 'to'").format(
            label=user.label, msg=msg))
        now = int(time.time() * 1000)
        assert before - 5000 <= msg["ts"] <= now + 5000, harness.why(_(
            "ts was {ts}, the time now is {now}: ts is int(time.time() * 1000), "
            "milliseconds since 1970 — README step 7").format(ts=msg["ts"], now=now))


def test_text_arrives_unchanged(join, until):
    """a text with accents, emoji, tab and newline arrives exactly as sent"""
    alice, bob = join("alice"), join("bob")
    text = "ça va? 🎉\tnext\nline"
    alice.send({"type": "say", "text": text})
    msg = until(bob, "message", _("a say goes to everyone — README step 7"))[-1]
    assert msg.get("text") == text, harness.why(_(
        "bob got the text {got!r}, alice said {text!r}: pass msg['text'] on as it is").format(
            got=msg.get("text"), text=text))


"""Step 7: say reaches everyone, the sender included."""

import time

from socketlab.labs import harness


def test_say_reaches_everyone(join, until):
    """a say reaches all 3 users, the sender too, as message {from, text, ts}"""
    alice, bob, carol = join("alice"), join("bob"), join("carol")
    before = int(time.time() * 1000)
    bob.send({"type": "say", "text": "hello, class"})
    for user in (alice, bob, carol):
        msg = until(user, "message", "a say goes to every user, the sender included — README step 7")[-1]
        assert msg.get("from") == "bob" and msg.get("text") == "hello, class", harness.why(
            f"{user.label} got {msg}: from is the sender's name, text what they said — README step 7")
        assert "to" not in msg, harness.why(f"{user.label} got {msg}: only a whisper has 'to'")
        now = int(time.time() * 1000)
        assert before - 5000 <= msg["ts"] <= now + 5000, harness.why(
            f"ts was {msg['ts']}, the time now is {now}: ts is int(time.time() * 1000), "
            "milliseconds since 1970 — README step 7")


def test_text_arrives_unchanged(join, until):
    """a text with accents, emoji, tab and newline arrives exactly as sent"""
    alice, bob = join("alice"), join("bob")
    text = "ça va? 🎉\tnext\nline"
    alice.send({"type": "say", "text": text})
    msg = until(bob, "message", "a say goes to everyone — README step 7")[-1]
    assert msg.get("text") == text, harness.why(
        f"bob got the text {msg.get('text')!r}, alice said {text!r}: pass msg['text'] on as it is")

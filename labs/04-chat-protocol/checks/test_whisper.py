"""Step 7: a whisper reaches its recipient and the sender's echo, nobody else."""

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_whisper_reaches_only_its_recipient(join, until):
    """a whisper reaches bob and alice's echo (with to), and not carol"""
    alice, bob, carol = join("alice"), join("bob"), join("carol")
    alice.send({"type": "whisper", "to": "bob", "text": "psst"})
    alice.send({"type": "say", "text": "after"})  # sent after the whisper, on the same thread
    got = until(bob, "message", _("a whisper reaches its recipient — README step 7"))[-1]
    assert got.get("from") == "alice" and got.get("to") == "bob" and got.get("text") == "psst", \
        harness.why(_("bob got {got}: a whisper arrives as message with from, text, ts and to"
                      ).format(got=got))
    echo = until(alice, "message", _("the sender gets the whisper back too (the echo)"))[-1]
    assert echo.get("to") == "bob" and echo.get("text") == "psst", harness.why(_(
        "alice's first message after whispering was {echo}: the sender gets the whisper back "
        "(with to), so their window shows it — README step 7").format(echo=echo))
    seen = until(carol, "message", _("carol should get alice's say after the whisper"))
    whispers = [m for m in seen if m["type"] == "message" and m.get("text") == "psst"]
    assert not whispers and seen[-1].get("text") == "after", harness.why(_(
        "carol got {got} before alice's next say: a whisper goes to the recipient and the "
        "sender only, never broadcast — README step 7").format(got=seen[-1]))


def test_whisper_finds_any_case(join, until):
    """a whisper to "BOB" reaches bob, and says to "bob" (the name he logged in with)"""
    alice, bob = join("alice"), join("bob")
    alice.send({"type": "whisper", "to": "BOB", "text": "hey"})
    got = until(bob, "message", _("look the recipient up by name_key(to) — README step 7"))[-1]
    assert got.get("to") == "bob", harness.why(_(
        "bob got {got}: 'to' is the recipient's name as they logged in — README step 7").format(
            got=got))


def test_whisper_to_yourself(join, until):
    """a whisper to yourself arrives once"""
    alice = join("alice")
    alice.send({"type": "whisper", "to": "alice", "text": "note to self"})
    alice.send({"type": "say", "text": "after"})
    seen = until(alice, "message", _("a whisper to yourself comes back to you"))
    seen += until(alice, "message", _("alice's say after her whisper comes back to her"))
    texts = [m.get("text") for m in seen if m["type"] == "message"]
    assert texts == ["note to self", "after"], harness.why(_(
        "alice whispered to herself, then said 'after', and got {texts}: when the recipient "
        "is the sender, send the whisper once — README step 7").format(texts=texts))


def test_unknown_recipient(join):
    """a whisper to nobody gets no_such_user, to an invalid name bad_name; the connection stays"""
    alice = join("alice")
    alice.send({"type": "whisper", "to": "dave", "text": "anyone?"})
    alice.expect_error("no_such_user", _("nobody called dave is here — README step 7"))
    alice.send({"type": "whisper", "to": "a b", "text": "anyone?"})
    alice.expect_error("bad_name", _(
        "'a b' breaks the name rules: check_name(to) — README step 7"))
    alice.send({"type": "say", "text": "still here"})
    alice.expect("message", _("after no_such_user and bad_name the connection stays open"))


"""Step 4: the server relays e2e_whisper as e2e_message, without opening it."""

import json

from conftest import until

from socketlab.labs import harness
from socketlab.labs.harness import _


def whisper(sender, recipient, text: str) -> dict:
    """sender's e2e_whisper to recipient, sealed by the checks' own code."""
    inner = {"from": sender.label, "to": recipient.label, "text": text}
    nonce, box = sender.user.seal(bytes(recipient.user.e2e.public_key), inner)
    return {"type": "e2e_whisper", "to": recipient.label, "nonce": nonce, "box": box}


def test_relay_to_recipient_and_sender(join):
    """bob and alice's echo get e2e_message with alice's bundle and the box unchanged; carol nothing"""
    alice, bob, carol = join("alice"), join("bob"), join("carol")
    sent = whisper(alice, bob, "meet at noon")
    alice.send(sent)
    alice.send({"type": "say", "text": "after"})
    got = until(bob, "e2e_message", _("alice whispered end-to-end to bob — README step 5"))[-1]
    bundle = alice.user.bundle()
    expected = {"from": "alice", "to": "bob", "key": bundle["e2e_key"],
                "identity": bundle["e2e_identity"], "signature": bundle["e2e_signature"],
                "nonce": sent["nonce"], "box": sent["box"]}
    wrong = {k: got.get(k) for k, v in expected.items() if got.get(k) != v}
    assert not wrong and isinstance(got.get("ts"), int), harness.why(_(
        "bob got {got}; wrong: {wrong}. An e2e_message has from, to, ts, the SENDER's "
        "key/identity/signature, and nonce and box exactly as they came — README step 5"
    ).format(got=json.dumps(got)[:400], wrong=sorted(wrong) or ["ts"]))
    text = bob.user.open(bytes.fromhex(got["key"]), got["nonce"], got["box"])
    assert json.loads(text)["text"] == "meet at noon"
    echo = until(alice, "e2e_message",
                 _("the sender gets her whisper back too — README step 5"))[-1]
    assert echo.get("box") == sent["box"] and echo.get("to") == "bob", harness.why(_(
        "alice's copy was {echo}: the same e2e_message goes to the sender").format(
            echo=json.dumps(echo)[:300]))
    seen = until(carol, "message", _("carol should get alice's say after the whisper"))
    assert not [m for m in seen if m["type"] == "e2e_message"], harness.why(_(
        "carol got alice's e2e whisper to bob: relay it to the recipient and the sender only "
        "— README step 5"))


def test_relay_to_yourself_once(join):
    """an e2e whisper to yourself arrives once"""
    alice = join("alice")
    alice.send(whisper(alice, alice, "note to self"))
    alice.send({"type": "say", "text": "after"})
    seen = until(alice, "message", _("alice's say after her e2e whisper comes back"))
    kinds = [m["type"] for m in seen]
    assert kinds == ["e2e_message", "message"], harness.why(_(
        "alice whispered to herself, then said 'after', and got {kinds}: when the recipient is "
        "the sender, send the e2e_message once — README step 5").format(kinds=kinds))


def test_relay_refusals(join):
    """e2e_whisper: no_such_user, no_e2e_key (old client), bad_name; bad nonce/box sizes bad_message"""
    alice, old = join("alice"), join("oldtimer", e2e=False)
    good = whisper(alice, alice, "x")
    alice.send({**good, "to": "dave"})
    alice.expect_error("no_such_user", _("nobody called dave is here — README step 5"))
    alice.send({**good, "to": "oldtimer"})
    alice.expect_error("no_e2e_key", _("oldtimer has no e2e key: nobody can seal to him — "
                                       "README step 5"))
    alice.send({**good, "to": "a b"})
    alice.expect_error("bad_name", _("'a b' breaks the name rules — README step 5"))
    old.send({"type": "e2e_whisper", "to": "alice", "nonce": good["nonce"], "box": good["box"]})
    old.expect_error("no_e2e_key", _("oldtimer logged in without a bundle: the recipient would "
                                     "have no key to open his whisper with — README step 5"))
    alice.send({"type": "say", "text": "still here"})
    alice.expect("message", _("after these errors the connection stays open — README step 5"))
    alice.send({**good, "nonce": good["nonce"][:46]})
    alice.expect_error("bad_message", _("a nonce is 24 bytes (48 hex digits) — README step 5"))
    assert alice.closed(), harness.why(_("bad_message closes the connection"))

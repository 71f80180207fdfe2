"""Step 7, to the byte: what your server sends is in the spec's one form, as the kit writes it."""

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import decode_message, encode_message


def test_bodies_are_canonical(join, until):
    """every body is compact JSON, "type" first, fields in the spec's order, raw UTF-8"""
    alice, zoe = join("alice"), join("Zoë")
    zoe.send({"type": "say", "text": "ça va? 🎉"})
    zoe.send({"type": "whisper", "to": "alice", "text": "psst"})
    zoe.send({"type": "who"})
    zoe.send({"type": "bye"})
    until(alice, "left", _("Zoë said bye"))
    for body in alice.bodies + zoe.bodies:
        canonical = encode_message(decode_message(body))
        assert body == canonical, harness.why(_(
            "your server sent {body}; the spec's form of the "
            "same message is {canonical} "
            "(docs/protocol.md §2: no spaces, \"type\" first, the fields in the order of §6, "
            "é as raw UTF-8 — encode() does all but the order: write the dict's keys in the "
            "spec's order) — README step 7").format(
                body=body.decode(errors="backslashreplace"), canonical=canonical.decode()))


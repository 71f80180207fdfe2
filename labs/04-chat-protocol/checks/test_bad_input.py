"""Step 1, on the wire: a client that breaks the protocol gets an error frame and is cut off;
nobody else notices."""

import json
import struct

from socketlab.i18n import N_
from socketlab.labs import harness
from socketlab.labs.harness import _

OFFENCES = [
    (N_("not JSON"), struct.pack(">I", 5) + b"hello", "bad_json"),
    (N_("an unknown type"), struct.pack(">I", 16) + b'{"type":"shout"}', "unknown_type"),
    (N_("say without text"), struct.pack(">I", 14) + b'{"type":"say"}', "bad_message"),
    (N_("a message only a server sends"),
     struct.pack(">I", 30) + b'{"type":"joined","name":"eve"}', "unexpected_message"),
    (N_("a frame of length 0"), struct.pack(">I", 0), "frame_empty"),
    (N_("a frame announcing 100,000 bytes"), struct.pack(">I", 100_000), "frame_too_large"),
]


def test_offender_cut_off_others_chat_on(join, until):
    """6 kinds of bad input: each gets its error frame and a closed connection; the others chat on"""
    alice, bob = join("alice"), join("bob")
    for number, (what, data, code) in enumerate(OFFENCES):
        offender = join(f"eve{number}")
        offender.send_raw(data)
        offender.expect_error(code, _(
            "the answer to {what} — README step 1 and docs/protocol.md §7").format(what=_(what)))
        assert offender.closed(), harness.why(_(
            "after error {code} the server must close the offender's connection: raise "
            "ProtocolError, and serve_client() sends the error and hangs up — README step 1"
        ).format(code=code))
        left = until(alice, "left", _("eve{number} was cut off, so she has left").format(
            number=number))[-1]
        assert left.get("name") == f"eve{number}" and left.get("reason") == code, harness.why(_(
            "alice got {left}; the reason for leaving is the error's code, {code!r}").format(
                left=json.dumps(left), code=code))
    bob.send({"type": "say", "text": "still here"})
    msg = until(alice, "message", _("the others are not disturbed by an offender"))[-1]
    assert msg.get("text") == "still here", harness.why(
        _("alice got {msg}").format(msg=json.dumps(msg)))


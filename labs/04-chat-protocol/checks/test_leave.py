"""Step 6: leaving — the others get left, and the name is free again."""

import socket
import struct

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_bye_sends_left(join, until):
    """bye closes the connection; the others get left {name, reason: quit}"""
    alice, bob = join("alice"), join("bob")
    bob.send({"type": "bye"})
    assert bob.closed(), harness.why(_("after bye the server closes the connection"))
    left = until(alice, "left", _("when a user leaves, the others get left — README step 6"))[-1]
    assert left.get("name") == "bob" and left.get("reason") == "quit", harness.why(_(
        "alice got {left}; expected left with name bob and reason quit — README step 6"
    ).format(left=left))


def test_vanished_client_sends_left(join, until):
    """a client that vanishes (connection reset): the others get left {reason: connection_lost}"""
    alice, bob = join("alice"), join("bob")
    bob.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    bob.close()  # a reset, not a goodbye
    left = until(alice, "left", _(
        "a user whose connection broke has left too — README step 6"))[-1]
    assert left.get("name") == "bob" and left.get("reason") == "connection_lost", harness.why(_(
        "alice got {left}; expected left with name bob and reason connection_lost").format(
            left=left))


def test_name_free_after_leave(join, until, connect):
    """once bob has left, someone else may log in as bob"""
    alice, bob = join("alice"), join("bob")
    bob.send({"type": "bye"})
    until(alice, "left", _("when a user leaves, the others get left — README step 6"))
    again = connect(_("the new bob"))
    again.hello()
    answer = again.login("bob")
    assert answer.get("type") == "welcome", harness.why(_(
        "after bob left, a new login as bob got {answer}: leave() must take bob out of the "
        "room (room.remove_user) — README step 6").format(answer=answer))


"""Step 7: who lists everyone logged in."""

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_who_lists_users(join, until, connect):
    """who answers users {names} with everyone logged in (and nobody else)"""
    alice, _bob = join("alice"), join("bob")
    lurker = connect("lurker")
    lurker.hello()  # connected, never logged in: not a user
    alice.send({"type": "who"})
    users = until(alice, "users", _("who is answered with users — README step 7"))[-1]
    assert sorted(users["names"]) == ["alice", "bob"], harness.why(_(
        "who answered {names}, but alice and bob are logged in — README step 7").format(
            names=users["names"]))


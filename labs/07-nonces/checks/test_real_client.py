"""README step 5 (nothing to write there): the kit's client checks every nonce you seal."""

from collections.abc import Callable
from typing import Any

from conftest import KitUser

from socketlab.labs import harness
from socketlab.protocol import Joined, Left, Message, Users

STEP = "README steps 2 to 4 (each side seals with the next counter and accepts the next one)"


def _next(user: KitUser, kind: type, why: str, match: Callable[[Any], bool] = lambda _: True):
    """The next event of type ``kind`` that ``match``es on the user's queue (others skipped)."""
    seen = []
    while (event := user.next_event()) is not None:
        if isinstance(event, kind) and match(event):
            return event
        seen.append(type(event).__name__)
    raise AssertionError(harness.why(
        f"the kit's client ({user.name}) waited for {kind.__name__.lower()} and got "
        f"{seen or 'nothing'}: {why} — {STEP}"))


def test_kit_client_chats(chat_server, kit_user):
    """socketlab's ChatClient (box mode) logs in twice, says, whispers, asks who and leaves"""
    alice = kit_user(chat_server, "alice")
    bob = kit_user(chat_server, "bob")
    _next(alice, Joined, "bob logged in after alice")
    for number in range(3):
        bob.client.say(f"line {number}")
        said = _next(alice, Message, f"bob said 'line {number}'")
        assert (said.sender, said.text) == ("bob", f"line {number}"), f"alice got {said}"
    alice.client.whisper("bob", "psst")
    whisper = _next(bob, Message, "alice whispered to bob", lambda m: m.sender == "alice")
    assert (whisper.to, whisper.text) == ("bob", "psst"), f"bob got {whisper}"
    bob.client.who()
    users = _next(bob, Users, "bob asked who is online")
    assert sorted(users.names) == ["alice", "bob"], f"who answered {users.names}"
    bob.close()
    left = _next(alice, Left, "bob closed his client, which says bye")
    assert (left.name, left.reason) == ("bob", "quit"), harness.why(
        f"alice got {left}: bob's bye, his 7th sealed frame, must be accepted — {STEP}")

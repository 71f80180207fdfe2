"""README step 5 (nothing to write there): the kit's client checks every nonce you seal."""

from collections.abc import Callable
from typing import Any

from conftest import KitUser

from socketlab.i18n import N_
from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import Joined, Left, Message, Users

STEP = N_("README steps 2 to 4 (each side seals with the next counter and accepts the next one)")


def _next(user: KitUser, kind: type, why: str, match: Callable[[Any], bool] = lambda _: True):
    """The next event of type ``kind`` that ``match``es on the user's queue (others skipped)."""
    seen = []
    while (event := user.next_event()) is not None:
        if isinstance(event, kind) and match(event):
            return event
        seen.append(type(event).__name__)
    raise AssertionError(harness.why(_(
        "the kit's client ({name}) waited for {kind} and got {seen}: {why} — {step}").format(
            name=user.name, kind=kind.__name__.lower(), seen=seen or _("nothing"), why=why,
            step=_(STEP))))


def test_kit_client_chats(chat_server, kit_user):
    """socketlab's ChatClient (box mode) logs in twice, says, whispers, asks who and leaves"""
    alice = kit_user(chat_server, "alice")
    bob = kit_user(chat_server, "bob")
    _next(alice, Joined, _("bob logged in after alice"))
    for number in range(3):
        bob.client.say(f"line {number}")
        said = _next(alice, Message, _("bob said 'line {number}'").format(number=number))
        assert (said.sender, said.text) == ("bob", f"line {number}"), _("alice got {said}").format(
            said=said)
    alice.client.whisper("bob", "psst")
    whisper = _next(bob, Message, _("alice whispered to bob"), lambda m: m.sender == "alice")
    assert (whisper.to, whisper.text) == ("bob", "psst"), _("bob got {whisper}").format(
        whisper=whisper)
    bob.client.who()
    users = _next(bob, Users, _("bob asked who is online"))
    assert sorted(users.names) == ["alice", "bob"], _("who answered {names}").format(
        names=users.names)
    bob.close()
    left = _next(alice, Left, _("bob closed his client, which says bye"))
    assert (left.name, left.reason) == ("bob", "quit"), harness.why(_(
        "alice got {left}: bob's bye, his 7th sealed frame, must be accepted — {step}").format(
            left=left, step=_(STEP)))


"""Given: the kit's own client (without end-to-end keys: an old client) chats with your server."""

import queue

import pytest

from socketlab.client import ChatClient
from socketlab.client.chat_client import ChatError
from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import Message, PinStore

WAIT = 3.0


def next_message(client: ChatClient, why: str) -> Message:
    seen = []
    for _attempt in range(20):
        try:
            event = client.events.get(timeout=WAIT)
        except queue.Empty:
            break
        if isinstance(event, Message):
            return event
        seen.append(type(event).__name__)
    raise AssertionError(harness.why(_(
        "the kit's client ({name}) waited for a message and got {seen}: {why}").format(
            name=client.name, seen=seen or _("nothing"), why=why)))


@pytest.mark.given
def test_kit_client_chats(chat_server, tmp_path):
    """socketlab's ChatClient (box, no e2e key) logs in, says and whispers through your server"""
    clients = []
    try:
        for name in ("alice", "bob"):
            client = ChatClient(*chat_server, timeout=WAIT, pins=PinStore(tmp_path / name))
            clients.append(client)
            try:
                client.connect()
                client.login(name)
            except ChatError as error:
                raise AssertionError(harness.why(_(
                    "the kit's client could not log in as {name}: {code}: {error} — the "
                    "handshake and login are given code").format(
                        name=name, code=error.code, error=error.message))) from None
        alice, bob = clients
        bob.say("hi all")
        said = next_message(alice, _("bob said hi all"))
        assert (said.sender, said.text) == ("bob", "hi all"), _("alice got {said}").format(
            said=said)
        alice.whisper("bob", "psst")
        got = next_message(bob, _("alice whispered to bob (a plain whisper: old clients still "
                                  "can)"))
        while got.text == "hi all":
            got = next_message(bob, _("alice whispered to bob"))
        assert (got.sender, got.to, got.text) == ("alice", "bob", "psst"), _(
            "bob got {got}").format(got=got)
    finally:
        for client in clients:
            client.close()

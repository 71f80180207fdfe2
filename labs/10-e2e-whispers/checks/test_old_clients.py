"""Given: the kit's own client (without end-to-end keys: an old client) chats with your server."""

import queue

import pytest

from socketlab.client import ChatClient
from socketlab.client.chat_client import ChatError
from socketlab.labs import harness
from socketlab.protocol import Message, PinStore

WAIT = 3.0


def next_message(client: ChatClient, why: str) -> Message:
    seen = []
    for _ in range(20):
        try:
            event = client.events.get(timeout=WAIT)
        except queue.Empty:
            break
        if isinstance(event, Message):
            return event
        seen.append(type(event).__name__)
    raise AssertionError(harness.why(f"the kit's client ({client.name}) waited for a message "
                                     f"and got {seen or 'nothing'}: {why}"))


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
                raise AssertionError(harness.why(
                    f"the kit's client could not log in as {name}: {error.code}: "
                    f"{error.message} — the handshake and login are given code")) from None
        alice, bob = clients
        bob.say("hi all")
        said = next_message(alice, "bob said hi all")
        assert (said.sender, said.text) == ("bob", "hi all"), f"alice got {said}"
        alice.whisper("bob", "psst")
        got = next_message(bob, "alice whispered to bob (a plain whisper: old clients still can)")
        while got.text == "hi all":
            got = next_message(bob, "alice whispered to bob")
        assert (got.sender, got.to, got.text) == ("alice", "bob", "psst"), f"bob got {got}"
    finally:
        for client in clients:
            client.close()

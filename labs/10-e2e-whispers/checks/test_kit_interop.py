"""Step 8: one wire format: the kit's own e2e client and server work with yours."""

import queue
import time
from pathlib import Path

from socketlab.client import ChatClient
from socketlab.client.events import Whispered
from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import PinStore
from socketlab.server.app import ChatServer

WAIT = 3.0


def kit_client(address, name: str, home: Path) -> ChatClient:
    client = ChatClient(*address, timeout=WAIT, pins=PinStore(home / "known_servers"), e2e=True,
                        home=home)
    client.connect()
    client.login(name)
    return client


def first_e2e(session) -> tuple[dict | None, list]:
    """The first e2e_message your session's receive() gives (bounded), and all it gave."""
    seen: list = []
    for _attempt in range(10):
        msg = harness.call_with_timeout(lambda: session.receive(WAIT), timeout=WAIT + 2)
        seen.append(msg)
        if msg is None or msg.get("type") == "e2e_message":
            return msg, seen
    return None, seen


def whispers(client: ChatClient, sender: str) -> list[Whispered]:
    """The whispers in the kit client's events until one from ``sender`` came (at most WAIT),
    and any that follow it within 0.1 s. (The kit's own copy of its whisper is one too.)"""
    got: list[Whispered] = []
    deadline = time.monotonic() + WAIT
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = client.events.get(timeout=left)
        except queue.Empty:
            break
        if isinstance(event, Whispered):
            got.append(event)
            if event.sender == sender:
                deadline = min(deadline, time.monotonic() + 0.1)
    return got


def test_kit_clients_through_your_server(chat_server, open_session, tmp_path):
    """the kit's e2e client whispers to your client through your server, and yours to it"""
    kit = kit_client(chat_server, "kit", tmp_path / "kit")
    try:
        mine = open_session(chat_server, "alice", tmp_path / "alice")
        kit.whisper("alice", "from the kit")
        got, seen = first_e2e(mine)
        assert got and got.get("text") == "from the kit", harness.why(_(
            "the kit's client whispered end to end to alice; your client received {seen}: "
            "same wire format as docs/protocol.md, README 'The wire format'").format(seen=seen))
        harness.call_with_timeout(lambda: mine.whisper("kit", "from alice"), timeout=5)
        got_kit = [w for w in whispers(kit, "alice") if w.sender == "alice"]
        assert got_kit and got_kit[0].text == "from alice" and \
            got_kit[0].security.startswith("e2e"), harness.why(_(
                "your client whispered to the kit's client, which got {got}: it must "
                "arrive end to end (an e2e_whisper sealed to its key)").format(got=got_kit))
        mine.close()
    finally:
        kit.close()


def test_your_client_through_the_kit_server(open_session, tmp_path):
    """your client whispers end to end through the kit's server, to the kit's client and to yours"""
    with ChatServer() as server:
        kit = kit_client(server.address, "kit", tmp_path / "kit")
        try:
            alice = open_session(server.address, "alice", tmp_path / "alice")
            bob = open_session(server.address, "bob", tmp_path / "bob")
            harness.call_with_timeout(lambda: alice.whisper("kit", "hello kit"), timeout=5)
            harness.call_with_timeout(lambda: alice.whisper("BOB", "hello bob"), timeout=5)
            got_kit = whispers(kit, "alice")
            assert [(w.sender, w.text) for w in got_kit] == [("alice", "hello kit")] and \
                got_kit[0].security.startswith("e2e"), harness.why(_(
                    "through the kit's server, the kit's client got {got} from your client"
                ).format(got=got_kit))
            got, seen = first_e2e(bob)
            assert got and got.get("text") == "hello bob", harness.why(_(
                "through the kit's server, your bob received {seen}").format(seen=seen))
            alice.close()
            bob.close()
        finally:
            kit.close()

"""The kit's own client, terminal client and inspector work with your server unchanged."""

import os
import queue
import subprocess
import sys
import tempfile

from socketlab.client import ChatClient
from socketlab.client.chat_client import ChatError
from socketlab.inspector.decode import Frame
from socketlab.inspector.pipeline import decode_events
from socketlab.inspector.proxy import Proxy
from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import Joined, Left, Message, Users

WAIT = 3.0


def _next(client: ChatClient, kind: type, why: str):
    """The next event of type ``kind`` on the client's queue (others are skipped)."""
    seen = []
    while True:
        try:
            event = client.events.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(harness.why(_(
                "the kit's client ({name}) waited for {kind} and got {seen}: {why}").format(
                    name=client.name, kind=kind.__name__.lower(), seen=seen or _("nothing"),
                    why=why))) from None
        if isinstance(event, kind):
            return event
        seen.append(type(event).__name__)


def _logged_in(address, name: str) -> ChatClient:
    client = ChatClient(*address, mode="plain", timeout=WAIT)
    try:
        client.connect()
        client.login(name)
    except ChatError as error:
        client.close()
        raise AssertionError(harness.why(_(
            "the kit's client could not log in as {name}: {code}: {message}").format(
                name=name, code=error.code, message=error.message))) from None
    return client


def test_kit_chat_client(chat_server):
    """socketlab's ChatClient (plain mode) logs in, is refused a taken name, says, whispers, asks who"""
    alice = _logged_in(chat_server, "alice")
    bob = _logged_in(chat_server, "bob")
    intruder = ChatClient(*chat_server, mode="plain", timeout=WAIT)
    try:
        intruder.connect()
        refusal = None
        try:
            intruder.login("ALICE")
        except ChatError as error:
            refusal = error.code
        assert refusal == "name_taken", harness.why(_(
            "the kit's client asked for ALICE while alice was online: "
            "{refusal}, expected name_taken").format(refusal=refusal or _("it got in")))
        intruder.close()
        _next(alice, Joined, _("bob logged in after alice"))
        bob.say("hi all")
        said = _next(alice, Message, _("bob said hi all"))
        assert (said.sender, said.text) == ("bob", "hi all"), _("alice got {msg}").format(msg=said)
        _next(bob, Message, _("bob's own say comes back to him"))
        alice.whisper("bob", "psst")
        whisper = _next(bob, Message, _("alice whispered to bob"))
        assert (whisper.sender, whisper.to, whisper.text) == ("alice", "bob", "psst"), whisper
        bob.who()
        users = _next(bob, Users, _("bob asked who is online"))
        assert sorted(users.names) == ["alice", "bob"], _("who answered {names}").format(
            names=users.names)
        bob.close()
        left = _next(alice, Left, _("bob closed his client, which says bye"))
        assert (left.name, left.reason) == ("bob", "quit"), _("alice got {msg}").format(msg=left)
    finally:
        for client in (alice, bob, intruder):
            client.close()


def test_kit_terminal_client(chat_server):
    """`socketlab client --tui --plain` chats with your server (says, whispers, who, quits)"""
    alice = _logged_in(chat_server, "alice")
    try:
        lines = "hello from the terminal\n/w alice psst\n/who\n"
        with tempfile.TemporaryDirectory() as home:
            run = subprocess.run(
                [sys.executable, "-m", "socketlab", "client", "--tui", "--plain",
                 "--host", chat_server[0], "--port", str(chat_server[1]), "--name", "tui"],
                input=lines, capture_output=True, text=True, encoding="utf-8", timeout=20,
                # In English whatever the student's language: the lines are compared below.
                env={**os.environ, "SOCKETLAB_HOME": home, "PYTHONIOENCODING": "utf-8",
                     "SOCKETLAB_LANG": "en"},

                check=False)
        shown = run.stdout.splitlines()
        expected = ["* you are tui; online: alice, tui", "tui: hello from the terminal",
                    "[whisper to alice] psst", "* online: alice, tui"]
        missing = [line for line in expected if line not in shown]
        assert not missing and run.returncode == 0, harness.why(_(
            "the terminal client showed {shown} (exit {code}, stderr "
            "{stderr!r}); missing {missing}").format(
                shown=shown, code=run.returncode, stderr=run.stderr.strip()[-300:],
                missing=missing))
        said = _next(alice, Message, _("the terminal client said hello"))
        assert said.text == "hello from the terminal", said
        left = _next(alice, Left, _("the terminal client quit at the end of its input"))
        assert (left.name, left.reason) == ("tui", "quit"), left
    finally:
        alice.close()


def test_inspector_reads_your_session(chat_server):
    """the inspector, relaying a session with your server, shows it as socketlab messages"""
    with Proxy("127.0.0.1", 0, chat_server) as proxy:
        alice = _logged_in(proxy.address, "alice")
        try:
            alice.say("seen by the inspector")
            _next(alice, Message, _("alice's own say comes back to her"))
        finally:
            alice.close()
    frames = [item for item in decode_events(proxy.events(), None) if isinstance(item, Frame)]
    # Each direction in order (the relay's two directions are recorded by two threads).
    labels = {way: [f.label for f in frames if f.direction == way] for way in ("c2s", "s2c")}
    expected = {"c2s": ["hello", "login", "say", "bye"],
                "s2c": ["server_hello", "welcome", "message"]}
    assert labels == expected and all(frame.kind == "plain" for frame in frames), harness.why(_(
        "the inspector decoded {labels} (kinds {kinds}); "
        "expected {expected}, all as plain socketlab messages").format(
            labels=labels, kinds=sorted({f.kind for f in frames}), expected=expected))


"""Every frame of every text view sits under its own connection, with its own numbering,
also when connections interleave frame by frame: alice and bob chatting, a refused
second "Alice", and eve's plaintext session, all at once."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from socketlab.client.chat_client import ChatClient, ChatError
from socketlab.inspector.events import Closed
from socketlab.inspector.proxy import Proxy
from socketlab.inspector.recording import read_recording
from socketlab.inspector.synth import write_pcap
from socketlab.protocol import Message, PinStore
from socketlab.server.app import ChatServer
from tests.inspector.test_live_chat import wait_for
from tests.inspector.view_lines import (
    Shown,
    as_shown,
    assert_interleaved,
    assert_numbered_per_connection,
    frames_under_connections,
    json_frames,
    title_of,
)

TIMEOUT = 10.0


def socketlab(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "socketlab", *args], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def wait_all(client: ChatClient, lines: set[tuple[str, str]]) -> None:
    """Until every (sender, text) arrived, in any order (two senders race)."""
    deadline = time.monotonic() + TIMEOUT
    while lines:
        assert time.monotonic() < deadline, f"never arrived: {lines}"
        try:
            event = client.events.get(timeout=0.1)
        except queue.Empty:
            continue
        if isinstance(event, Message):
            lines.discard((event.sender, event.text))


def class_chat(port: int, pins: PinStore) -> None:
    """alice and bob talk while a second "Alice" is refused and eve talks in plaintext."""
    clients: list[ChatClient] = []

    def join(name: str, mode: str = "box") -> ChatClient:
        chat = ChatClient("127.0.0.1", port, mode=mode, pins=pins)
        clients.append(chat)
        chat.connect()
        chat.login(name)
        return chat

    try:
        alice, bob = join("alice"), join("bob")
        alice.say("one from alice")
        copycat = ChatClient("127.0.0.1", port, pins=pins)
        clients.append(copycat)
        copycat.connect()
        with pytest.raises(ChatError):
            copycat.login("Alice")
        eve = join("eve", mode="plain")
        bob.say("one from bob")
        eve.say("one from eve, in plaintext")
        alice.say("two from alice")
        wait_for(bob, "alice", "two from alice")  # alice's lines reach bob in her order
        wait_all(alice, {("bob", "one from bob"), ("eve", "one from eve, in plaintext")})
    finally:
        for chat in reversed(clients):
            chat.close()


def connection_roles(rows: list[dict[str, Any]]) -> tuple[int, int]:
    """(the refused client's port, the plaintext client's port), as ``--json`` tells them."""
    refused = {r["client"][1] for r in json_frames(rows)
               if any(m.get("code") == "name_taken" for m in r["messages"])}
    plain = {r["client"][1] for r in json_frames(rows)
             if any(m.get("type") == "hello" and m["mode"] == "plain" for m in r["messages"])}
    assert len(refused) == len(plain) == 1, (refused, plain)
    return refused.pop(), plain.pop()


def assert_every_frame_under_its_connection(text: str, rows: list[dict[str, Any]]) -> None:
    """The text view titles the same frames as ``--json``, each under its own connection,
    and what is under the refused and the plaintext connection is theirs alone."""
    shown = frames_under_connections(text)
    assert [title_of(frame) for frame in shown] == [as_shown(row) for row in json_frames(rows)]
    assert_numbered_per_connection(shown)
    assert_interleaved(shown)
    refused, plain = connection_roles(rows)
    under = {port: [f for f in shown if f.port == port] for port in (refused, plain)}
    assert {f.state for f in under[plain]} == {"plaintext"}
    assert "say" in {f.what for f in under[plain]}
    assert [f.what for f in under[refused] if f.direction == "c2s"] == ["hello", "login", "bye"]
    assert not any(_says(f) for f in under[refused])
    assert len({f.port for f in shown}) >= 4
    # Once the server answers the login, the view says whose connection it is.
    welcomed = {r["client"][1]: m["name"] for r in json_frames(rows) for m in r["messages"]
                if m["type"] == "welcome"}
    assert refused not in welcomed and plain in welcomed and len(welcomed) >= 3
    said = {line for line in text.splitlines() if "· log" in line}
    assert said == {f"[{port}] · logged in as {name}" for port, name in welcomed.items()} \
        | {f"[{refused}] · login refused (name_taken)"}


def _says(frame: Shown) -> bool:
    return any('"type":"say"' in row or '"type":"whisper"' in row for row in frame.rows)


def json_rows(*args: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in socketlab(*args, "--json").splitlines()]


def test_read_shows_each_interleaved_frame_under_its_connection(tmp_path: Path) -> None:
    keylog, record = tmp_path / "server.keys", tmp_path / "class.jsonl"
    with ChatServer("127.0.0.1", 0, allow_plaintext=True, identity=SigningKey.generate(),
                    keylog=keylog) as server, \
            Proxy("127.0.0.1", 0, ("127.0.0.1", server.address[1]), record=record) as proxy:
        class_chat(proxy.address[1], PinStore(tmp_path / "pins"))
        deadline = time.monotonic() + TIMEOUT
        while sum(isinstance(event, Closed) for event in proxy.events()) < 4:
            assert time.monotonic() < deadline, "the proxy did not record every close"
            time.sleep(0.05)
    pcap = tmp_path / "class.pcap"
    write_pcap(pcap, read_recording(record))
    for source, jobs in ((record, "1"), (pcap, "1"), (pcap, "2")):
        rows = json_rows("read", str(source), "--keylog", str(keylog), "--jobs", jobs)
        text = socketlab("read", str(source), "--keylog", str(keylog), "--jobs", jobs)
        assert_every_frame_under_its_connection(text, rows)


@pytest.mark.needs_root
def test_the_demos_view_shows_each_frame_under_its_connection(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    said = socketlab("demo", "--out", str(out))
    assert said.startswith("server listening") and "capturing with sniff" in said
    rows = json_rows("read", str(out / "capture.pcap"), "--keylog", str(out / "keys.log"))
    assert_every_frame_under_its_connection((out / "view.txt").read_text(encoding="utf-8"),
                                            rows)

"""End-to-end whispers in the inspector: a real session through the recording proxy,
decoded with the server's key log (the whisper stays ciphertext) and with a client's
key log holding its SOCKETLAB_E2E pair (the whisper opens, marked end-to-end)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from socketlab.inspector.decode import Frame, SessionDecoder
from socketlab.inspector.events import Closed, Connection, Data, Opened
from socketlab.inspector.keylog_file import KeyLogFile
from socketlab.inspector.proxy import Proxy
from socketlab.inspector.recording import read_recording
from socketlab.inspector.view import render, to_json_line
from socketlab.protocol import (
    E2EKeys,
    E2EMessage,
    E2EWhisper,
    Hello,
    KeyLogWriter,
    Lookup,
    Message,
    ServerHello,
    UserKey,
    Welcome,
    Whisper,
    accept_user_key,
    encode_frame,
    encode_message,
    seal_whisper,
)
from socketlab.server.app import ChatServer
from tests.server.server_helpers import RawClient

SECRET = "the vault code is 4711"
PLAIN = "an old-style whisper"
TIMEOUT = 5.0


def logged_in(address, name: str, keylog: Path, e2e: E2EKeys | None) -> RawClient:
    """A protocol-level client that logs its keys the way a real client does."""
    client = RawClient(address)
    client.handshake()
    writer = KeyLogWriter(keylog)
    writer.write(client.conn.client_key, client.conn.session_key)
    if e2e is None:
        client.login(name)
    else:
        writer.write_e2e(e2e.public, e2e.secret_bytes)
        client.send(e2e.login(name))
        client.expect(Welcome)
    return client


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """A recorded chat: alice and bob (e2e) whisper end to end, both see it; alice also
    whispers the old way. Returns the recording and each party's key log."""
    tmp = tmp_path_factory.mktemp("e2e")
    logs = {who: tmp / f"{who}.keys" for who in ("server", "alice", "bob")}
    recording = tmp / "session.jsonl"
    alice_keys, bob_keys = E2EKeys(SigningKey.generate()), E2EKeys(SigningKey.generate())
    with ChatServer("127.0.0.1", 0, keylog=logs["server"]) as server, \
            Proxy("127.0.0.1", 0, server.address, record=recording) as proxy:
        alice = logged_in(proxy.address, "alice", logs["alice"], alice_keys)
        bob = logged_in(proxy.address, "bob", logs["bob"], bob_keys)
        alice.send(Lookup("bob"))
        peer = accept_user_key(alice.expect(UserKey), None, "127.0.0.1", server.address[1])
        alice.send(seal_whisper(alice_keys.secret, peer.key, "alice", peer.name, SECRET))
        bob.expect(E2EMessage)
        alice.expect(E2EMessage)
        alice.send(Whisper("bob", PLAIN))
        bob.expect(Message, text=PLAIN)
        alice.close()
        bob.close()
        deadline = time.monotonic() + TIMEOUT
        while sum(isinstance(e, Closed) for e in proxy.events()) < 2:
            assert time.monotonic() < deadline, "the proxy never saw both connections close"
            time.sleep(0.01)
    return recording, logs


def decoded(recording: Path, keylog: Path) -> list[Frame]:
    decoder = SessionDecoder(KeyLogFile(keylog))
    items = [item for event in read_recording(recording) for item in decoder.add(event)]
    return [item for item in items if isinstance(item, Frame)]


def e2e_frames(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if any(isinstance(m, (E2EWhisper, E2EMessage)) for m in f.messages)]


def shown(frames: list[Frame]) -> str:
    """Everything a reader sees: the side-by-side view and the JSON lines."""
    return "\n".join([*render(frames, width=400), *(to_json_line(f) for f in frames)])


def test_with_the_servers_key_log_the_whisper_is_ciphertext(session):
    recording, logs = session
    assert SECRET.encode() not in recording.read_bytes()
    frames = decoded(recording, logs["server"])
    # The transport opens: every sealed frame is read, the old-style whisper in clear...
    assert all(f.messages for f in frames)
    assert PLAIN in shown(frames)
    # ...but the end-to-end whisper, its two deliveries included, stays a box.
    boxes = e2e_frames(frames)
    assert [m.TYPE for f in boxes for m in f.messages] == \
        ["e2e_whisper", "e2e_message", "e2e_message"]
    for frame in boxes:
        (msg,) = frame.messages
        assert isinstance(msg, (E2EWhisper, E2EMessage))
        assert f"end-to-end: {len(msg.box)} bytes, the server cannot read it" in frame.note
    assert SECRET not in shown(frames)


def test_with_a_clients_key_log_its_whispers_open_marked_end_to_end(session):
    recording, logs = session
    frames = decoded(recording, logs["alice"])
    # Alice's connection: her whisper and her own copy open. Bob's connection has no
    # transport key in her log, so nothing of it is read at all.
    boxes = e2e_frames(frames)
    assert [m.TYPE for f in boxes for m in f.messages] == ["e2e_whisper", "e2e_message"]
    for frame in boxes:
        assert ("end-to-end whisper alice → bob, opened with the client's e2e key "
                f'(SOCKETLAB_E2E): "{SECRET}"') in frame.note
    assert [f for f in frames if f.kind == "sealed" and not f.messages]
    assert shown(frames).count(SECRET) == 2 * 2  # two frames, each in the view and in JSON


def test_the_recipients_key_log_opens_what_it_received(session):
    recording, logs = session
    boxes = e2e_frames(decoded(recording, logs["bob"]))
    (frame,) = boxes
    assert isinstance(frame.messages[0], E2EMessage)
    assert f'alice → bob, opened with the client\'s e2e key (SOCKETLAB_E2E): "{SECRET}"' \
        in frame.note


def test_the_read_command_shows_the_same(session):
    recording, logs = session
    for keylog, secret_shown in ((logs["server"], False), (logs["alice"], True)):
        out = subprocess.run(
            [sys.executable, "-m", "socketlab", "read", str(recording), "--keylog", str(keylog),
             "--json"], capture_output=True, text=True, timeout=60, check=True).stdout
        notes = [json.loads(line).get("note", "") for line in out.splitlines()]
        assert sum("the server cannot read it" in n for n in notes) == (0 if secret_shown else 3)
        assert (SECRET in out) is secret_shown


def plain_session(*messages) -> list:
    """Stream events of a plain-mode session: the handshake, then ``(direction, msg)``."""
    conn = Connection(("127.0.0.1", 50000), ("127.0.0.1", 7777), 0)
    frames = [("c2s", encode_frame(encode_message(Hello("plain")))),
              ("s2c", encode_frame(encode_message(ServerHello("plain"))))]
    frames += [(direction, encode_frame(encode_message(msg))) for direction, msg in messages]
    offsets = {"c2s": 0, "s2c": 0}
    events: list = [Opened(conn, 0.0, True)]
    for i, (direction, wire) in enumerate(frames):
        events.append(Data(conn, direction, offsets[direction], wire, float(i)))
        offsets[direction] += len(wire)
    return events


def notes_with(e2e_keys, *messages) -> list[str]:
    decoder = SessionDecoder(None, e2e_keys=e2e_keys)
    return [item.note for event in plain_session(*messages) for item in decoder.add(event)
            if isinstance(item, Frame) and isinstance(item.messages[0], E2EMessage)]


def test_a_redirected_or_tampered_box_is_flagged_and_its_text_never_shown():
    alice, bob = E2EKeys(SigningKey.generate()), E2EKeys(SigningKey.generate())
    a = alice.bundle("alice")
    to_carol = seal_whisper(alice.secret, bob.public, "alice", "carol", SECRET)
    redirected = E2EMessage("alice", "bob", 1, a.key, a.identity, a.signature, to_carol.nonce,
                            to_carol.box)
    box = redirected.box
    flipped = dataclasses.replace(redirected, box=box[:-1] + bytes([box[-1] ^ 1]))
    keys = {bob.public: bob.secret_bytes}
    (note,) = notes_with(keys, ("c2s", bob.login("bob")), ("s2c", redirected))
    assert "alice → carol" in note and "e2e_misrouted" in note and SECRET not in note
    (note,) = notes_with(keys, ("c2s", bob.login("bob")), ("s2c", flipped))
    assert "does not open it (e2e_decrypt_failed)" in note
    (note,) = notes_with(None, ("c2s", bob.login("bob")), ("s2c", redirected))
    assert note == f"end-to-end: {len(redirected.box)} bytes, the server cannot read it"

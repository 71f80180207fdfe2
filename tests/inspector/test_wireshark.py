"""The Wireshark dissector, run for real by tshark on a capture of the kit's own chat.

The oracle is the inspector: every frame it finds in the pcap (through
protocol/) must be a frame tshark shows with the same fields, also when each
frame is cut across many TCP segments or several share one segment. End-to-end
whispers show with their names, keys and box, and the box stays a box.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from socketlab.client import ChatClient
from socketlab.client.events import Whispered
from socketlab.inspector.decode import Frame
from socketlab.inspector.events import Data, Event
from socketlab.inspector.keylog_file import KeyLogFile
from socketlab.inspector.pipeline import read_pcap
from socketlab.inspector.proxy import Proxy
from socketlab.inspector.synth import write_pcap
from socketlab.inspector.wireshark import DISSECTOR, plugin_folder
from socketlab.protocol import E2EMessage, E2EWhisper, Error, Login, Lookup, Message, UserKey
from socketlab.server import ChatServer

SECRET = "the vault code is 4711"
OLD_STYLE = "an old-style whisper"
FIELDS = ("socketlab.length", "socketlab.type", "socketlab.nonce.direction",
          "socketlab.nonce.counter", "socketlab.ciphertext.length")


def _chat(server: ChatServer) -> list[Event]:
    """A class chat through the proxy: two encrypted sessions, one plaintext, a whisper."""
    with Proxy("127.0.0.1", 0, server.address) as proxy:
        clients = [ChatClient(*proxy.address, mode=mode, timeout=10)
                   for mode in ("box", "box", "plain")]
        try:
            for client, name in zip(clients, ("alice", "bob", "eve"), strict=True):
                client.connect()
                client.login(name)
            alice, bob, eve = clients
            alice.say("hello, class")
            alice.whisper("bob", "meet me after the lecture")
            eve.say("in plaintext")
            _wait(bob, lambda e: isinstance(e, Message) and e.sender == "eve")
        finally:
            for client in clients:
                client.close()
    return list(proxy.events())


def _e2e_chat(server: ChatServer, home: Path) -> tuple[list[Event], dict[str, str]]:
    """Alice and bob (plain sessions) and dave (box) whisper end to end; carol's client
    has no e2e key, so bob's whisper to her is an old one. Returns the events and each
    e2e user's key in hex."""
    users = (("alice", "plain", True), ("bob", "plain", True), ("carol", "plain", False),
             ("dave", "box", True))
    with Proxy("127.0.0.1", 0, server.address) as proxy:
        clients = {name: ChatClient(*proxy.address, mode=mode, timeout=10, e2e=e2e,
                                    home=home / name) for name, mode, e2e in users}
        try:
            for name, client in clients.items():
                client.connect()
                client.login(name)
            alice, bob, carol, dave = clients.values()
            alice.whisper("bob", SECRET)
            _wait(bob, lambda e: isinstance(e, Whispered) and e.text == SECRET)
            alice.whisper("dave", SECRET)
            _wait(dave, lambda e: isinstance(e, Whispered) and e.text == SECRET)
            bob.whisper("carol", OLD_STYLE)
            _wait(carol, lambda e: isinstance(e, Message) and e.text == OLD_STYLE)
            keys = {name: client.e2e.public.hex() for name, client in clients.items()
                    if client.e2e is not None}
        finally:
            for client in clients.values():
                client.close()
    return list(proxy.events()), keys


def _wait(client: ChatClient, match: Callable[[object], bool]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if match(client.events.get(timeout=0.1)):
                return
        except queue.Empty:
            continue
    pytest.fail("the chat did not finish")


def _split(events: Iterable[Event], size: int) -> list[Event]:
    """Every chunk cut into segments of ``size`` bytes (frames span many segments)."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, Data):
            out += [Data(event.conn, event.direction, event.offset + i,
                         event.data[i : i + size], event.ts)
                    for i in range(0, len(event.data), size)]
        else:
            out.append(event)
    return out


def _merge(events: Iterable[Event]) -> list[Event]:
    """Consecutive chunks of one direction in one segment (several frames per segment)."""
    out: list[Event] = []
    for event in events:
        last = out[-1] if out else None
        if (isinstance(event, Data) and isinstance(last, Data) and last.conn == event.conn
                and last.direction == event.direction):
            out[-1] = Data(last.conn, last.direction, last.offset, last.data + event.data,
                           last.ts)
        else:
            out.append(event)
    return out


def _tshark(*args: str) -> str:
    done = subprocess.run(["tshark", "-X", f"lua_script:{DISSECTOR}", *args],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Lua: Error" not in done.stderr, done.stderr
    return done.stdout


def _shown(pcap: Path) -> tuple[Counter[int], Counter[str], Counter[tuple[str, int, int]]]:
    """What tshark shows: body lengths, plaintext types, sealed (direction, counter, length)."""
    lengths: Counter[int] = Counter()
    types: Counter[str] = Counter()
    sealed: Counter[tuple[str, int, int]] = Counter()
    args = [x for name in FIELDS for x in ("-e", name)]
    for line in _tshark("-r", str(pcap), "-Y", "socketlab", "-T", "fields", *args).splitlines():
        length, kinds, directions, counters, sizes = (
            [v for v in column.split(",") if v] for column in line.split("\t"))
        lengths.update(int(v) for v in length)
        types.update(kinds)
        sealed.update((chr(int(d, 16)), int(c), int(n))
                      for d, c, n in zip(directions, counters, sizes, strict=True))
    return lengths, types, sealed


def _expected(pcap: Path) -> tuple[Counter[int], Counter[str], Counter[tuple[str, int, int]]]:
    """The same, as the inspector (through protocol/) reads the pcap without keys."""
    frames = [f for f in read_pcap(pcap, None) if isinstance(f, Frame)]
    lengths = Counter(len(f.body) for f in frames)
    types = Counter(m.TYPE for f in frames if f.kind == "plain" for m in f.messages)
    sealed = Counter((f.sealed.direction[0].upper(), f.sealed.counter, len(f.sealed.ciphertext))
                     for f in frames if f.sealed is not None)
    return lengths, types, sealed


@pytest.mark.needs_tool("tshark")
@pytest.mark.parametrize("cut", ["as recorded", "5-byte segments", "merged segments"])
def test_tshark_shows_every_frame_with_its_fields(
        make_server: Callable[..., ChatServer], tmp_path: Path, cut: str) -> None:
    events = _chat(make_server(allow_plaintext=True))
    events = {"as recorded": events, "5-byte segments": _split(events, 5),
              "merged segments": _merge(events)}[cut]
    pcap = tmp_path / "chat.pcap"
    write_pcap(pcap, events)
    lengths, types, sealed = _shown(pcap)
    want_lengths, want_types, want_sealed = _expected(pcap)
    assert sum(want_lengths.values()) >= 20 and want_sealed and want_types  # a real session
    assert types["hello"] == types["server_hello"] == 3
    assert {"login", "welcome", "say", "message"} <= set(types)  # eve's plain session
    assert (lengths, types, sealed) == (want_lengths, want_types, want_sealed)


@pytest.mark.needs_tool("tshark")
def test_tshark_verbose_view_names_the_handshake_and_the_nonce(
        make_server: Callable[..., ChatServer], tmp_path: Path) -> None:
    pcap = tmp_path / "chat.pcap"
    write_pcap(pcap, _split(_chat(make_server(allow_plaintext=True)), 7))
    verbose = _tshark("-r", str(pcap), "-V", "-Y", "socketlab")
    for line in ("Message type: hello", "Mode: box", "Ephemeral X25519 key: ",
                 "Message type: server_hello", "Mode: plain", "JavaScript Object Notation",
                 "Direction: C: client to server (0x43)", "Direction: S: server to client (0x53)",
                 "Counter: 0", "MAC (Poly1305): ", "Ciphertext length: ",
                 "Padding (zero): 000000000000000000000000000000"):
        assert line in verbose, line
    assert "Expert Info" not in verbose  # nothing malformed in the kit's own traffic
    # The whisper went only to box sessions; eve's plain session shows in the clear.
    assert "meet me after the lecture" not in verbose and '"text":"in plaintext"' in verbose


def _box(size: int) -> str:
    return f"end-to-end: {size} bytes, the server cannot read it"


def _described(pcap: Path) -> Counter[str]:
    """What the Info column should say of each name and e2e message the inspector finds
    in plaintext (through protocol/, without keys)."""
    said: Counter[str] = Counter()
    for frame in read_pcap(pcap, None):
        if not isinstance(frame, Frame) or frame.kind != "plain":
            continue
        for m in frame.messages:
            if isinstance(m, Login) and m.e2e_key is not None:
                said[f"login {m.name}, with an end-to-end key"] += 1
            elif isinstance(m, Lookup | UserKey):
                said[f"{m.TYPE} {m.name}"] += 1
            elif isinstance(m, E2EWhisper):
                said[f"e2e_whisper to {m.to}, {_box(len(m.box))}"] += 1
            elif isinstance(m, E2EMessage):
                said[f"e2e_message {m.sender} \N{RIGHTWARDS ARROW} {m.to}, {_box(len(m.box))}"] += 1
            elif isinstance(m, Error):
                said[f"error {m.code}"] += 1
    return said


@pytest.mark.needs_tool("tshark")
@pytest.mark.parametrize("cut", ["as recorded", "5-byte segments"])
def test_tshark_shows_end_to_end_whispers_as_boxes_it_cannot_read(
        make_server: Callable[..., ChatServer], tmp_path: Path, cut: str) -> None:
    server_keys = tmp_path / "server.keys"
    events, keys = _e2e_chat(make_server(allow_plaintext=True, keylog=server_keys), tmp_path)
    pcap = tmp_path / "e2e.pcap"
    write_pcap(pcap, events if cut == "as recorded" else _split(events, 5))
    fields = _tshark("-r", str(pcap), "-Y", "socketlab", "-T", "fields", "-e", "_ws.col.Info",
                     "-e", "socketlab.e2e.key", "-e", "socketlab.error.code")
    info = "\n".join(line.split("\t")[0] for line in fields.splitlines())
    # Alice's whisper to bob: a box as long as the inner plus the MAC, and nothing else.
    inner = json.dumps({"from": "alice", "to": "bob", "text": SECRET}, separators=(",", ":"))
    box = _box(len(inner.encode()) + 16)
    assert info.count(f"e2e_whisper to bob, {box}") == 1
    assert info.count(f"e2e_message alice \N{RIGHTWARDS ARROW} bob, {box}") == 2  # bob, alice
    # Dave's session is sealed: only alice's side of her whisper to him shows.
    assert info.count("e2e_whisper to dave, end-to-end: ") == 1
    assert info.count("e2e_message alice \N{RIGHTWARDS ARROW} dave, end-to-end: ") == 1
    for said in ("login alice, with an end-to-end key", "login bob, with an end-to-end key",
                 "lookup bob", "user_key bob", "lookup dave", "user_key dave", "lookup carol",
                 "error no_e2e_key"):
        assert info.count(said) == 1, said
    assert "login carol, with" not in info and "login carol" in info
    described = _described(pcap)
    assert all(info.count(said) == n for said, n in described.items()), (described, info)
    shown_keys = {k for line in fields.splitlines() for k in line.split("\t")[1].split(",") if k}
    assert shown_keys == set(keys.values())  # dave's only from the user_key alice was given
    verbose = _tshark("-r", str(pcap), "-V", "-Y", "socketlab")
    for line in (f"Box: {box}", f"Box length: {len(inner.encode()) + 16}", "Box nonce (random): ",
                 f"End-to-end X25519 key: {keys['alice']}", "User identity (Ed25519): ",
                 "Bundle signature: ", "To: bob", "From: alice", "Name: dave",
                 "Error code: no_e2e_key"):
        assert line in verbose, line
    assert "Expert Info" not in verbose
    # The whisper's text is nowhere; the old whisper, in a plain session, is in the clear.
    assert SECRET not in fields + verbose and f'"text":"{OLD_STYLE}"' in verbose
    # The server's key log opens dave's session for the inspector, never the boxes in it.
    frames = [f for f in read_pcap(pcap, KeyLogFile(server_keys)) if isinstance(f, Frame)]
    sealed = [m for f in frames if f.sealed is not None for m in f.messages]
    assert any(isinstance(m, E2EMessage) for m in sealed)
    assert not any(SECRET in repr(f) for f in frames)


def test_socketlab_wireshark_says_where_the_dissector_goes() -> None:
    done = subprocess.run([sys.executable, "-m", "socketlab", "wireshark"], capture_output=True,
                          text=True, timeout=30, check=True)
    assert f"the dissector:        {DISSECTOR}\n" in done.stdout
    assert f"Wireshark loads from: {plugin_folder()}\n" in done.stdout
    assert DISSECTOR.is_file() and DISSECTOR.read_text(encoding="utf-8").startswith("-- ")


def test_plugin_folder_per_os(tmp_path: Path) -> None:
    windows = plugin_folder("win32", {"APPDATA": str(tmp_path / "Roaming")}, tmp_path)
    assert windows == tmp_path / "Roaming" / "Wireshark" / "plugins"
    for unix in ("linux", "darwin"):
        assert plugin_folder(unix, os.environ, tmp_path) == \
            tmp_path / ".local" / "lib" / "wireshark" / "plugins"

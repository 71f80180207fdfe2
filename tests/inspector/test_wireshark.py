"""The Wireshark dissector, run for real by tshark on a capture of the kit's own chat.

The oracle is the inspector: every frame it finds in the pcap (through
protocol/) must be a frame tshark shows with the same fields, also when each
frame is cut across many TCP segments or several share one segment.
"""

from __future__ import annotations

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
from socketlab.inspector.decode import Frame
from socketlab.inspector.events import Data, Event
from socketlab.inspector.pipeline import read_pcap
from socketlab.inspector.proxy import Proxy
from socketlab.inspector.synth import write_pcap
from socketlab.inspector.wireshark import DISSECTOR, plugin_folder
from socketlab.protocol import Message
from socketlab.server import ChatServer

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

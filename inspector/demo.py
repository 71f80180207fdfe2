"""The main job in one command: a chat, watched on the wire, explained.

``socketlab demo`` starts a server (with a key log and a trace),
runs a scripted class conversation (alice, bob, carol; a duplicate "Alice"
refused; a whisper; a plaintext session for contrast), captures it — sniffing
loopback where it may, else through the proxy, saying which — prints the
side-by-side view of the moments that matter, and writes the full view, the
charts, the pcap and a one-page HTML report. Everything runs in this process
and is stopped before it returns: no process is left behind.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from nacl.signing import SigningKey

from socketlab.client.chat_client import ChatClient, ChatError
from socketlab.protocol import Message, PinStore, read_keylog
from socketlab.server.app import ChatServer

from . import charts
from .chart_inputs import connections, frames_of, ladder_events, message_sizes, plain_and_cipher
from .decode import Decoded, Frame
from .report import ImageSection, TextSection, write_report
from .tap import Tap, open_tap
from .trace_file import read_trace
from .view import render

log = logging.getLogger(__name__)

WAIT = 10.0  # seconds a scripted step may take before the demo gives up


@dataclass(frozen=True)
class DemoResult:
    out: Path
    method: str  # "sniff" or "proxy"
    items: list[Decoded]
    files: dict[str, Path]
    seconds: float


def _wait_for(client: ChatClient, test: Callable[[object], bool], what: str) -> object:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            event = client.events.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            continue
        if test(event):
            return event
    raise TimeoutError(f"the demo waited {WAIT:.0f} s for {what}")


def _script(port: int, out: Path, say: Callable[[str], None]) -> None:
    """The scripted conversation; every client is closed before it returns."""
    pins = PinStore(out / "known_servers")

    def client(name: str, mode: str = "box") -> ChatClient:
        chat = ChatClient("127.0.0.1", port, mode=mode, pins=pins,
                          trace=out / f"trace-{name}.jsonl")
        chat.connect()
        chat.login(name)
        say(f"  {name} joined ({'encrypted' if mode == 'box' else 'PLAINTEXT'})")
        return chat

    clients = []
    try:
        alice, bob, carol = (client(n) for n in ("alice", "bob", "carol"))
        clients += [alice, bob, carol]
        copycat = ChatClient("127.0.0.1", port, pins=pins)
        clients.append(copycat)
        copycat.connect()
        try:
            copycat.login("Alice")
        except ChatError as exc:
            say(f"  a fourth client asked for 'Alice' and was refused: {exc.code}")
        copycat.close()
        alice.say("hello, class!")
        bob.say("hi alice, hi carol")
        alice.whisper("bob", "meet me after the lecture")
        say("  alice said hello; bob answered; alice whispered to bob")
        _wait_for(bob, lambda e: isinstance(e, Message) and e.to == "bob", "bob's whisper")
        eve = client("eve", mode="plain")
        clients.append(eve)
        eve.say("this line travels in plaintext")
        _wait_for(carol, lambda e: isinstance(e, Message) and e.sender == "eve", "eve's line")
        say("  eve (plaintext session) said a line; carol received it")
    finally:
        for chat in reversed(clients):
            chat.close()


def _highlights(items: list[Decoded]) -> list[Decoded]:
    """The frames worth a student's first look: the handshake, the whisper, plaintext."""
    picked: list[Decoded] = []
    for item in items:
        if not isinstance(item, Frame):
            continue
        kinds = {m.TYPE for m in item.messages}
        if (kinds & {"hello", "server_hello"} and item.conn == items[0].conn) or \
           "whisper" in kinds or ("say" in kinds and item.kind == "plain"):
            picked.append(item)
    return picked


def _charts(items: list[Decoded], traces: list[Path], out: Path) -> dict[str, Path]:
    frames = frames_of(items)
    files = {
        "threads": charts.save_png(charts.thread_timeline(read_trace(traces)),
                                   out / "threads.png"),
        "bytes": charts.save_png(charts.byte_histogram(*plain_and_cipher(frames)),
                                 out / "entropy.png"),
        "sizes": charts.save_png(charts.bytes_per_message(message_sizes(frames)),
                                 out / "sizes.png"),
    }
    alice = ladder_events(frames, connections(frames)[0])
    files["ladder"] = charts.save_png(charts.ladder(alice, client="alice", server="server"),
                                      out / "ladder.png")
    return files


def run_demo(out: Path, stream: TextIO, *, colour: bool = False,
             prefer: str = "sniff") -> DemoResult:
    """Run the whole demo into ``out`` and narrate it on ``stream``."""
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("keys.log", *[p.name for p in out.glob("trace-*.jsonl")]):
        (out / stale).unlink(missing_ok=True)

    def say(text: str) -> None:
        print(text, file=stream, flush=True)

    keylog = out / "keys.log"
    server = ChatServer("127.0.0.1", 0, allow_plaintext=True, identity=SigningKey.generate(),
                        keylog=keylog, trace=out / "trace-server.jsonl")
    server.start()
    try:
        say(f"server listening on 127.0.0.1:{server.address[1]} (key log: {keylog})")
        tap: Tap = open_tap(server.address[1], out / "capture.pcap", prefer=prefer)
        say(f"capturing with {tap.method}: {tap.explanation}")
        try:
            _script(tap.client_port, out, say)
        finally:
            tap.stop()
    finally:
        server.stop()
    keys = read_keylog(keylog)
    decoded = tap.decode(keys)
    without = tap.decode(None)
    files: dict[str, Path] = {}
    view_text = "\n".join(render(decoded))
    files["view"] = out / "view.txt"
    files["view"].write_text(view_text + "\n", encoding="utf-8")
    say("\n── what the wire carried (highlights; the full view is in view.txt) ──")
    for block in render(_highlights(decoded), colour=colour):
        say(block)
    hidden = sum(1 for i in without if isinstance(i, Frame) and i.kind == "sealed")
    wire = b"".join(i.wire for i in without if isinstance(i, Frame))
    say(f"\nwithout the key log, {hidden} frames are nothing but ciphertext. "
        "Searching every captured byte:")
    for text, whose in (("meet me after the lecture", "alice's whisper, encrypted"),
                        ("this line travels in plaintext", "eve's line, plaintext")):
        found = "FOUND" if text.encode() in wire else "not found"
        say(f"  {text!r:<34} ({whose}): {found}")
    files.update(_charts(decoded, sorted(out.glob("trace-*.jsonl")), out))
    if tap.pcap is not None:
        files["pcap"] = tap.pcap
    files["report"] = write_report(
        out,
        title="socketlab demo: a chat on the wire",
        sections=[
            TextSection("How this was captured", f"{tap.method}: {tap.explanation}"),
            TextSection("Highlights", "\n".join(render(_highlights(decoded)))),
            ImageSection("Threads at work", files["threads"]),
            ImageSection("Plaintext against ciphertext", files["bytes"]),
            ImageSection("Bytes per message, with and without encryption", files["sizes"]),
            ImageSection("One connection as a ladder diagram", files["ladder"]),
            TextSection("Every frame", view_text),
        ],
    )
    seconds = time.monotonic() - started
    say(f"\nwritten to {out}/ in {seconds:.1f} s:")
    for name, path in files.items():
        say(f"  {name:<8} {path}")
    return DemoResult(out, tap.method, decoded, files, seconds)

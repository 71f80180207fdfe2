"""The main job in one command: a chat, watched on the wire, explained.

``socketlab demo`` starts a server (with a key log and a trace),
runs a scripted class conversation (alice and bob with end-to-end whispers,
carol with an old client; a duplicate "Alice" refused; a whisper end to end
and one transport only; a plaintext session for contrast), captures it — sniffing
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
from socketlab.client.events import Whispered
from socketlab.protocol import Message, PinStore
from socketlab.server.app import ChatServer

from . import charts
from .chart_inputs import (
    client_name,
    connections,
    frames_of,
    ladder_events,
    message_sizes,
    plain_and_cipher,
)
from .decode import Decoded, Frame
from .demo_report import Capture, batch_frame, search, write_demo_report
from .keylog_file import KeyLogFile
from .tap import Tap, open_tap
from .trace_file import read_trace
from .view import render

log = logging.getLogger(__name__)

WAIT = 10.0  # seconds a scripted step may take before the demo gives up
E2E_SECRET = "meet me after the lecture"
TRANSPORT_SECRET = "carol, the answer is 42"
PLAIN_SECRET = "this line travels in plaintext"
SECRETS = (
    (E2E_SECRET, "alice's whisper to bob, end-to-end"),
    (TRANSPORT_SECRET, "alice's whisper to carol, transport only"),
    (PLAIN_SECRET, "eve's line, in a plaintext session"),
)


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

    def client(name: str, mode: str = "box", e2e: bool = False) -> ChatClient:
        chat = ChatClient("127.0.0.1", port, mode=mode, pins=pins, e2e=e2e,
                          home=out / f"home-{name}", keylog=out / f"{name}.keys",
                          trace=out / f"trace-{name}.jsonl")
        chat.connect()
        chat.login(name)
        how = "PLAINTEXT" if mode == "plain" else \
            "encrypted, end-to-end whispers" if e2e else "encrypted, an old client: no end-to-end"
        say(f"  {name} joined ({how})")
        return chat

    def whispered(chat: ChatClient, text: str) -> None:
        _wait_for(chat, lambda e: isinstance(e, (Whispered, Message)) and e.text == text,
                  f"{chat.name}'s whisper")

    clients = []
    try:
        alice, bob = client("alice", e2e=True), client("bob", e2e=True)
        carol = client("carol")
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
        alice.whisper("bob", E2E_SECRET)
        whispered(bob, E2E_SECRET)
        alice.whisper("carol", TRANSPORT_SECRET)
        whispered(carol, TRANSPORT_SECRET)
        say("  alice said hello; bob answered; alice whispered to bob (end-to-end) "
            "and to carol (transport only)")
        eve = client("eve", mode="plain")
        clients.append(eve)
        eve.say(PLAIN_SECRET)
        _wait_for(carol, lambda e: isinstance(e, Message) and e.sender == "eve", "eve's line")
        say("  eve (plaintext session) said a line; carol received it")
    finally:
        for chat in reversed(clients):
            chat.close()


def _highlights(items: list[Decoded]) -> list[Frame]:
    """The frames worth a student's first look: a handshake, the whispers, plaintext."""
    frames = frames_of(items)
    first = frames[0].conn if frames else None

    def worth_it(frame: Frame) -> bool:
        kinds = {m.TYPE for m in frame.messages}
        return bool((kinds & {"hello", "server_hello"} and frame.conn == first)
                    or kinds & {"whisper", "e2e_whisper"}
                    or ("say" in kinds and frame.kind == "plain"))

    return [f for f in frames if worth_it(f)]


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
    first = connections(frames)[0]
    who = client_name(frames, first)
    files["ladder"] = charts.save_png(
        charts.ladder(ladder_events(frames, first), client=who, server="server",
                      title=f"{who}'s connection, frame by frame"),
        out / "ladder.png")
    return files


def run_demo(out: Path, stream: TextIO, *, colour: bool = False,
             prefer: str = "sniff") -> DemoResult:
    """Run the whole demo into ``out`` and narrate it on ``stream``."""
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("keys.log", "known_servers", *[p.name for p in out.glob("*.keys")],
                  *[p.name for p in out.glob("trace-*.jsonl")]):
        (out / stale).unlink(missing_ok=True)

    def say(text: str) -> None:
        print(text, file=stream, flush=True)

    keylog = out / "keys.log"
    server = ChatServer("127.0.0.1", 0, allow_plaintext=True, identity=SigningKey.generate(),
                        keylog=keylog, trace=out / "trace-server.jsonl")
    server.start()
    port = server.address[1]
    try:
        say(f"server listening on 127.0.0.1:{port} (key log: {keylog})")
        tap: Tap = open_tap(port, out / "capture.pcap", prefer=prefer)
        say(f"capturing with {tap.method}: {tap.explanation}")
        try:
            _script(tap.client_port, out, say)
        finally:
            tap.stop()
    finally:
        server.stop()
    decoded = tap.decode(KeyLogFile(keylog))
    views = {name: tap.decode(KeyLogFile(out / f"{name}.keys")) for name in ("bob", "carol")}
    files: dict[str, Path] = {}
    view_text = "\n".join(render(decoded))
    files["view"] = out / "view.txt"
    files["view"].write_text(view_text + "\n", encoding="utf-8")
    say("\n── what the wire carried (highlights; the full view is in view.txt) ──")
    for block in render(_highlights(decoded), colour=colour):
        say(block)
    without = frames_of(tap.decode(None))
    hidden = sum(1 for f in without if f.kind == "sealed")
    say(f"\nwithout the key log, {hidden} frames are nothing but ciphertext. "
        "Searching every captured byte, then what the server's key log decrypts:")
    secrets = search(tap.events(), decoded, SECRETS)
    for secret in secrets:
        wire = "FOUND" if secret.on_the_wire else "not found"
        keys = "FOUND" if secret.with_server_keys else "not found"
        say(f"  {secret.text!r:<34} ({secret.how}): on the wire {wire}; "
            f"with the server's key log {keys}")
    files.update(_charts(decoded, sorted(out.glob("trace-*.jsonl")), out))
    if tap.pcap is not None:
        files["pcap"] = tap.pcap
    frames = frames_of(decoded)
    files["report"] = write_demo_report(
        out,
        capture=Capture(tap.method, tap.explanation, port, tap.pcap),
        decoded=decoded, views=views, highlights=_highlights(decoded), secrets=secrets,
        charts=files,
        ladder_example=batch_frame([f for f in frames if f.conn == connections(frames)[0]]),
    )
    seconds = time.monotonic() - started
    say(f"\nwritten to {out}/ in {seconds:.1f} s:")
    for name, path in files.items():
        say(f"  {name:<8} {path}")
    return DemoResult(out, tap.method, decoded, files, seconds)

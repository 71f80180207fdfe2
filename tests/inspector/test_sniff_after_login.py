"""The classroom's order: server, clients chatting, *then* "let's look at the wire".

`socketlab sniff` starts after alice and bob have logged in and chatted, so it
never sees a handshake. With the server's key log each later frame is still
decrypted (the session key is found by its MAC) and shown under its own
connection; without it, each frame is reported as sealed, with what to do.
`socketlab read` of the pcap the sniffer wrote says the same.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from socketlab.client.chat_client import ChatClient
from socketlab.protocol import Message, PinStore
from socketlab.server.app import ChatServer
from tests.inspector.view_lines import (
    assert_numbered_per_connection,
    frames_under_connections,
    json_frames,
)

pytestmark = pytest.mark.needs_root

BEFORE = "said before anyone sniffed"
FROM_ALICE, FROM_BOB, WHISPER = "alice, on the wire", "bob, on the wire", "bob whispers"
LATE = "sealed frames; the handshake happened before the capture started"
TIMEOUT = 10.0


def wait_for(client: ChatClient, text: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        event = client.events.get(timeout=deadline - time.monotonic())
        if isinstance(event, Message) and event.text == text:
            return
    raise AssertionError(f"{text!r} never arrived")


def start_sniff(port: int, *args: str) -> subprocess.Popen[str]:
    sniffer = subprocess.Popen([sys.executable, "-m", "socketlab", "sniff", "--port", str(port),
                                *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert sniffer.stderr is not None
    deadline = time.monotonic() + 20
    while "sniffing" not in (line := sniffer.stderr.readline()):
        assert line and time.monotonic() < deadline, "the sniffer did not start"
    return sniffer


def stop(sniffer: subprocess.Popen[str]) -> str:
    sniffer.send_signal(signal.SIGINT)
    out, err = sniffer.communicate(timeout=20)
    assert sniffer.returncode == 0 and "Traceback" not in err, err
    return out


def chat_then_sniff(tmp_path: Path) -> tuple[str, str, Path, Path]:
    """(sniff --keylog --json output, sniff output without a key log, its pcap, key log)."""
    keylog, pcap = tmp_path / "server.keys", tmp_path / "late.pcap"
    pins = PinStore(tmp_path / "pins")
    with ChatServer("127.0.0.1", 0, identity=SigningKey.generate(), keylog=keylog) as server:
        port = server.address[1]
        alice = ChatClient("127.0.0.1", port, pins=pins)
        bob = ChatClient("127.0.0.1", port, pins=pins)
        try:
            for client, name in ((alice, "alice"), (bob, "bob")):
                client.connect()
                client.login(name)
            alice.say(BEFORE)
            wait_for(bob, BEFORE)
            keyed = start_sniff(port, "--keylog", str(keylog), "--json", "--pcap", str(pcap))
            try:
                blind = start_sniff(port)
                try:
                    alice.say(FROM_ALICE)
                    wait_for(bob, FROM_ALICE)
                    bob.say(FROM_BOB)
                    wait_for(alice, FROM_BOB)
                    bob.whisper("alice", WHISPER)
                    wait_for(alice, WHISPER)
                    time.sleep(0.5)  # the capture polls every 100 ms
                finally:
                    blind_out = stop(blind)
            finally:
                keyed_out = stop(keyed)
        finally:
            alice.close()
            bob.close()
    return keyed_out, blind_out, pcap, keylog


def check_decrypted(rows: list[dict[str, Any]]) -> None:
    """Every frame decrypted with the key found for its connection, and attributed."""
    frames = json_frames(rows)
    assert len(frames) >= 8
    for frame in frames:
        assert frame["kind"] == "sealed" and frame["messages"], frame
        assert frame["number"] == frame["sealed"]["counter"] + 2  # as a whole capture numbers it
    late = [row["note"] for row in rows if LATE in row.get("note", "")]
    assert len(late) == 2 and all("Session key found" in note for note in late), late
    alice = _port_of(frames, "c2s", {"type": "say", "text": FROM_ALICE})
    bob = _port_of(frames, "c2s", {"type": "say", "text": FROM_BOB})
    assert alice != bob
    assert _port_of(frames, "c2s", {"type": "whisper", "to": "alice", "text": WHISPER}) == bob
    delivered = {frame["client"][1] for frame in frames if frame["direction"] == "s2c"
                 and any(m.get("text") == FROM_ALICE for m in frame["messages"])}
    assert delivered == {alice, bob}
    texts = {m.get("text") for frame in frames for m in frame["messages"]}
    assert {FROM_ALICE, FROM_BOB, WHISPER} <= texts and BEFORE not in texts


def _port_of(frames: list[dict[str, Any]], direction: str, message: dict[str, str]) -> int:
    (port,) = {frame["client"][1] for frame in frames if frame["direction"] == direction
               and message in frame["messages"]}
    return int(port)


def check_sealed_with_hint(text: str, frames: int) -> None:
    """Every frame shown as sealed, under its connection, with what to do about it."""
    shown = frames_under_connections(text)
    assert len(shown) == frames
    assert {(f.state, f.what) for f in shown} == {("encrypted", "?")}
    assert_numbered_per_connection(shown, first=None)
    for frame in shown:
        meaning = "".join(row.split("│ ", 1)[1] for row in frame.rows if "│ " in row)
        assert "handshake not captured: give --keylog, or reconnect a client" in meaning, frame
    hints = [line for line in text.splitlines() if LATE in line]
    assert len(hints) == len({f.port for f in shown}) == 2
    assert all("give the server's key log (--keylog FILE), or reconnect a client while "
               "sniffing" in line for line in hints)
    for secret in (FROM_ALICE, FROM_BOB, WHISPER):
        assert secret not in text


def socketlab(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "socketlab", *args], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout


def untimed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows without their capture times (a pcap keeps microseconds)."""
    return [{k: v for k, v in row.items() if k != "ts"} for row in rows]


def rows_of(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


def test_sniffing_after_the_clients_joined_finds_the_keys_or_says_what_to_do(tmp_path):
    keyed, blind, pcap, keylog = chat_then_sniff(tmp_path)
    rows = rows_of(keyed)
    check_decrypted(rows)
    check_sealed_with_hint(blind, len(json_frames(rows)))

    read_rows = rows_of(socketlab("read", str(pcap), "--keylog", str(keylog), "--json"))
    check_decrypted(read_rows)
    assert untimed(json_frames(read_rows)) == untimed(json_frames(rows))
    forced = rows_of(socketlab("read", str(pcap), "--keylog", str(keylog), "--json",
                               "--as", "socketlab"))
    assert forced == read_rows
    check_sealed_with_hint(socketlab("read", str(pcap)), len(json_frames(rows)))

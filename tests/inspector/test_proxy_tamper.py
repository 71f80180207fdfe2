"""The proxy's tamper modes against the real server and client: refused, never delivered.

The 1,000-flip measurement is ``python -m bench.tamper``; here a bounded
number of trials runs the same harness.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys

import pytest

from bench.tamper import EXPECTED, run_trials
from socketlab.client import ChatClient, ChatError, Disconnected
from socketlab.inspector.errors import ProxyError
from socketlab.inspector.events import Tampered
from socketlab.inspector.proxy import Proxy
from socketlab.inspector.recording import read_recording
from socketlab.inspector.tamper import FrameTamper
from socketlab.protocol import Error, encode_frame
from socketlab.server import ChatServer

TRIALS = {"flip": 50, "replay": 10, "reorder": 5, "reflect": 10}


@pytest.mark.parametrize("mode", list(EXPECTED))
def test_every_tampered_frame_is_refused_with_its_code_and_none_is_delivered(mode) -> None:
    tally = run_trials(mode, TRIALS[mode], seed=5)
    assert (tally.tried, tally.refused, tally.other) == (TRIALS[mode], TRIALS[mode], 0)
    assert tally.wrongly_delivered == 0


@pytest.mark.parametrize(("mode", "code"), [("reflect", "reflected"), ("flip", "decrypt_failed"),
                                            ("replay", "replayed")])
def test_the_client_refuses_too(server: ChatServer, mode: str, code: str) -> None:
    """Victim client, frame 1: its own login comes back (reflect), or the server's
    welcome arrives flipped or twice; the login fails with the protocol's code."""
    with Proxy(target=server.address, tamper=mode, frame=1, victim="client") as proxy:
        client = ChatClient(*proxy.address, timeout=10.0)
        client.connect()
        with pytest.raises(ChatError) as refused:
            client.login("carol")
        assert refused.value.code == code
        client.close()
    (tampered,) = [e for e in proxy.events() if isinstance(e, Tampered)]
    assert tampered.kind == mode and tampered.frame_no == 2
    assert tampered.direction == ("c2s" if mode == "reflect" else "s2c")


def test_what_was_done_is_recorded_and_shown(server: ChatServer, tmp_path) -> None:
    record = tmp_path / "flip.jsonl"
    with Proxy(target=server.address, tamper="flip", frame=2, seed=9, record=record) as proxy:
        client = ChatClient(*proxy.address, timeout=10.0)
        client.connect()
        client.login("dave")
        client.say("this line is flipped")
        answer, end = client.events.get(timeout=10.0), client.events.get(timeout=10.0)
        assert isinstance(answer, Error) and answer.code == "decrypt_failed"
        assert isinstance(end, Disconnected) and end.reason.startswith("decrypt_failed")
        client.close()
    (tampered,) = [e for e in read_recording(record) if isinstance(e, Tampered)]
    assert (tampered.direction, tampered.frame_no, tampered.kind) == ("c2s", 3, "flip")
    assert "the 2nd after the handshake" in tampered.what
    shown = subprocess.run([sys.executable, "-m", "socketlab", "read", str(record)],
                           capture_output=True, text=True, timeout=60, check=True).stdout
    assert f"[TAMPERED: flip] {tampered.what}" in shown


def frames(*bodies: bytes) -> list[bytes]:
    return [encode_frame(body) for body in bodies]


def test_reorder_swaps_two_frames_and_gives_back_a_lone_one_at_the_end() -> None:
    hello, one, two, three = frames(b"hello", b"one", b"two", b"three")
    tamper = FrameTamper("reorder", 1, "client", random.Random(0))
    stream = hello + one + two + three
    out = b"".join(tamper.feed(stream[i : i + 3]).forward for i in range(0, len(stream), 3))
    assert out + tamper.flush() == hello + two + one + three

    lonely = FrameTamper("reorder", 1, "client", random.Random(0))
    assert lonely.feed(hello + one).forward == hello
    assert lonely.flush() == one


def test_a_flip_changes_exactly_one_bit_of_the_body_and_repeats_with_the_seed() -> None:
    hello, body = frames(b"hello", bytes(64))
    flips = []
    for _ in range(2):
        out = FrameTamper("flip", 1, "client", random.Random(3)).feed(hello + body).forward
        flips.append(out)
        changed = [a ^ b for a, b in zip(out, hello + body, strict=True) if a != b]
        assert len(changed) == 1 and bin(changed[0]).count("1") == 1
        assert out[: len(hello) + 4] == hello + body[:4]  # the length is never touched
    assert flips[0] == flips[1]


def test_bytes_that_are_not_frames_pass_untouched() -> None:
    tamper = FrameTamper("flip", 1, "client", random.Random(0))
    assert tamper.feed(b"GET / HTTP/1.0\r\n\r\n").forward == b"GET / HTTP/1.0\r\n\r\n"
    assert tamper.feed(b"more").forward == b"more"


@pytest.mark.parametrize(("options", "says"), [
    ({"tamper": "smash"}, "tamper must be"), ({"tamper": "flip", "frame": 0}, "counts from 1"),
    ({"tamper": "flip", "victim": "both"}, "victim must be"),
    ({"tamper": "flip", "mitm": True}, "not both"),
])
def test_bad_tamper_options_are_refused(options, says) -> None:
    with pytest.raises(ProxyError, match=says) as caught:
        Proxy(target=("127.0.0.1", 9), **options)
    assert caught.value.code == "bad_option"


@pytest.mark.skipif(os.name == "nt", reason="stops the command with SIGTERM")
def test_the_command_flips_and_shows_it(server: ChatServer) -> None:
    host, port = server.address
    command = [sys.executable, "-m", "socketlab", "proxy", "--listen", "0",
               "--target", f"{host}:{port}", "--flip", "--frame", "2", "--seed", "4"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        assert "tampering: flip of frame 2 after the handshake, victim server" in banner, banner
        proxy_port = int(banner.split(" → ")[0].rsplit(":", 1)[1])
        client = ChatClient("127.0.0.1", proxy_port, timeout=10.0)
        client.connect()
        client.login("erin")
        client.say("flipped on the way")
        answer = client.events.get(timeout=10.0)
        assert isinstance(answer, Error) and answer.code == "decrypt_failed"
        client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10.0)
    assert proc.returncode == 0
    assert "[TAMPERED: flip] client → server frame #3 (the 2nd after the handshake): bit" in out

"""The proxy as a framing torture: recv-as-a-message fails every time, never by luck.

Each receiver here is the classic mistake, ``message = sock.recv(1024)``,
run for real through the proxy; a correct reader on the same stream still
gets every byte.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter

import pytest

from socketlab.inspector.errors import ProxyError
from socketlab.inspector.events import Data
from socketlab.inspector.proxy import Proxy
from tests.inspector.net_helpers import (
    TIMEOUT,
    echo_until_eof,
    length_prefixed,
    recv_exactly,
    serving,
)

TRIALS = 20
MESSAGE = length_prefixed(b"hello")  # 9 bytes, as lab 02 sends them


def naive_then_echo(firsts: list[bytes]):
    """A server that takes its first recv(1024) as the message (noting it), then
    reads the rest properly and echoes the whole message back."""

    def handle(sock: socket.socket) -> None:
        first = sock.recv(1024)
        if not first:
            return  # a connection that only checked the server is there
        firsts.append(first)
        whole = first + recv_exactly(sock, len(MESSAGE) - len(first))
        sock.sendall(whole)
        assert sock.recv(1) == b""

    return handle


def test_chunk_1_breaks_recv_as_a_message_every_time_both_ways() -> None:
    server_firsts: list[bytes] = []
    client_firsts: list[bytes] = []
    with serving(naive_then_echo(server_firsts), TRIALS) as target, \
            Proxy(target=target, chunk=1) as proxy:
        for _ in range(TRIALS):
            with socket.create_connection(proxy.address, timeout=TIMEOUT) as sock:
                sock.sendall(MESSAGE)  # one send of the whole message
                first = sock.recv(1024)
                client_firsts.append(first)
                assert first + recv_exactly(sock, len(MESSAGE) - len(first)) == MESSAGE
    assert len(server_firsts) == len(client_firsts) == TRIALS
    # Every naive receive got a part of the message, never the whole: 20 of 20 fail.
    assert all(len(first) < len(MESSAGE) for first in server_firsts), server_firsts
    assert all(len(first) < len(MESSAGE) for first in client_firsts), client_firsts
    # Byte by byte: each s2c delivery was one byte, with its own send.
    sizes = {len(e.data) for e in proxy.events() if isinstance(e, Data) and e.direction == "s2c"}
    assert sizes == {1}


def test_merge_puts_two_sends_into_one_recv_every_time() -> None:
    """Two messages sent apart arrive together: a recv-as-a-message receiver loses one."""
    firsts: list[bytes] = []
    second = length_prefixed(b"world")

    def naive(sock: socket.socket) -> None:
        firsts.append(sock.recv(1024))
        sock.sendall(b"ok")

    with serving(naive, TRIALS) as target, \
            Proxy(target=target, merge=2, hold=1.0, direction="c2s") as proxy:
        for _ in range(TRIALS):
            with socket.create_connection(proxy.address, timeout=TIMEOUT) as sock:
                sock.sendall(MESSAGE)
                # Two separate writes, as a chat client sends two lines. Should the proxy
                # read both at once, it waits for a second read until its hold time
                # (1 s) and delivers the two together all the same.
                time.sleep(0.01)
                sock.sendall(second)
                assert recv_exactly(sock, 2) == b"ok"
    assert firsts == [MESSAGE + second] * TRIALS


def test_merge_delivers_a_lone_message_after_its_hold_time() -> None:
    """A request that waits for its answer is not held forever."""
    with serving(echo_until_eof) as target, Proxy(target=target, merge=3, hold=0.05) as proxy, \
            socket.create_connection(proxy.address, timeout=TIMEOUT) as sock:
        started = time.monotonic()
        sock.sendall(MESSAGE)
        assert recv_exactly(sock, len(MESSAGE)) == MESSAGE
        assert time.monotonic() - started < TIMEOUT / 2
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1) == b""


def deliveries(seed: int, payload: bytes) -> list[int]:
    """The sizes of the pieces a chunk='random' proxy delivered to the client, of
    ``payload`` sent by the server with one send."""

    def send_payload(sock: socket.socket) -> None:
        sock.sendall(payload)
        assert sock.recv(1) == b""

    with serving(send_payload) as target, \
            Proxy(target=target, chunk="random", seed=seed, gap=0.0, direction="s2c") as proxy, \
            socket.create_connection(proxy.address, timeout=TIMEOUT) as sock:
        assert recv_exactly(sock, len(payload)) == payload
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1) == b""
    return [len(e.data) for e in proxy.events() if isinstance(e, Data) and e.direction == "s2c"]


def test_random_chunks_are_small_and_repeat_with_the_seed() -> None:
    payload = bytes(range(256))
    first = deliveries(7, payload)
    assert sum(first) == len(payload)
    assert set(first) <= set(range(1, 8)) and len(set(first)) > 3
    assert deliveries(7, payload) == first
    assert deliveries(8, payload) != first


@pytest.mark.parametrize(("options", "says"), [
    ({"chunk": 0}, "chunk must be"), ({"chunk": "big"}, "chunk must be"),
    ({"merge": 1}, "merge must be"), ({"direction": "up"}, "direction must be"),
])
def test_bad_torture_options_are_refused_with_a_code(options, says) -> None:
    with pytest.raises(ProxyError, match=says) as caught:
        Proxy(target=("127.0.0.1", 9), **options)
    assert caught.value.code == "bad_option"


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name == "nt",
                    reason="stops the command with SIGTERM")
def test_the_command_tortures_too() -> None:
    firsts: list[bytes] = []
    with serving(naive_then_echo(firsts), connections=2) as target:  # 1: check_target
        command = [sys.executable, "-m", "socketlab", "proxy", "--listen", "0",
                   "--target", f"{target[0]}:{target[1]}", "--chunk", "1", "--as", "raw"]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            assert proc.stderr is not None
            banner = proc.stderr.readline()
            assert "torturing c2s and s2c: chunk 1" in banner, banner
            port = int(banner.split(" → ")[0].rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
                sock.sendall(MESSAGE)
                first = sock.recv(1024)
                assert first + recv_exactly(sock, len(MESSAGE) - len(first)) == MESSAGE
                sock.shutdown(socket.SHUT_WR)
                assert sock.recv(1) == b""
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0
    assert len(firsts) == 1 and len(firsts[0]) < len(MESSAGE) and len(first) < len(MESSAGE)
    # The view shows the bytes as the client received them: one byte per send.
    titles = [line.split("] ", 1)[1] for line in out.splitlines() if line.startswith("[")]
    received = Counter(title.split("  ")[1] for title in titles
                       if title.startswith("server → client"))
    assert received == {"1 B at offset 0": 1, **{f"1 B at offset {i}": 1 for i in range(1, 9)}}

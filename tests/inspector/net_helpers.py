"""Small real servers on 127.0.0.1 for the proxy and view tests."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

TIMEOUT = 10.0


@contextmanager
def serving(handle: Callable[[socket.socket], None],
            connections: int = 1) -> Iterator[tuple[str, int]]:
    """A server on a free port running ``handle(sock)`` for each of ``connections``
    clients, one after another; yields its address, joins its thread on exit."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(connections):
                sock, _ = listener.accept()
                with sock:
                    sock.settimeout(TIMEOUT)
                    handle(sock)
        except OSError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert not thread.is_alive(), "the test server did not finish"
    assert not errors, f"the test server failed: {errors}"


def echo_until_eof(sock: socket.socket) -> None:
    """Lab 01's server: send back whatever arrives."""
    while data := sock.recv(4096):
        sock.sendall(data)


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    deadline = time.monotonic() + TIMEOUT
    while len(data) < size:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(data)} of {size} bytes within {TIMEOUT} s")
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError(f"EOF after {len(data)} of {size} bytes")
        data += chunk
    return bytes(data)


def length_prefixed(body: bytes) -> bytes:
    """Labs 02–03's frame, written by hand as a student would: 4-byte length, body."""
    return struct.pack(">I", len(body)) + body


def frame_echo_until_eof(sock: socket.socket) -> None:
    """Labs 02–03's server: read whole frames, answer each with an upper-cased copy."""
    while header := sock.recv(4, socket.MSG_WAITALL):
        (length,) = struct.unpack(">I", header)
        sock.sendall(length_prefixed(recv_exactly(sock, length).upper()))


def wait_until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.01)

"""Lab 02's fixtures: the student's code behind the inspector's proxy, which cuts and merges.

On loopback one send() almost always arrives as one recv(), so code that takes
a recv() for a message seems to work. The proxy (``socketlab.inspector.proxy``)
makes TCP behave as it may on any network, on purpose and every time:
``chunk=1`` delivers each byte with its own send, a few ms apart, so a recv()
returns one byte; ``merge=N`` delivers several writes with one send, so a
recv() returns several frames; ``chunk="random"`` cuts at seeded places.
"""

import functools
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest

from socketlab.inspector.proxy import Proxy
from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import FrameDecoder, ProtocolError
from socketlab.protocol import encode_frame as kit_frame

SEED = 2  # the proxy's random cuts: the same on every run


@pytest.fixture
def framing() -> ModuleType:
    return harness.load("framing.py")


@pytest.fixture
def client_module() -> ModuleType:
    return harness.load("message_client.py")


@contextmanager
def tortured(**torture: Any) -> Iterator[tuple[socket.socket, socket.socket]]:
    """A writer and a reader socket with the proxy between them, torturing writer → reader.

    ``torture`` are the proxy's options (``chunk``, ``merge``, ``gap`` …).
    """
    with harness.listening_socket() as listener, \
            Proxy(target=listener.getsockname(), direction="c2s", seed=SEED, **torture) as proxy:
        writer = harness.connect(proxy.address)
        listener.settimeout(3)
        reader, _address = listener.accept()
        with writer, reader:
            yield writer, reader


@pytest.fixture
def through_proxy() -> Callable[..., Any]:
    """``through_proxy(**torture)``: a (writer, reader) socket pair with the proxy between."""
    return tortured


@pytest.fixture
def read_frames(framing: ModuleType) -> Callable[..., list[Any]]:
    """``read_frames(reader, count, timeout=3)``: see ``read_with_limit``."""
    return functools.partial(read_with_limit, framing)


def read_with_limit(framing: ModuleType, reader: Any, count: int, timeout: float = 3.0) -> list[Any]:
    """What ``count`` calls of the student's ``reader.read_frame()`` return (with a time limit).

    A FrameError on good frames, or a read that never returns, fails the check with a hint.
    """
    def read_frame() -> list[Any]:
        return [reader.read_frame() for _frame in range(count)]

    try:
        return harness.call_with_timeout(read_frame, timeout=timeout)
    except framing.FrameError as error:
        raise AssertionError(_(
            "read_frame() raised FrameError on good frames: {error} — are the 4 length bytes "
            "read big-endian, and is the rest of the buffer kept? — README steps 2 and 3"
        ).format(error=error)) from None
    except AssertionError as error:
        raise AssertionError(_(
            "{error}, waiting for more bytes although {count} whole frame(s) had arrived: were "
            "the bytes after a frame (the next frames) dropped from self.buffer? — README "
            "steps 2 and 3").format(error=error, count=count)) from None


@pytest.fixture
def recv_frame() -> Callable[..., bytes | None]:
    """``recv_frame(sock)``: one frame read by the checks themselves (see ``read_one_frame``)."""
    return read_one_frame


def read_one_frame(sock: socket.socket, timeout: float = 3.0) -> bytes | None:
    """One frame read by the checks themselves; None when it did not come whole in time."""
    header = harness.recv_exactly(sock, 4, timeout)
    if len(header) < 4:
        return None
    length = int.from_bytes(header, "big")
    if not 0 < length <= 1 << 17:
        return header  # not a plausible frame: show the bytes as they came
    body = harness.recv_exactly(sock, length, timeout)
    return bytes(body) if len(body) == length else None


class Pieces:
    """A stand-in socket whose recv() hands out ``data`` a few bytes at a time, then b""."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size = data, size

    def recv(self, _bufsize: int) -> bytes:
        piece, self.data = self.data[:self.size], self.data[self.size:]
        return piece


def reader_problem() -> str | None:
    """What is wrong with the student's own FrameReader, tried without any network: frames
    handed out 1 byte, then 9 bytes (several frames) at a time. None when it reads them right.

    A check of the server or the client blames handle() or ask_all() only when it is not so.
    """
    framing = harness.load("framing.py")
    bodies = [b"one", b"two", b"three"]
    stream = b"".join(kit_frame(body) for body in bodies)
    for size in (1, 9):
        reader = framing.FrameReader(Pieces(stream, size))
        try:
            got = [harness.call_with_timeout(reader.read_frame, timeout=1) for _body in bodies]
        except Exception as error:  # noqa: BLE001 - any failure is the answer
            got = [f"{type(error).__name__}: {error}"]
        if got != bodies:
            return _("your FrameReader, given 3 frames {size} byte(s) per recv(), returned "
                     "{got!r} — fix read_frame() and take_frame() first (README steps 2 and 3)"
                     ).format(size=size, got=got)
    return None


# -- the student's server behind the proxy ------------------------------------------------

@contextmanager
def server_behind_proxy(**torture: Any) -> Iterator[tuple[str, int]]:
    """The student's ``serve()`` with the proxy in front (torturing what clients send)."""
    module = harness.load("message_server.py")
    with harness.student_server(module.serve) as address, \
            Proxy(target=address, direction="c2s", seed=SEED, **torture) as proxy:
        yield proxy.address


@pytest.fixture
def message_server() -> Callable[..., Any]:
    """``message_server(**torture)``: the student's server behind the proxy; yields its address."""
    return server_behind_proxy


# -- a server of the checks' own, for the student's client ---------------------------------

@pytest.fixture
def reference_server() -> Callable[..., Any]:
    """``reference_server(answer, **torture)``: see ``serve_reference``."""
    return serve_reference


@contextmanager
def serve_reference(answer: Callable[[int, bytes], bytes | None],
                    **torture: Any) -> Iterator[tuple[tuple[str, int], list[bytes]]]:
    """A one-connection server that answers each frame with ``answer(number, body)``
    (None: close instead), behind the proxy torturing what it sends back.

    Yields the address to connect to and the list of the frames it received.
    """
    received: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        with listener:
            conn, _address = listener.accept()
        decoder = FrameDecoder()
        with conn:
            try:
                while data := conn.recv(65536):
                    for body in decoder.feed(data):
                        received.append(body)
                        reply = answer(len(received), body)
                        if reply is None:
                            return
                        conn.sendall(kit_frame(reply))
            except (OSError, ProtocolError):
                return  # what the client sent is not frames: the check says so

    harness.checker_thread(run, name="reference-server")
    with Proxy(target=listener.getsockname(), direction="s2c", seed=SEED, **torture) as proxy:
        yield proxy.address, received

"""Lab 08's fixtures: your files, the kit's server as the honest server, and attackers.

The kit is the oracle: its ChatServer is the server your client talks to, its
ChatClient and PinStore check your server and your known_servers file, and
its proxy (``Proxy(mitm=True)``) is the man in the middle. ``ForgedServer``
is an attacker of the checks' own: it answers a hello with a server_hello
the checks made up (another key, a replayed signature...).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from nacl.signing import SigningKey

from socketlab.inspector.proxy import Proxy
from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import FrameDecoder, decode_message, encode_frame, encode_message
from socketlab.server.app import ChatServer

SERVE_THREAD = "student-serve"

WAIT = 3.0  # only a wrong answer makes a check wait this long


@contextlib.contextmanager
def student_server_joined(serve: Callable[[socket.socket], Any]) -> Iterator[tuple[str, int]]:
    """The student's ``serve(listener)`` in a thread; at the end the listener closes and the
    threads serving clients get (together) 2 s to finish, so what they raise on the way out
    is charged to this check, not the next."""
    before = set(threading.enumerate())
    with harness.student_server(serve, name=SERVE_THREAD) as address:
        yield address
    deadline = time.monotonic() + 2
    for thread in set(threading.enumerate()) - before:
        if thread.name != SERVE_THREAD and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture
def identity_module() -> ModuleType:
    return harness.load("identity.py")


@pytest.fixture
def pins_module() -> ModuleType:
    return harness.load("pins.py")


@pytest.fixture
def client_module() -> ModuleType:
    return harness.load("chat_client.py")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty folder for known_servers (never the real ~/.socketlab)."""
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def kit_server() -> Iterator[ChatServer]:
    """The kit's chat server (honest, with an identity of its own), on a free port."""
    with ChatServer("127.0.0.1", 0) as server:
        yield server


def code_of(error: BaseException) -> str:
    """The protocol code of what the student's code raised (any class with .code)."""
    return str(getattr(error, "code", type(error).__name__))


def refusal(function: Callable[[], Any], what: str) -> BaseException | None:
    """What ``function()`` raised (None if it returned), within WAIT seconds.

    The student's exception is caught inside the call, so an AssertionError out of
    call_with_timeout is always its own "did not return" (in whatever language)."""
    raised: list[BaseException] = []

    def attempt() -> None:
        try:
            function()
        except Exception as error:  # noqa: BLE001 - the student's code: any error is an answer
            raised.append(error)

    attempt.__name__ = what
    harness.call_with_timeout(attempt, timeout=WAIT + 2)
    if not raised:
        return None
    error = raised[0]
    if isinstance(error, NotImplementedError) and str(error).startswith("TODO"):
        raise AssertionError(harness.describe(error)) from None
    return error


def open_session(client_module: ModuleType, address: tuple[str, int], name: str,
                 **options: Any) -> Any:
    """Your ``ChatSession.connect(host, port, name, **options)``, within WAIT seconds."""
    def connect() -> Any:
        return client_module.ChatSession.connect(address[0], address[1], name, **options)

    try:
        return harness.call_with_timeout(connect, timeout=WAIT + 2)
    except AssertionError:
        raise
    except Exception as error:  # noqa: BLE001 - said in words for the student
        raise AssertionError(_(
            "ChatSession.connect to {host}:{port} as {name} failed: {error}"
        ).format(host=address[0], port=address[1], name=name,
                 error=harness.describe(error))) from None


def receive_type(session: Any, kind: str, why: str) -> dict[str, Any]:
    """The next message of type ``kind`` your session receives (others are skipped)."""
    seen = []
    for _attempt in range(20):
        msg = harness.call_with_timeout(session.receive, WAIT, timeout=WAIT + 2)
        if msg is None:
            break
        if msg.get("type") == kind:
            return dict(msg)
        seen.append(msg.get("type"))
    raise AssertionError(_("your client waited for {kind} and got {seen}: {why}").format(
        kind=kind, seen=seen or _("nothing"), why=why))


@contextlib.contextmanager
def proxy_on(port: int, target: tuple[str, int], **options: Any) -> Iterator[Proxy]:
    """The kit's proxy listening on 127.0.0.1:``port`` (0: a free one) in front of ``target``."""
    with Proxy("127.0.0.1", port, target, **options) as proxy:
        yield proxy


def server_hello_for(hello: bytes, identity: SigningKey) -> dict[str, Any]:
    """The fields of an honest server_hello signed by ``identity`` for the hello frame ``hello``."""
    from socketlab.protocol import ServerConnection

    conn = ServerConnection(identity)
    conn.receive_data(hello)
    (body,) = FrameDecoder().feed(conn.data_to_send())
    answer = decode_message(body)
    return {"key": answer.key, "identity": answer.identity, "signature": answer.signature}


class ForgedServer:
    """An impostor on 127.0.0.1:``port``: reads one hello, answers with ``forge(hello frame)``
    (a ServerHello the checks made), then records what the client sends after it (the
    first bytes are enough: it hangs up then, so a trusting client is not kept waiting)."""

    def __init__(self, port: int, forge: Callable[[bytes], Any]) -> None:
        self.listener = socket.create_server(("127.0.0.1", port))
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self.forge = forge
        self.hello: bytes = b""
        self.after_hello = bytearray()  # every byte the client sent after its hello
        self.failure: str | None = None
        self._thread = threading.Thread(target=self._serve, name="forged-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(WAIT + 2)
        try:
            conn, _address = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(WAIT)
            try:
                decoder = FrameDecoder()
                received = b""
                bodies: list[bytes] = []
                while not bodies:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    received += chunk
                    bodies = decoder.feed(chunk)
                self.hello = encode_frame(bodies[0])
                self.after_hello += received[len(self.hello):]
                conn.sendall(encode_frame(encode_message(self.forge(self.hello))))
                while not self.after_hello and (chunk := conn.recv(65536)):
                    self.after_hello += chunk  # the client trusted us: enough seen, hang up
            except TimeoutError:
                pass  # the client kept the connection open without sending: nothing to record
            except Exception as error:  # noqa: BLE001 - reported by the check
                self.failure = f"{type(error).__name__}: {error}"

    def close(self) -> None:
        self.listener.close()
        self._thread.join(WAIT + 3)


@pytest.fixture
def forged_server() -> Iterator[Callable[..., ForgedServer]]:
    """``forged_server(forge, port=0)``: a ForgedServer, closed at the end."""
    made: list[ForgedServer] = []

    def make(forge: Callable[[bytes], Any], port: int = 0) -> ForgedServer:
        server = ForgedServer(port, forge)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()

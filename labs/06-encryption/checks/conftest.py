"""Lab 06's fixtures: the student's server, and a box client and a box server of the checks' own.

The checks' own peers do the handshake with the kit's code (``socketlab.protocol``:
``ClientConnection`` checks the student's ``server_hello`` and its signature,
``ServerConnection`` the student's ``hello``), so a handshake that passes here
is the one docs/protocol.md section 4 describes. After the handshake they seal
and open the way this lab does: 24 random nonce bytes, then Box
(``crypto_box_easy_afternm``), and the kit's ``open_any_nonce``, which checks
the MAC. (The kit's own channel wants lab 07's counter nonces.)
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nacl.utils
import pytest
from nacl.bindings import crypto_box_easy_afternm
from nacl.signing import SigningKey

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.labs.language import N_
from socketlab.protocol import (
    ClientConnection,
    FrameDecoder,
    ServerConnection,
    SocketlabError,
    decode_message,
    encode_frame,
)
from socketlab.protocol.secure import open_any_nonce

SERVE_THREAD = "student-serve"
WAIT = 3.0  # how long a check waits for an answer: only a wrong program makes it wait this long
SEALED_AFTER = N_("after server_hello every frame is sealed, errors too")
A_CLIENT = N_("a client")  # the label of a client the check gave no name
# Low-order X25519 points: with any of them, the shared secret is all zeros (libsodium's list).
LOW_ORDER = {
    N_("all zeros"): bytes(32),
    "01 00 … 00": b"\x01" + bytes(31),
    N_("a point of order 8"): bytes.fromhex(
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    N_("another point of order 8"): bytes.fromhex(
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    "p - 1": bytes.fromhex(
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
}


def _slices(timeout: float) -> Iterator[None]:
    """Until ``timeout`` passes, or at once stop when a thread of the student's server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and harness.first_thread_exception() is None:
        yield


def seal(key: bytes, msg: dict[str, Any] | bytes) -> bytes:
    """``msg`` as this lab seals it: a random nonce, then Box over one inner frame."""
    body = msg if isinstance(msg, bytes) else encode(msg)
    nonce = nacl.utils.random(24)
    return nonce + crypto_box_easy_afternm(encode_frame(body), nonce, key)


def encode(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode()


def show(body: bytes) -> str:
    """A body for a hint: as text if it is text, else its first bytes."""
    try:
        return repr(body[:120].decode("utf-8"))
    except UnicodeDecodeError:
        return _("{size} bytes {start} …").format(size=len(body), start=body[:16].hex(" "))


class BoxClient:
    """A client of the checks' own: the kit's handshake, then this lab's sealed frames.

    ``recv()`` gives the server's messages as dicts; ``received`` keeps every
    sealed body it opened, with the message inside, in order.
    """

    def __init__(self, address: tuple[str, int], label: str = A_CLIENT) -> None:
        self.label = label
        self.sock = harness.connect(address)
        self.kit = ClientConnection("box")
        self.key: bytes | None = None  # the session key, once the handshake is done
        self._frames = FrameDecoder()
        self._pending: deque[dict[str, Any]] = deque()
        self._bodies: deque[bytes] = deque()  # frames read, not yet looked at
        self.received: list[tuple[bytes, dict[str, Any]]] = []  # (sealed body, its message)
        self.ended = False

    @property
    def who(self) -> str:
        """The label in the student's language: a name as it is, "a client" translated."""
        return _(self.label)

    # -- sending -------------------------------------------------------------------

    def send_plain(self, msg: dict[str, Any]) -> None:
        self.send_raw(encode_frame(encode(msg)))

    def send(self, msg: dict[str, Any]) -> None:
        assert self.key is not None, "hello() first"
        self.send_raw(encode_frame(seal(self.key, msg)))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    # -- the handshake -------------------------------------------------------------

    def hello(self) -> None:
        """A box hello; the server_hello is checked by the kit (fields, signature)."""
        self.send_raw(self.kit.hello())
        body = self._next_body(WAIT)
        if body is None:
            if self.ended:  # the server hung up: a thread of it that died says why
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_WR)
                harness.eventually(lambda: harness.first_thread_exception() is not None, 0.5)
            raise AssertionError(self._silence("server_hello"))
        if body[:1] != b"{":
            raise AssertionError(harness.why(_(
                "{label} sent a box hello; your answer {body} is not plaintext "
                "JSON: it looks sealed. server_hello goes out in plaintext (the client has no "
                "session key until it reads it): set client.channel only after sending it "
                "— README step 5").format(label=self.who, body=show(body))))
        try:
            answer = self.kit.receive_data(encode_frame(body))
        except SocketlabError as error:
            raise AssertionError(harness.why(_(
                "{label} sent a box hello; your answer {body} is not the "
                "server_hello of docs/protocol.md section 4: {code}: {message} "
                "— README step 5").format(label=self.who, body=show(body), code=error.code,
                                          message=error.message))) from None
        if answer and answer[0].TYPE == "error":
            raise AssertionError(harness.why(_(
                "{label} sent a good box hello and got {body}: a box hello with a "
                "fresh key is answered with server_hello — README step 5"
            ).format(label=self.who, body=show(body))))
        self.key = self.kit.session_key

    def login(self, name: str) -> dict[str, Any]:
        self.send({"type": "login", "name": name})
        return self.expect("welcome", _("{name} logged in (sealed) after the handshake"
                                        ).format(name=name))

    # -- receiving -----------------------------------------------------------------

    def _next_body(self, timeout: float) -> bytes | None:
        """The next frame's body as it came (plaintext or sealed); None on close or timeout."""
        while True:
            with contextlib.suppress(IndexError):
                return self._bodies.popleft()
            if self.ended or not self._read(timeout):
                return None

    def _read(self, timeout: float) -> bool:
        """Read once something came; False on close or when ``timeout`` passed."""
        self.sock.settimeout(0.05)
        for _slice in _slices(timeout):
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                data = b""
            if not data:
                self.ended = True
                return False
            try:
                self._bodies.extend(self._frames.feed(data))
            except SocketlabError as error:
                raise AssertionError(harness.why(_(
                    "{label} got bytes that are not a frame ({message}): every "
                    "frame is a 4-byte big-endian length, then the body"
                ).format(label=self.who, message=error.message))) from None
            if self._bodies:
                return True
        return False

    def recv(self, timeout: float = WAIT) -> dict[str, Any] | None:
        """The server's next message; None if it closed or sent nothing within ``timeout``."""
        if self._pending:
            return self._pending.popleft()
        body = self._next_body(timeout)
        return None if body is None else self._open(body)

    def _open(self, body: bytes) -> dict[str, Any]:
        if self.key is None:  # before the handshake: plaintext
            return self._check(body, body)
        try:
            inner = open_any_nonce(self.key, body)
        except SocketlabError as error:
            if body[:1] == b"{":
                raise AssertionError(harness.why(_(
                    "{label} got {body} in plaintext after the handshake: "
                    "{rule} — README step 7").format(
                        label=self.who, body=show(body), rule=_(SEALED_AFTER)))) from None
            raise AssertionError(harness.why(_(
                "{label} got a frame after the handshake that does not open with the "
                "session key ({code}): seal it as nonce (24) + MAC (16) + ciphertext, "
                "under session_key() — README steps 1, 2 and 7"
            ).format(label=self.who, code=error.code))) from None
        if len(inner) != 1:
            raise AssertionError(harness.why(_(
                "{label} opened a sealed frame holding {count} inner frames: seal() "
                "puts exactly one inner frame (length + body) inside — README step 2"
            ).format(label=self.who, count=len(inner))))
        msg = self._check(inner[0], inner[0])
        self.received.append((body, msg))
        return msg

    def _check(self, body: bytes, shown: bytes) -> dict[str, Any]:
        try:
            decode_message(body)
        except SocketlabError as error:
            raise AssertionError(harness.why(_(
                "your server sent {body}, which breaks the protocol: {message} "
                "(docs/protocol.md, section 6 has every message and its fields)"
            ).format(body=show(shown), message=error.message))) from None
        message: dict[str, Any] = json.loads(body)
        return message

    def expect(self, kind: str, why: str, timeout: float = WAIT) -> dict[str, Any]:
        """The next message, which must be of type ``kind``; else fail saying ``why``."""
        msg = self.recv(timeout)
        if msg is None and self.ended:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_WR)
            harness.eventually(lambda: harness.first_thread_exception() is not None, 0.5)
        if msg is None or msg.get("type") != kind:
            if msg is not None:
                got = json.dumps(msg)
            elif self.ended:
                got = _("nothing (the server closed the connection)")
            else:
                got = _("nothing") if harness.first_thread_exception() else \
                    _("nothing within {timeout:g} s").format(timeout=timeout)
            raise AssertionError(harness.why(_("{label} expected {kind}, got {got}: {why}").format(
                label=self.who, kind=kind, got=got, why=why)))
        return msg

    def expect_error(self, code: str, why: str) -> dict[str, Any]:
        msg = self.expect("error", _("the answer is error {code}; {why}").format(code=code, why=why))
        assert msg["code"] == code, harness.why(_(
            "{label} expected the error code {code!r}, got {got}: {why}"
        ).format(label=self.who, code=code, got=json.dumps(msg), why=why))
        return msg

    def _silence(self, kind: str) -> str:
        got = (_("the server closed the connection") if self.ended
               else _("nothing within {timeout:g} s").format(timeout=WAIT))
        return harness.why(_("{label} sent a box hello and got {got}, not {kind}: "
                             "server_hello goes out in plaintext, so set client.channel only "
                             "after sending it — README step 5"
                             ).format(label=self.who, got=got, kind=kind))

    def closed(self, timeout: float = WAIT) -> bool:
        """True when the server closes within ``timeout`` (what came before is kept)."""
        while not self.ended:
            body = self._next_body(timeout)
            if body is None:
                break
            self._pending.append(self._open(body))
        return self.ended

    def close(self) -> None:
        self.sock.close()


# -- the student's server ------------------------------------------------------------


@pytest.fixture
def keylog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$SOCKETLAB_KEYLOG for this check: the file the student's server writes keys to."""
    path = tmp_path / "keylog.txt"
    monkeypatch.setenv("SOCKETLAB_KEYLOG", str(path))
    return path


@pytest.fixture
def server_module(tmp_path: Path, keylog: Path):
    module = harness.load("chat_server.py")
    module.IDENTITY_FILE = tmp_path / "server_identity.key"  # never in the lab's folder
    return module


@pytest.fixture
def chat_server(server_module) -> Iterator[tuple[str, int]]:
    """The student's ``serve()`` on a fresh listener; its address.

    At the end the listener closes and the threads serving clients are given
    (together) 2 s to finish, so what they raise on the way out is reported
    here, not in the next check.
    """
    before = set(threading.enumerate())
    with harness.student_server(server_module.serve, name=SERVE_THREAD) as address:
        yield address
    deadline = time.monotonic() + 2
    for thread in set(threading.enumerate()) - before:
        if thread.name != SERVE_THREAD and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture
def connect(chat_server) -> Iterator[Callable[..., BoxClient]]:
    """``connect(label, address=None)``: a new box client (closed at the end)."""
    clients: list[BoxClient] = []

    def make(label: str = A_CLIENT, address: tuple[str, int] | None = None) -> BoxClient:
        client = BoxClient(address or chat_server, label)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def join(connect) -> Callable[..., BoxClient]:
    """``join(name, address=None)``: a box client that did the handshake and logged in."""
    def make(name: str, address: tuple[str, int] | None = None) -> BoxClient:
        client = connect(name, address)
        client.hello()
        client.login(name)
        return client

    return make


# -- a server of the checks' own, for the student's client ------------------------------


class ServerSide:
    """The checks' end of one connection from the student's client."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.kit = ServerConnection(SigningKey.generate())
        self.key: bytes | None = None
        self._frames = FrameDecoder()
        self._bodies: deque[bytes] = deque()
        conn.settimeout(WAIT)

    def body(self) -> bytes | None:
        while not self._bodies:
            data = self.conn.recv(65536)
            if not data:
                return None
            self._bodies.extend(self._frames.feed(data))
        return self._bodies.popleft()

    def handshake(self) -> None:
        """Read the client's hello and answer it as the kit's server does (box)."""
        body = self.body()
        if body is None:
            raise AssertionError(
                _("your client closed the connection without a hello — README step 8"))
        try:
            self.kit.receive_data(encode_frame(body))
        except SocketlabError as error:
            raise AssertionError(_(
                "your client's hello {body} was refused by the kit's server: "
                "{code}: {message} — README step 8"
            ).format(body=show(body), code=error.code, message=error.message)) from None
        self.conn.sendall(self.kit.data_to_send())
        self.key = self.kit.session_key

    def recv(self) -> dict[str, Any] | None:
        body = self.body()
        if body is None:
            return None
        assert self.key is not None
        try:
            inner = open_any_nonce(self.key, body)
        except SocketlabError:
            raise AssertionError(_(
                "your client sent {body} after the handshake, which does not open "
                "with the session key: seal it — README steps 2 and 8"
            ).format(body=show(body))) from None
        assert len(inner) == 1, _("your client sealed more than one inner frame — README step 2")
        msg: dict[str, Any] = json.loads(inner[0])
        return msg

    def send(self, msg: dict[str, Any]) -> None:
        assert self.key is not None
        self.conn.sendall(encode_frame(seal(self.key, msg)))

    def send_plain(self, msg: dict[str, Any]) -> None:
        self.conn.sendall(encode_frame(encode(msg)))


class KitServer:
    """Runs ``script(side)`` for each connection in a thread; keeps what a script raised."""

    def __init__(self, script: Callable[[ServerSide], None]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address: tuple[str, int] = self.listener.getsockname()
        self.script = script
        self.errors: list[str] = []
        self.done = threading.Event()
        threading.Thread(target=self._run, name="checks-server", daemon=True).start()

    def _run(self) -> None:
        try:
            conn, _address = self.listener.accept()
        except OSError:
            return
        with conn:
            try:
                self.script(ServerSide(conn))
            except AssertionError as error:
                self.errors.append(str(error))
            except (OSError, SocketlabError) as error:
                self.errors.append(_("the checks' server: {kind}: {error}").format(
                    kind=type(error).__name__, error=error))
            finally:
                self.done.set()

    def problem(self) -> str:
        """What went wrong on the server's side, if anything, to add to a hint."""
        return _(" (the checks' server: {error})").format(error=self.errors[0]) if self.errors else ""

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def kit_server() -> Iterator[Callable[[Callable[[ServerSide], None]], KitServer]]:
    """``kit_server(script)``: a one-connection box server of the checks' own; closed at the end."""
    servers: list[KitServer] = []

    def make(script: Callable[[ServerSide], None]) -> KitServer:
        server = KitServer(script)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def client_module():
    return harness.load("chat_client.py")


@pytest.fixture
def secure_module():
    return harness.load("secure.py")

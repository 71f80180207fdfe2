"""Lab 10's fixtures: the student's server and client, oracle clients and a lying server.

The oracles are built from PyNaCl and the kit's protocol pieces (frames, the
sealed channel, the key log) following docs/protocol.md and the end-to-end
whisper format, never from the student's code: a check that used the
student's own sealing to judge the student's opening could not fail.
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
from nacl.public import Box, PrivateKey, PublicKey
from nacl.signing import SigningKey, VerifyKey

from socketlab.inspector.events import Data
from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import (
    MESSAGE_TYPES,
    FrameDecoder,
    ProtocolError,
    SecureChannel,
    decode_message,
    encode_frame,
    signed_transcript,
)
from socketlab.protocol.connection import session_key

SERVE_THREAD = "student-serve"
WAIT = 2.0  # how long a check waits for an answer: only a wrong program makes it wait this long
E2E_CONTEXT = b"socketlab/1 e2e key\x00"
# The e2e messages' fields (the plan's wire format), for a kit that does not know them yet.
E2E_SHAPES = {
    "user_key": {"name": str, "key": 32, "identity": 32, "signature": 64},
    "e2e_message": {"from": str, "to": str, "ts": int, "key": 32, "identity": 32,
                    "signature": 64, "nonce": 24, "box": (16, 16400)},
}


def dumps(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def check_e2e_shape(msg: dict[str, Any]) -> str | None:
    """Why an e2e message from a server breaks the format, or None."""
    shape = E2E_SHAPES[msg["type"]]
    if set(msg) != {"type", *shape}:
        return _("{message} has the fields {fields}, no more, no less").format(
            message=msg["type"], fields=sorted(shape))
    for field, kind in shape.items():
        value = msg[field]
        if kind is str or kind is int:
            if type(value) is not kind:
                return _("{message}.{field} must be a {type}").format(
                    message=msg["type"], field=field, type=kind.__name__)
            continue
        low, high = kind if isinstance(kind, tuple) else (kind, kind)
        try:
            size = len(bytes.fromhex(value))
        except (TypeError, ValueError):
            return _("{message}.{field} must be hex").format(message=msg["type"], field=field)
        if not low <= size <= high:
            return _("{message}.{field} must be {low}..{high} bytes in hex").format(
                message=msg["type"], field=field, low=low, high=high)
    return None


class User:
    """An oracle user: a long-term identity and this session's e2e key (PyNaCl only)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.identity = SigningKey.generate()
        self.e2e = PrivateKey.generate()

    def bundle(self, name: str | None = None) -> dict[str, str]:
        key = bytes(self.e2e.public_key)
        signed = E2E_CONTEXT + key + (name or self.name).encode("utf-8")
        return {"e2e_key": key.hex(), "e2e_identity": bytes(self.identity.verify_key).hex(),
                "e2e_signature": self.identity.sign(signed).signature.hex()}

    def user_key(self) -> dict[str, Any]:
        """What a server answers to lookup{self.name}."""
        bundle = self.bundle()
        return {"type": "user_key", "name": self.name, "key": bundle["e2e_key"],
                "identity": bundle["e2e_identity"], "signature": bundle["e2e_signature"]}

    def seal(self, peer_key: bytes, inner: dict[str, str]) -> tuple[str, str]:
        nonce = nacl.utils.random(24)
        box = Box(self.e2e, PublicKey(peer_key)).encrypt(dumps(inner), nonce).ciphertext
        return nonce.hex(), box.hex()

    def open(self, peer_key: bytes, nonce: str, box: str) -> bytes:
        return Box(self.e2e, PublicKey(peer_key)).decrypt(bytes.fromhex(box), bytes.fromhex(nonce))

    def e2e_message(self, to: str, inner: dict[str, str], peer_key: bytes) -> dict[str, Any]:
        """What a server relays when this user whispers ``inner`` sealed to ``peer_key``."""
        nonce, box = self.seal(peer_key, inner)
        bundle = self.bundle()
        return {"type": "e2e_message", "from": self.name, "to": to,
                "ts": int(time.time() * 1000), "key": bundle["e2e_key"],
                "identity": bundle["e2e_identity"], "signature": bundle["e2e_signature"],
                "nonce": nonce, "box": box}


def verifies(identity_hex: str, key_hex: str, name: str, signature_hex: str) -> bool:
    try:
        VerifyKey(bytes.fromhex(identity_hex)).verify(
            E2E_CONTEXT + bytes.fromhex(key_hex) + name.encode("utf-8"),
            bytes.fromhex(signature_hex))
    except Exception:  # noqa: BLE001 - any failure means: it does not verify
        return False
    return True


class BoxClient:
    """A client of the checks' own (box mode): sends dicts, reads the server's dicts.

    Every message the student's server sends is checked against the protocol
    (the kit's decoder, and the e2e format for user_key and e2e_message).
    """

    __test__ = False

    def __init__(self, address: tuple[str, int], label: str) -> None:
        self.label = label
        self.user = User(label)
        self.sock = harness.connect(address)
        self._frames = FrameDecoder()
        self._pending: deque[dict[str, Any]] = deque()
        self.ended = False
        own = PrivateKey.generate()
        self.sock.sendall(encode_frame(dumps({"type": "hello", "version": 1, "mode": "box",
                                              "key": bytes(own.public_key).hex()})))
        self.channel: SecureChannel | None = None
        hello = self._plain_reply()
        fields = ("key", "identity", "signature")
        assert hello.get("type") == "server_hello" and all(f in hello for f in fields), \
            harness.why(_("{label} said a box hello and got {hello}: the handshake is given code "
                          "(labs 06-08): did you change handshake()?").format(label=label,
                                                                              hello=hello))
        server_key = bytes.fromhex(hello["key"])
        VerifyKey(bytes.fromhex(hello["identity"])).verify(
            signed_transcript(bytes(own.public_key), server_key), bytes.fromhex(hello["signature"]))
        self.channel = SecureChannel(session_key(own, server_key), "client")

    def _plain_reply(self) -> dict[str, Any]:
        self.sock.settimeout(WAIT)
        for _attempt in range(100):
            data = self.sock.recv(65536)
            assert data, harness.why(_("{label}: the server closed during the handshake").format(
                label=self.label))
            bodies = self._frames.feed(data)
            if bodies:
                reply: dict[str, Any] = json.loads(bodies[0])
                return reply
        raise AssertionError(_("{label}: no server_hello").format(label=self.label))

    def send(self, msg: dict[str, Any]) -> None:
        assert self.channel is not None
        body = dumps(msg)
        self.sock.sendall(encode_frame(self.channel.seal(len(body).to_bytes(4, "big") + body)))

    def recv(self, timeout: float = WAIT) -> dict[str, Any] | None:
        """The server's next message; None if it closed or sent nothing within ``timeout``."""
        if not self._pending and not self.ended:
            self._fill(timeout)
        return self._pending.popleft() if self._pending else None

    def _fill(self, timeout: float) -> None:
        self.sock.settimeout(0.05)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and harness.first_thread_exception() is None:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                data = b""
            if not data:
                self.ended = True
                # The server hung up. If one of its threads died, that is why: it is reported
                # once the server's hang_up() is done, which waits for us to close too.
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_WR)
                harness.eventually(lambda: harness.first_thread_exception() is not None, 0.5)
                return
            self._take(data)
            if self._pending:
                return

    def _take(self, data: bytes) -> None:
        assert self.channel is not None
        try:
            for sealed in self._frames.feed(data):
                for body in self.channel.open_bodies(sealed):
                    self._pending.append(self._check(body))
        except ProtocolError as error:
            raise AssertionError(harness.why(_(
                "{label} could not read what your server sent ({code}: {error}): frames and "
                "sealing are given code (labs 02, 06, 07)").format(
                    label=self.label, code=error.code, error=error.message))) from None

    def _check(self, body: bytes) -> dict[str, Any]:
        msg: dict[str, Any] = json.loads(body)
        kind = msg.get("type")
        if kind in E2E_SHAPES and kind not in MESSAGE_TYPES:
            problem = check_e2e_shape(msg)
        else:
            try:
                decode_message(body)
                problem = None
            except ProtocolError as error:
                problem = error.message
        if problem:
            raise AssertionError(harness.why(_(
                "your server sent {body}, which breaks the protocol: {problem} (README, "
                "'The wire format')").format(body=body[:300].decode("utf-8", "replace"),
                                             problem=problem)))
        return msg

    def expect(self, kind: str, why: str, timeout: float = WAIT) -> dict[str, Any]:
        """The next message, which must be of type ``kind`` (others joining or leaving the
        room are skipped); else fail saying ``why`` it should be."""
        msg = self.recv(timeout)
        while msg is not None and msg.get("type") in ("joined", "left") and kind != msg["type"]:
            msg = self.recv(timeout)
        if msg is None or msg.get("type") != kind:
            got = json.dumps(msg, ensure_ascii=False) if msg is not None else (
                _("nothing (the server closed the connection)") if self.ended
                else _("nothing within {timeout:g} s").format(timeout=timeout))
            raise AssertionError(harness.why(_("{label} expected {kind}, got {got}: {why}").format(
                label=self.label, kind=kind, got=got, why=why)))
        return msg

    def expect_error(self, code: str, why: str) -> dict[str, Any]:
        msg = self.expect("error", why)
        assert msg["code"] == code, harness.why(_(
            "{label} expected the error {code!r}, got {got}: {why}").format(
                label=self.label, code=code, got=json.dumps(msg), why=why))
        return msg

    def closed(self, timeout: float = WAIT) -> bool:
        """True when the server closes within ``timeout`` (what came before is kept)."""
        self.sock.settimeout(0.05)
        deadline = time.monotonic() + timeout
        while not self.ended and time.monotonic() < deadline:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                data = b""
            if not data:
                self.ended = True
            else:
                self._take(data)
        return self.ended

    def login(self, name: str | None = None, *, e2e: bool = True) -> dict[str, Any]:
        """Send login (with this user's signed bundle unless ``e2e=False``); the answer."""
        msg: dict[str, Any] = {"type": "login", "name": name or self.label}
        if e2e:
            msg.update(self.user.bundle(name))
        self.send(msg)
        answer = self.recv()
        assert answer is not None, harness.why(_(
            "{label} logged in and got no answer: welcome or an error must come back "
            "— README step 3").format(label=self.label))
        return answer

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server_module():
    return harness.load("chat_server.py")


@pytest.fixture
def start_server() -> Iterator[Callable[[Any], tuple[str, int]]]:
    """``start_server(module)``: the student's ``serve()`` (with an identity of the checks'
    own) on a fresh listener; its address. At the end the threads serving clients get 2 s
    to finish, so what they raise on the way out is reported here."""
    before = set(threading.enumerate())
    identity = SigningKey.generate()
    with contextlib.ExitStack() as stack:
        yield lambda module: stack.enter_context(harness.student_server(
            lambda listener: module.serve(listener, identity), name=SERVE_THREAD))
    deadline = time.monotonic() + 2
    for thread in set(threading.enumerate()) - before:
        if thread.name != SERVE_THREAD and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture
def chat_server(server_module, start_server) -> tuple[str, int]:
    return start_server(server_module)


@pytest.fixture
def connect(chat_server) -> Iterator[Callable[[str], BoxClient]]:
    """``connect(label)``: an oracle client that did the box handshake (closed at the end)."""
    clients: list[BoxClient] = []

    def make(label: str) -> BoxClient:
        client = BoxClient(chat_server, label)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def join(connect) -> Callable[..., BoxClient]:
    """``join(name, e2e=True)``: an oracle client logged in as ``name`` (with its bundle)."""
    def make(name: str, *, e2e: bool = True) -> BoxClient:
        client = connect(name)
        answer = client.login(e2e=e2e)
        hint = _("{name} logged in with a correctly signed e2e bundle and got {answer} instead "
                 "of welcome — README step 3") if e2e else _(
                     "{name} logged in and got {answer} instead of welcome — README step 3")
        assert answer.get("type") == "welcome", harness.why(
            hint.format(name=name, answer=json.dumps(answer)))
        return client

    return make


def until(client: BoxClient, kind: str, why: str) -> list[dict[str, Any]]:
    """Every message up to and including the first of type ``kind``."""
    seen: list[dict[str, Any]] = []
    while True:
        msg = client.recv()
        if msg is None:
            raise AssertionError(harness.why(_(
                "{label} waited for {kind} and got only {seen}: {why}").format(
                    label=client.label, kind=kind, seen=[m["type"] for m in seen], why=why)))
        seen.append(msg)
        if msg["type"] == kind:
            return seen


# ---- the student's client against a server of the checks' own -----------------------


class FakeServer:
    """A server of the checks' own that the student's ChatSession connects to.

    It does the real handshake and login (so the student's given code works),
    then says whatever a check makes it say: a lying server.
    """

    __test__ = False

    def __init__(self) -> None:
        self.identity = SigningKey.generate()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address: tuple[str, int] = self.listener.getsockname()
        self.conn: socket.socket | None = None
        self.channel: SecureChannel | None = None
        self.login: dict[str, Any] = {}
        self._frames = FrameDecoder()
        self._pending: deque[dict[str, Any]] = deque()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def accept_one(self) -> None:
        """Serve the next connection's handshake and login in a thread."""
        if self.conn is not None:
            self.conn.close()
        self._done.clear()
        self._frames = FrameDecoder()
        self._pending.clear()
        self._thread = threading.Thread(target=self._handshake, daemon=True, name="fake-server")
        self._thread.start()

    def _handshake(self) -> None:
        self.listener.settimeout(WAIT)
        conn, _address = self.listener.accept()
        self.conn = conn
        conn.settimeout(WAIT)
        hello = json.loads(self._next_body())
        own = PrivateKey.generate()
        client_key = bytes.fromhex(hello["key"])
        server_key = bytes(own.public_key)
        conn.sendall(encode_frame(dumps({
            "type": "server_hello", "version": 1, "mode": "box", "key": server_key.hex(),
            "identity": bytes(self.identity.verify_key).hex(),
            "signature": self.identity.sign(signed_transcript(client_key, server_key))
            .signature.hex()})))
        self.channel = SecureChannel(session_key(own, client_key), "server")
        self.login = self.recv() or {}
        self.send({"type": "welcome", "name": self.login.get("name", "?"),
                   "users": ["bob", self.login.get("name", "?")]})
        self._done.set()

    def _next_body(self) -> bytes:
        assert self.conn is not None
        while True:
            data = self.conn.recv(65536)
            if not data:
                raise ConnectionError("the client closed")
            bodies = self._frames.feed(data)
            if bodies:
                assert len(bodies) == 1
                return bodies[0]

    def ready(self) -> None:
        assert self._done.wait(WAIT), _("the checks' server did not finish the login")

    def send(self, msg: dict[str, Any]) -> None:
        assert self.conn is not None and self.channel is not None
        body = dumps(msg)
        self.conn.sendall(encode_frame(self.channel.seal(len(body).to_bytes(4, "big") + body)))

    def recv(self, timeout: float = WAIT) -> dict[str, Any] | None:
        """The client's next message (None if nothing came in time)."""
        assert self.conn is not None and self.channel is not None
        if self._pending:
            return self._pending.popleft()
        self.conn.settimeout(timeout)
        try:
            while not self._pending:
                data = self.conn.recv(65536)
                if not data:
                    return None
                for sealed in self._frames.feed(data):
                    self._pending.extend(json.loads(b)
                                         for b in self.channel.open_bodies(sealed))
        except (TimeoutError, OSError):
            return None
        return self._pending.popleft()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.listener.close()


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


@pytest.fixture
def client_module():
    return harness.load("chat_client.py")


@pytest.fixture
def open_session(client_module) -> Iterator[Callable[..., Any]]:
    """``open_session(address, name, home)``: the student's ChatSession.connect(...), bounded.
    At the end of the check every session's socket is closed (the check's own doing)."""
    made: list[Any] = []

    def make(address: tuple[str, int], name: str, home: Path, **options: Any) -> Any:
        def connect() -> Any:
            return client_module.ChatSession.connect(address[0], address[1], name,
                                                     home=home, **options)
        made.append(harness.call_with_timeout(connect, timeout=5))
        return made[-1]

    yield make
    for session in made:
        with contextlib.suppress(Exception):
            session.sock.close()


def expect_refusal(call: Callable[[], Any], code: str, what: str) -> str:
    """Run the student's ``call()``: it must raise their ProtocolError with ``code``.
    Returns the error's message. ``what`` says what was called, and the README step."""
    try:
        result = harness.call_with_timeout(call, timeout=5)
    except AssertionError:
        raise
    except Exception as error:  # noqa: BLE001 - the student's code: judged below
        caught = error
    else:
        raise AssertionError(_(
            "it returned {result} where ProtocolError({code!r}, ...) was expected: {what}"
        ).format(result=short(result), code=code, what=what))
    got = student_error(caught)
    assert got is not None and got[0] == code, _(
        "{error}, where ProtocolError({code!r}, ...) was expected: {what}").format(
            error=harness.describe(caught), code=code, what=what)
    return got[1]


def short(value: Any) -> str:
    """``value`` for a hint: bytes as the start of their hex, never a wall of escapes."""
    if isinstance(value, bytes):
        return _("{size} bytes {start}…").format(size=len(value), start=value[:8].hex())
    if isinstance(value, tuple):
        return "(" + ", ".join(short(item) for item in value) + ")"
    return repr(value)[:200]


def student_error(error: BaseException) -> tuple[str, str] | None:
    """(code, message) of the student's ProtocolError (their secure.py's class), else None."""
    if type(error).__name__ == "ProtocolError" and hasattr(error, "code"):
        return str(error.code), str(getattr(error, "message", ""))
    return None


# ---- what the server's key log shows --------------------------------------------------


def server_keys(path: Path) -> dict[bytes, bytes]:
    """The SOCKETLAB_BOX lines of a key log: client key -> session key."""
    keys = {}
    text = path.read_text(encoding="ascii") if path.exists() else ""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "SOCKETLAB_BOX":
            keys[bytes.fromhex(parts[1])] = bytes.fromhex(parts[2])
    return keys


def transport_bodies(events: list[Any], keys: dict[bytes, bytes]) -> tuple[
        list[tuple[str, bytes]], int]:
    """Every message body of a recorded session, decrypted with ``keys`` (the kit's channel),
    as (direction, body); and how many connections had no key in the log."""
    streams: dict[tuple[Any, str], bytearray] = {}
    for event in events:
        if isinstance(event, Data):
            streams.setdefault((event.conn, event.direction), bytearray()).extend(event.data)
    bodies: list[tuple[str, bytes]] = []
    missing = 0
    for conn in {conn for conn, _direction in streams}:
        c2s = FrameDecoder().feed(bytes(streams.get((conn, "c2s"), b"")))
        s2c = FrameDecoder().feed(bytes(streams.get((conn, "s2c"), b"")))
        if not c2s:
            continue
        key = keys.get(bytes.fromhex(json.loads(c2s[0]).get("key", "")))
        if key is None:
            missing += 1
            continue
        for role, direction, frames in (("server", "c2s", c2s), ("client", "s2c", s2c)):
            channel = SecureChannel(key, role)
            bodies.append((direction, frames[0]) if frames else (direction, b""))
            for sealed in frames[1:]:
                bodies += [(direction, body) for body in channel.open_bodies(sealed)]
    return bodies, missing

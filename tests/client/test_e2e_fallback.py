"""A server older than end-to-end whispers: the client logs in again without its e2e
key, once, says so, and marks whispers transport-encrypted only. Against the labs'
own servers of labs 07-09, a scripted server for each refusal, and the kit's server."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from socketlab.client import ChatClient, ChatError
from socketlab.client.chat_client import Event
from socketlab.client.commands import format_event
from socketlab.client.events import E2E_NEW, TRANSPORT, E2EUnavailable, Whispered
from socketlab.protocol import (
    AnyMessage,
    Error,
    Login,
    Message,
    Ping,
    ServerConnection,
    Welcome,
    read_keylog,
)
from tests.client.conftest import SERVERS_WITHOUT_E2E, TIMEOUT


def whispered(text: str) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, Whispered) and e.text == text


def notes(client: ChatClient) -> list[E2EUnavailable]:
    """The fallback notes on ``client.events`` now (login() puts one before it returns)."""
    return [e for e in list(client.events.queue) if isinstance(e, E2EUnavailable)]


@pytest.mark.parametrize("lab_server", SERVERS_WITHOUT_E2E, indirect=True)
def test_a_lab_server_gets_a_login_without_e2e_and_whispers_are_marked_transport_only(
    lab_server: tuple[str, int], wait, tmp_path: Path
) -> None:
    host, port = lab_server
    keylog = tmp_path / "alice.keylog"
    alice = ChatClient(
        host, port, e2e=True, home=tmp_path / "alice", keylog=keylog, timeout=TIMEOUT
    )
    bob = ChatClient(host, port, e2e=True, home=tmp_path / "bob", timeout=TIMEOUT)
    with alice, bob:
        alice.connect()
        assert alice.login("alice").name == "alice"
        assert (alice.e2e_unavailable, alice.e2e, alice.user_fingerprint) == (True, None, None)
        assert alice.pin_status == "new"  # pinned by the first of the two connections
        assert len(read_keylog(keylog)) == 2  # two handshakes: the refused login's, and ours
        note = wait(alice, lambda e: isinstance(e, E2EUnavailable))
        assert note == E2EUnavailable(f"{host}:{port}", "bad_message")
        assert format_event(note, "alice") == (
            f"! the server {host}:{port} does not know end-to-end whispers (bad_message): "
            "whispers are transport-encrypted only (the server can read them)"
        )
        bob.connect()
        bob.login("bob")
        bob.say("hello all")
        said = wait(alice, lambda e: isinstance(e, Message) and e.text == "hello all")
        assert (said.sender, said.to) == ("bob", None)
        alice.whisper("bob", "psst")
        got = wait(bob, whispered("psst"))
        assert (got.sender, got.to, got.security, got.fingerprint) == (
            "alice",
            "bob",
            TRANSPORT,
            None,
        )
        assert format_event(got, "bob") == (
            "[whisper from alice · transport-encrypted only: the server can read it] psst"
        )
        copy = wait(alice, whispered("psst"))
        assert (copy.sender, copy.to, copy.security) == ("alice", "bob", TRANSPORT)


def test_the_kits_server_knows_e2e_so_there_is_no_fallback(server, wait, tmp_path: Path) -> None:
    host, port = server.address
    keylog = tmp_path / "alice.keylog"
    alice = ChatClient(
        host, port, e2e=True, home=tmp_path / "alice", keylog=keylog, timeout=TIMEOUT
    )
    bob = ChatClient(host, port, e2e=True, home=tmp_path / "bob", timeout=TIMEOUT)
    with alice, bob:
        alice.connect()
        alice.login("alice")
        assert (alice.e2e_unavailable, notes(alice)) == (False, [])
        assert alice.user_fingerprint is not None
        assert len(read_keylog(keylog)) == 1  # one connection
        bob.connect()
        bob.login("bob")
        alice.whisper("bob", "sealed")
        assert wait(bob, whispered("sealed")).security == E2E_NEW


class RefusingServer:
    """Answers a login that carries an e2e key with ``error{code}``, then closes (or, with
    ``close=False``, sends a ping and keeps the line); welcomes a login without one."""

    def __init__(self, code: str, *, close: bool = True) -> None:
        self.code, self.close = code, close
        self.logins: list[Login] = []  # every login received, on every connection
        self.accepted = 0
        self.identity = SigningKey.generate()  # the same on every connection: it is pinned
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self._thread = threading.Thread(target=self._serve, name="refusing-server", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.listener.getsockname()[:2]
        return host, port

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed at the end of the test
                return
            self.accepted += 1
            with conn:
                conn.settimeout(TIMEOUT)
                self._serve_one(conn)

    def _serve_one(self, conn: socket.socket) -> None:
        server = ServerConnection(self.identity)
        try:
            while data := conn.recv(65536):
                for msg in server.receive_data(data):
                    conn.sendall(
                        server.data_to_send() + b"".join(map(server.send, self._replies(msg)))
                    )
                    if isinstance(msg, Login) and msg.has_bundle and self.close:
                        return
        except OSError:
            return

    def _replies(self, msg: AnyMessage) -> list[AnyMessage]:
        if not isinstance(msg, Login):
            return []
        self.logins.append(msg)
        if msg.has_bundle:
            return [Error(self.code, "refused"), *([] if self.close else [Ping()])]
        return [Welcome(msg.name, (msg.name,))]

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept() (close() would not)
        self.listener.close()
        self._thread.join(TIMEOUT)


@pytest.fixture
def refusing_server() -> Iterator[Callable[..., RefusingServer]]:
    servers: list[RefusingServer] = []

    def make(code: str, *, close: bool = True) -> RefusingServer:
        servers.append(RefusingServer(code, close=close))
        return servers[-1]

    yield make
    for one in servers:
        one.stop()


@pytest.mark.parametrize("code", ["bad_message", "unknown_type", "unexpected_message"])
def test_each_refusal_of_an_unknown_field_gets_one_retry_without_e2e(
    refusing_server, code: str, tmp_path: Path
) -> None:
    server = refusing_server(code)
    with ChatClient(*server.address, e2e=True, home=tmp_path, timeout=TIMEOUT) as alice:
        alice.connect()
        assert alice.login("alice").name == "alice"
        assert [login.has_bundle for login in server.logins] == [True, False]
        assert server.accepted == 2
        host, port = server.address
        assert notes(alice) == [E2EUnavailable(f"{host}:{port}", code)]


@pytest.mark.parametrize("code", ["bad_signature", "bad_key"])
def test_a_refused_bundle_is_an_error_not_a_reason_to_drop_e2e(
    refusing_server, code: str, tmp_path: Path
) -> None:
    server = refusing_server(code)
    keylog = tmp_path / "keylog"
    with ChatClient(
        *server.address, e2e=True, home=tmp_path, keylog=keylog, timeout=TIMEOUT
    ) as alice:
        alice.connect()
        with pytest.raises(ChatError) as refused:
            alice.login("alice")
        assert refused.value.code == code
        assert (alice.e2e_unavailable, notes(alice)) == (False, [])
        assert alice.e2e is not None
    assert len(server.logins) == 1 and len(read_keylog(keylog)) == 1  # no second connection


def test_a_bad_message_that_keeps_the_line_open_is_not_taken_for_an_old_server(
    refusing_server, tmp_path: Path
) -> None:
    server = refusing_server("bad_message", close=False)
    with ChatClient(*server.address, e2e=True, home=tmp_path, timeout=TIMEOUT) as alice:
        alice.connect()
        with pytest.raises(ChatError) as refused:
            alice.login("alice")
        assert refused.value.code == "bad_message"
        assert (alice.e2e_unavailable, notes(alice), len(server.logins)) == (False, [], 1)

"""The real chat through the proxy: an honest tap shows only ciphertext; --mitm
fools a --no-verify client and reads its messages; a pinning client refuses."""

from __future__ import annotations

import os
import queue
import socket
import time
from collections.abc import Callable, Iterator

import pytest
from nacl.signing import SigningKey

from socketlab.client import ChatClient
from socketlab.client.chat_client import Event
from socketlab.inspector.events import Closed, Data, Failure, Intercepted
from socketlab.inspector.mitm import Interceptor, Step
from socketlab.inspector.proxy import Proxy
from socketlab.inspector.recording import ProxyEvent, read_recording
from socketlab.protocol import (
    ClientConnection,
    Error,
    FrameDecoder,
    Hello,
    IdentityError,
    Login,
    Message,
    ProtocolError,
    Say,
    SecureChannel,
    ServerConnection,
    ServerHello,
    decode_message,
    encode_frame,
    encode_message,
    fingerprint,
    parse_sealed,
)
from socketlab.server import ChatServer

TIMEOUT = 10.0


@pytest.fixture
def server(make_server: Callable[..., ChatServer]) -> ChatServer:
    return make_server(allow_plaintext=True)


@pytest.fixture
def make_proxy() -> Iterator[Callable[..., Proxy]]:
    proxies: list[Proxy] = []

    def start(target: tuple[str, int], port: int = 0, **kwargs: object) -> Proxy:
        proxy = Proxy("127.0.0.1", port, target, **kwargs)  # type: ignore[arg-type]
        proxy.start()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def make_client() -> Iterator[Callable[..., ChatClient]]:
    clients: list[ChatClient] = []

    def connect(proxy: Proxy, name: str, **kwargs: object) -> ChatClient:
        client = ChatClient(*proxy.address, timeout=TIMEOUT, **kwargs)  # type: ignore[arg-type]
        clients.append(client)
        client.connect()
        client.login(name)
        return client

    yield connect
    for client in clients:
        client.close()


def wait_for(client: ChatClient, match: Callable[[Event], bool]) -> Event:
    deadline = time.monotonic() + TIMEOUT
    seen: list[Event] = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = client.events.get(timeout=left)
        except queue.Empty:
            break
        if match(event):
            return event
        seen.append(event)
    pytest.fail(f"no matching event within {TIMEOUT} s; saw {seen}")


def chat(alice: ChatClient, bob: ChatClient, text: str) -> Message:
    """Alice says ``text``; return the message as Bob got it."""
    alice.say(text)
    got = wait_for(bob, lambda e: isinstance(e, Message) and e.text == text)
    assert isinstance(got, Message)
    return got


def wire(events: list[ProxyEvent], direction: str) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, Data) and e.direction == direction)


def bodies(events: list[ProxyEvent], direction: str) -> dict[int, list[bytes]]:
    """Frame bodies per connection in ``direction``, through protocol's decoder."""
    out = {}
    for index in sorted({e.conn.index for e in events if isinstance(e, Data)}):
        decoder = FrameDecoder()
        out[index] = decoder.feed(b"".join(e.data for e in events if isinstance(e, Data)
                                           and e.conn.index == index
                                           and e.direction == direction))
        assert decoder.buffered == 0
    return out


def test_an_honest_tap_relays_the_chat_and_records_only_ciphertext(
        server, make_proxy, make_client, tmp_path) -> None:
    record = tmp_path / "chat.jsonl"
    proxy = make_proxy(server.address, record=record)
    alice, bob = make_client(proxy, "alice"), make_client(proxy, "bob")
    assert alice.server_fingerprint == server.fingerprint  # the real server answered
    assert chat(alice, bob, "meet at the old oak").sender == "alice"
    alice.close()
    bob.close()
    proxy.stop()

    events = read_recording(record)
    assert events == proxy.events()
    assert not [e for e in events if isinstance(e, Intercepted)]  # an honest tap reads nothing
    for direction, handshake in (("c2s", Hello), ("s2c", ServerHello)):
        role = "client" if direction == "c2s" else "server"
        per_conn = bodies(events, direction)
        assert len(per_conn) == 2
        for first, *sealed in per_conn.values():
            assert isinstance(decode_message(first), handshake)  # the handshake is plaintext
            assert len(sealed) >= 1  # at least login / welcome
            for body in sealed:
                with pytest.raises(ProtocolError):
                    decode_message(body)  # nothing readable without the key
                assert parse_sealed(body).direction == role
    assert b"old oak" not in wire(events, "c2s") + wire(events, "s2c")


def test_mitm_fools_a_no_verify_client_and_reads_its_messages(
        server, make_proxy, make_client) -> None:
    proxy = make_proxy(server.address, mitm=True)
    alice = make_client(proxy, "alice", verify=False)
    bob = make_client(proxy, "bob", verify=False)
    # Both talk to the proxy's identity, not the server's, and the chat still works.
    assert alice.server_fingerprint == bob.server_fingerprint == proxy.mitm_fingerprint
    assert proxy.mitm_fingerprint != server.fingerprint
    got = chat(alice, bob, "the password is swordfish")
    assert got.sender == "alice"

    intercepted = [(e.direction, e.message) for e in proxy.events()
                   if isinstance(e, Intercepted)]
    assert ("c2s", Login("alice")) in intercepted
    assert ("c2s", Say("the password is swordfish")) in intercepted
    assert ("s2c", got) in intercepted  # the broadcast to bob, decrypted on its way
    real_hellos = [m for d, m in intercepted if isinstance(m, ServerHello)]
    assert {fingerprint(m.identity) for m in real_hellos} == {server.fingerprint}
    # On the client's wire it is still ciphertext: only the proxy could read it.
    assert b"swordfish" not in wire(proxy.events(), "c2s")


def test_mitm_is_refused_by_a_client_that_pinned_the_real_server(
        server, make_proxy, make_client) -> None:
    # Pins are per host:port. The client must have met the REAL server at the
    # address where the attacker later sits, as on a network that was honest
    # yesterday. So it first connects through an honest tap (which passes the
    # real server's hello unchanged) and pins that; then the tap is replaced,
    # on the same port, by the attacking proxy. This drives the client's own
    # pinning code end to end instead of writing its pin file by hand.
    honest = make_proxy(server.address)
    first = make_client(honest, "alice")
    assert (first.pin_status, first.server_fingerprint) == ("new", server.fingerprint)
    first.close()
    port = honest.address[1]
    honest.stop()

    attacker = make_proxy(server.address, port, mitm=True)
    victim = ChatClient(*attacker.address, timeout=TIMEOUT)
    with pytest.raises(IdentityError) as refused:
        victim.connect()
    error = refused.value
    assert error.code == "identity_changed"
    assert (error.known, error.offered) == (server.fingerprint, attacker.mitm_fingerprint)
    assert server.fingerprint in str(error) and attacker.mitm_fingerprint in str(error)


def test_mitm_relays_a_plain_session_unchanged(server, make_proxy, make_client) -> None:
    proxy = make_proxy(server.address, mitm=True)
    alice = make_client(proxy, "alice", mode="plain")
    bob = make_client(proxy, "bob", mode="plain")
    chat(alice, bob, "nothing to hide")
    alice.close()
    bob.close()
    assert all(not isinstance(e, Intercepted) for e in proxy.events())  # relayed, not re-sealed
    assert b'"text":"nothing to hide"' in wire(proxy.events(), "c2s")


def test_mitm_ends_only_the_pair_whose_frame_does_not_decrypt(
        server, make_proxy, make_client) -> None:
    proxy = make_proxy(server.address, mitm=True)
    alice = make_client(proxy, "alice", verify=False)
    bob = make_client(proxy, "bob", verify=False)
    with socket.create_connection(proxy.address, timeout=TIMEOUT) as sock:
        mallory = ClientConnection()
        sock.sendall(mallory.hello())
        for _ in range(100):  # the proxy's (forged) server_hello
            if mallory.established:
                break
            mallory.receive_data(sock.recv(65536))
        # Sealed under a key the proxy does not hold: it cannot re-seal this frame.
        sock.sendall(encode_frame(SecureChannel(os.urandom(32), "client").seal(b"{}")))
        assert sock.recv(65536) == b""  # the proxy hangs up on this client
    wait_for_event(proxy, lambda e: isinstance(e, Closed))
    [failure] = [e for e in proxy.events() if isinstance(e, Failure)]
    assert failure.code == "decrypt_failed" and failure.conn.index == 2
    assert [(c.conn.index, c.how) for c in proxy.events() if isinstance(c, Closed)] == [(2, "rst")]
    chat(alice, bob, "still fine")  # the others go on


def wait_for_event(proxy: Proxy, match: Callable[[ProxyEvent], bool]) -> ProxyEvent:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for event in proxy.events():
            if match(event):
                return event
        time.sleep(0.01)
    pytest.fail(f"no matching proxy event within {TIMEOUT} s")


# -- the attack without sockets: Interceptor is sans-I/O, like protocol/ ---------------


def test_interceptor_waits_for_a_whole_hello_then_relays_a_session_both_ways() -> None:
    mitm, server = Interceptor(SigningKey.generate()), ServerConnection(SigningKey.generate())
    client = ClientConnection()
    hello = client.hello()
    steps = [mitm.from_client(hello[i:i + 1]) for i in range(len(hello))]  # byte by byte
    assert all(step == Step() for step in steps[:-1])
    assert [type(m) for m in steps[-1].seen] == [Hello]
    server.receive_data(steps[-1].out)  # the proxy's own hello reaches the server
    answer = mitm.from_server(server.data_to_send())
    client.receive_data(answer.out)
    assert client.established and client.server_identity != bytes(server.identity.verify_key)

    up = mitm.from_client(client.send(Say("hi")))
    assert server.receive_data(up.out) == [Say("hi")] == list(up.seen)
    down = mitm.from_server(server.send(Message("alice", "hi", 1)))
    assert client.receive_data(down.out) == [Message("alice", "hi", 1)] == list(down.seen)


def test_interceptor_passes_a_refusal_before_the_handshake_on_in_plaintext() -> None:
    mitm, client = Interceptor(SigningKey.generate()), ClientConnection()
    mitm.from_client(client.hello())
    refusal = Error("server_full", "the server is full (1 clients)")
    step = mitm.from_server(encode_frame(encode_message(refusal)))
    assert client.receive_data(step.out) == [refusal]
    assert not client.established

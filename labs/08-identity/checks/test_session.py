"""Step 7: your client checks the server before it sends a single sealed frame."""

from conftest import code_of, open_session, receive_type, refusal, server_hello_for
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from socketlab.client import ChatClient
from socketlab.protocol import PinStore, ServerHello


def test_first_connect_pins_second_accepted(client_module, kit_server, home):
    """your client's first connect pins the kit's server, the second is accepted, and both chat"""
    host, port = kit_server.address
    first = open_session(client_module, kit_server.address, "alice", home=home)
    try:
        assert first.pin == "new", (
            f"the first connect's pin is {first.pin!r}, expected 'new' (check_pin's answer) — README step 7")
        text = (home / "known_servers").read_text(encoding="utf-8")
        identity = bytes(kit_server.identity.verify_key).hex()
        assert text == f"{host}:{port} {identity}\n", (
            f"after the first connect known_servers holds {text!r}; expected the server's "
            f"identity for {host}:{port} — README step 7")
        second = open_session(client_module, kit_server.address, "bob", home=home)
        try:
            assert second.pin == "known", (
                f"the second connect's pin is {second.pin!r}, expected 'known' — README step 7")
            second.say("hello, pinned server")
            said = receive_type(first, "message", "bob said hello")
            assert said["text"] == "hello, pinned server", f"alice got {said}"
        finally:
            second.close()
    finally:
        first.close()


def test_pins_shared_with_the_kit(client_module, home):
    """your client and the kit's client share known_servers: a pin one wrote, the other honours"""
    from socketlab.server.app import ChatServer

    with ChatServer("127.0.0.1", 0) as ours, ChatServer("127.0.0.1", 0) as theirs:
        session = open_session(client_module, ours.address, "alice", home=home)
        session.close()
        kit = ChatClient(*ours.address, pins=PinStore(home / "known_servers"), timeout=3,
                         e2e=False)
        kit.connect()
        kit.close()
        assert kit.pin_status == "known", (
            f"the kit's client, reading the known_servers your client wrote, says "
            f"{kit.pin_status!r} for {ours.address}, expected 'known' — README step 5")
        kit = ChatClient(*theirs.address, pins=PinStore(home / "known_servers"), timeout=3,
                         e2e=False)
        kit.connect()
        kit.close()
        session = open_session(client_module, theirs.address, "bob", home=home)
        session.close()
        assert session.pin == "known", (
            f"your client says {session.pin!r} for a server the kit's client pinned in the same "
            "known_servers, expected 'known' — README step 4")


def test_forged_hello_refused(client_module, forged_server, home):
    """a server_hello with a swapped key is refused (bad_signature): nothing sent after hello, nothing pinned"""
    def forge(hello: bytes) -> ServerHello:
        honest = server_hello_for(hello, SigningKey.generate())
        swapped = bytes(PrivateKey.generate().public_key)  # a man in the middle's own key
        return ServerHello(mode="box", key=swapped, identity=honest["identity"],
                           signature=honest["signature"])

    fake = forged_server(forge)
    error = refusal(lambda: client_module.ChatSession.connect(
        *fake.address, "alice", home=home), "ChatSession.connect")
    fake.close()
    assert fake.hello, f"your client sent no hello to the server ({fake.failure})"
    sent = f" and sent {len(fake.after_hello)} bytes after it (its login)" \
        if fake.after_hello else ""
    assert error is not None and not sent, (
        f"your client accepted a server_hello whose key was swapped{sent}: call "
        "verify_hello() in ChatSession.connect before anything else is sent — README step 7")
    assert code_of(error) == "bad_signature", (
        f"your client refused the swapped key with {code_of(error)}: {error}; expected "
        "bad_signature (from verify_hello) — README step 7")
    pins = home / "known_servers"
    assert not pins.exists() or not pins.read_text(encoding="utf-8").strip(), (
        f"a server whose signature failed was pinned anyway ({pins.read_text(encoding='utf-8')!r}): "
        "verify the signature FIRST, then check the pin — README step 7")

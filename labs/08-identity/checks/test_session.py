"""Step 7: your client checks the server before it sends a single sealed frame."""

from conftest import code_of, open_session, receive_type, refusal, server_hello_for
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from socketlab.client import ChatClient
from socketlab.labs.harness import _
from socketlab.protocol import PinStore, ServerHello


def test_first_connect_pins_second_accepted(client_module, kit_server, home):
    """your client's first connect pins the kit's server, the second is accepted, and both chat"""
    host, port = kit_server.address
    first = open_session(client_module, kit_server.address, "alice", home=home)
    try:
        assert first.pin == "new", _(
            "the first connect's pin is {pin!r}, expected 'new' (check_pin's answer) — README step 7"
        ).format(pin=first.pin)
        pins = home / "known_servers"
        text = pins.read_text(encoding="utf-8") if pins.exists() else _("(no file)")
        identity = bytes(kit_server.identity.verify_key).hex()
        assert text == f"{host}:{port} {identity}\n", _(
            "after the first connect known_servers holds {text!r}; expected the server's "
            "identity for {host}:{port} — README step 7").format(text=text, host=host, port=port)
        second = open_session(client_module, kit_server.address, "bob", home=home)
        try:
            assert second.pin == "known", _(
                "the second connect's pin is {pin!r}, expected 'known' — README step 7"
            ).format(pin=second.pin)
            second.say("hello, pinned server")
            said = receive_type(first, "message", _("bob said hello"))
            assert said["text"] == "hello, pinned server", _("alice got {said}").format(said=said)
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
        assert kit.pin_status == "known", _(
            "the kit's client, reading the known_servers your client wrote, says "
            "{status!r} for {address}, expected 'known' — README step 5"
        ).format(status=kit.pin_status, address=ours.address)
        kit = ChatClient(*theirs.address, pins=PinStore(home / "known_servers"), timeout=3,
                         e2e=False)
        kit.connect()
        kit.close()
        session = open_session(client_module, theirs.address, "bob", home=home)
        session.close()
        assert session.pin == "known", _(
            "your client says {pin!r} for a server the kit's client pinned in the same "
            "known_servers, expected 'known' — README step 4").format(pin=session.pin)


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
    assert fake.hello, _("your client sent no hello to the server ({failure})").format(
        failure=fake.failure)
    sent = len(fake.after_hello)
    assert error is not None and not sent, (
        _("your client accepted a server_hello whose key was swapped and sent {size} bytes "
          "after it (its login): ").format(size=sent) if sent else
        _("your client accepted a server_hello whose key was swapped: ")
    ) + _("call verify_hello() in ChatSession.connect before anything else is sent — "
          "README step 7")
    assert code_of(error) == "bad_signature", _(
        "your client refused the swapped key with {code}: {error}; expected "
        "bad_signature (from verify_hello) — README step 7").format(code=code_of(error), error=error)
    pins = home / "known_servers"
    assert not pins.exists() or not pins.read_text(encoding="utf-8").strip(), _(
        "a server whose signature failed was pinned anyway ({text!r}): "
        "verify the signature FIRST, then check the pin — README step 7"
    ).format(text=pins.read_text(encoding="utf-8"))

"""The attack (`socketlab proxy --mitm`), and why it fails against a pinned client."""

import socket

from conftest import code_of, open_session, proxy_on, receive_type, refusal
from nacl.public import PrivateKey

from socketlab.inspector.events import Intercepted
from socketlab.labs.harness import _
from socketlab.protocol import ClientConnection, FrameDecoder, Login, ServerHello, decode_message

SECRET = "the exam answers are in room 101"


def _pin_through_honest_proxy(client_module, server, home) -> int:
    """An honest first contact through a plain relay; the port it listened on."""
    with proxy_on(0, server.address) as honest:
        session = open_session(client_module, honest.address, "alice", home=home)
        session.close()
        assert session.pin == "new", _(
            "the first contact's pin is {pin!r}, expected 'new'").format(pin=session.pin)
        return honest.address[1]


def test_no_verify_is_fooled(client_module, kit_server, home):
    """with verify=False your client chats through `proxy --mitm`, and the proxy reads every message"""
    with proxy_on(0, kit_server.address, mitm=True) as mitm:
        session = open_session(client_module, mitm.address, "alice", verify=False, home=home)
        try:
            assert session.fingerprint == mitm.mitm_fingerprint, _(
                "your session shows the fingerprint {shown}; the man in the "
                "middle's is {mitm} — it is the one your client met"
            ).format(shown=session.fingerprint, mitm=mitm.mitm_fingerprint)
            session.say(SECRET)
            said = receive_type(session, "message", _("your say comes back to you"))
            assert said["text"] == SECRET, _("your client got {said}").format(said=said)
        finally:
            session.close()
    read = [e.message.text for e in mitm.events()
            if isinstance(e, Intercepted) and e.direction == "c2s" and hasattr(e.message, "text")]
    assert SECRET in read, _(
        "the proxy decrypted {read} from your client; it should have read {secret!r}: with "
        "verify=False nothing stops it — README 'Now attack it'").format(read=read, secret=SECRET)
    assert not (home / "known_servers").exists(), _(
        "verify=False wrote known_servers: with verify=False, check_pin is not called — README step 7")


def test_pinned_client_refuses_mitm(client_module, kit_server, home):
    """pinned by an honest first contact, your client refuses `proxy --mitm` at the same address, showing both fingerprints"""
    port = _pin_through_honest_proxy(client_module, kit_server, home)
    before = (home / "known_servers").read_bytes()
    with proxy_on(port, kit_server.address, mitm=True) as mitm:
        error = refusal(lambda: client_module.ChatSession.connect(
            "127.0.0.1", port, "alice", home=home), "ChatSession.connect")
    assert error is not None, _(
        "your client, which had pinned the real server at this address, logged in through the "
        "man in the middle: compare the identity with the pin (check_pin) — README step 6-7")
    assert code_of(error) == "identity_changed", _(
        "your client refused the man in the middle with {code}: {error}; expected "
        "identity_changed — README step 6").format(code=code_of(error), error=error)
    warning = str(getattr(error, "message", error))
    for lacks, shown in ((_("It lacks the server's (pinned) fingerprint {shown}"),
                          kit_server.fingerprint),
                         (_("It lacks the man in the middle's (presented) fingerprint {shown}"),
                          mitm.mitm_fingerprint)):
        assert shown in warning, _("the warning is:\n{warning}\n{lacks} — README step 6").format(
            warning=warning, lacks=lacks.format(shown=shown))
    sent = [e.message for e in mitm.events() if isinstance(e, Intercepted) and e.direction == "c2s"]
    assert not any(isinstance(m, Login) for m in sent), _(
        "the man in the middle read {sent}: your client refused only after it logged in — "
        "check the pin before the login is sent — README step 7").format(sent=sent)
    assert (home / "known_servers").read_bytes() == before, _(
        "the refused connection changed known_servers: the pin must stay — README step 6")


def test_pinned_identity_with_replayed_signature(client_module, kit_server, forged_server, home):
    """an impostor showing the pinned identity, with its own key and a replayed signature, is refused"""
    port = _pin_through_honest_proxy(client_module, kit_server, home)

    def forge(hello: bytes) -> ServerHello:
        # The impostor cannot sign as the server, but it can show the server's public
        # identity, and copy a signature the server made in another session.
        real = _real_server_hello(kit_server.address)
        own_key = bytes(PrivateKey.generate().public_key)
        return ServerHello(mode="box", key=own_key, identity=real.identity,
                           signature=real.signature)

    fake = forged_server(forge, port)
    error = refusal(lambda: client_module.ChatSession.connect(
        "127.0.0.1", port, "alice", home=home), "ChatSession.connect")
    fake.close()
    assert fake.failure is None, _("the impostor failed: {failure}").format(failure=fake.failure)
    sent = len(fake.after_hello)
    assert error is not None and not sent, (
        _("your client accepted the pinned identity with a key the identity never signed "
          "and sent {size} bytes after it (its login): ").format(size=sent) if sent else
        _("your client accepted the pinned identity with a key the identity never signed: ")
    ) + _("a pin alone proves nothing, anyone can copy a public key. Verify the signature over "
          "both keys (verify_hello) too — README step 7")
    assert code_of(error) == "bad_signature", _(
        "your client refused the impostor with {code}: {error}; expected "
        "bad_signature — README step 7").format(code=code_of(error), error=error)


def _real_server_hello(address: tuple[str, int]) -> ServerHello:
    """What the real server answers to a hello of the impostor's own."""
    conn = ClientConnection("box")
    with socket.create_connection(address, timeout=3) as sock:
        sock.sendall(conn.hello())
        decoder = FrameDecoder()
        bodies: list[bytes] = []
        while not bodies:
            chunk = sock.recv(65536)
            assert chunk, _("the kit's server closed before its server_hello")
            bodies = decoder.feed(chunk)
    answer = decode_message(bodies[0])
    assert isinstance(answer, ServerHello), answer
    return answer

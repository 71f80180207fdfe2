"""Step 5: the box handshake, checked by the kit's own client code (docs/protocol.md section 4)."""

from conftest import LOW_ORDER, WAIT
from nacl.public import PrivateKey

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import keylog_line, read_keylog


def test_box_hello_answered(connect):
    """a box hello gets a server_hello the kit accepts (fresh key, identity, signature, in plaintext)"""
    client = connect("alice")
    client.hello()
    assert client.key is not None


def test_each_session_its_own_key(connect):
    """two sessions get two different server keys, so two different session keys"""
    first, second = connect("first"), connect("second")
    first.hello()
    second.hello()
    assert first.key != second.key, harness.why(_(
        "two sessions got the same session key: make a new_key() in every handshake, never one "
        "for the whole server — README step 5"))


def test_handshake_writes_the_key_log(connect, keylog, server_module, monkeypatch):
    """with $SOCKETLAB_KEYLOG set, the server appends this session's line before server_hello"""
    given_send_frame = server_module.send_frame
    logged_at_hello: list[str] = []  # what the key log held when server_hello was about to go

    def watched_send_frame(conn, body):  # this check watches what goes out, and sends it
        if b'"server_hello"' in body:
            logged_at_hello.append(keylog.read_text() if keylog.exists() else "")
        return given_send_frame(conn, body)

    monkeypatch.setattr(server_module, "send_frame", watched_send_frame)
    client = connect("alice")
    client.hello()
    expected = keylog_line(client.kit.client_key, client.key)
    written = harness.eventually(lambda: keylog.exists() and expected in keylog.read_text(), WAIT)
    assert keylog.exists(), harness.why(_(
        "$SOCKETLAB_KEYLOG was set and no key log was written: call write_keylog(client key, "
        "session key) in handshake() — README step 5"))
    logged = read_keylog(keylog)
    assert written or client.key not in logged.values(), harness.why(_(
        "the key log has this session's key after another key: {text!r}. "
        "The first key is the CLIENT's public key, from its hello (the inspector finds it "
        "there), not the server's own — README steps 4 and 5").format(text=keylog.read_text()))
    assert written and client.kit.client_key in logged, harness.why(_(
        "the key log holds {text!r}; expected the line {expected!r} "
        "— README steps 4 and 5").format(text=keylog.read_text(), expected=expected))
    assert not logged_at_hello or expected in logged_at_hello[0], harness.why(_(
        "the key log line was written, but only after server_hello had gone out: "
        "write_keylog() first, then send server_hello. Whoever reads the key log (the "
        "inspector, sniffing live) must find the key before the first sealed frame comes "
        "(this check looks at the key log as your send_frame() sends server_hello) "
        "— README step 5"))


def test_plain_hello_refused(connect):
    """a plain hello gets error plaintext_refused (in plaintext), then the connection closes"""
    client = connect()
    client.send_plain({"type": "hello", "version": 1, "mode": "plain"})
    client.expect_error("plaintext_refused", _("this server only speaks box — README step 5"))
    assert client.closed(), harness.why(_("after plaintext_refused the connection must close"))


def test_low_order_keys_refused(connect):
    """a box hello with a low-order key gets error bad_key and no server_hello, then the connection closes"""
    for name, key in LOW_ORDER.items():
        client = connect()
        client.send_plain({"type": "hello", "version": 1, "mode": "box", "key": key.hex()})
        client.expect_error("bad_key", _("a hello with the key {name} must be refused before "
                                         "anything is signed: session_key() raises bad_key "
                                         "— README steps 1 and 5").format(name=_(name)))
        assert client.closed(), harness.why(_("after bad_key the connection must close"))


def test_other_bad_hellos_refused(connect):
    """a hello with no key, a bad key, an unknown mode, version 2, or login first: each refused, then closed"""
    key = bytes(PrivateKey.generate().public_key).hex()
    cases = [
        ({"type": "hello", "version": 1, "mode": "box"}, "bad_message",
         _("a box hello needs a key")),
        ({"type": "hello", "version": 1, "mode": "rot13", "key": key}, "bad_message",
         _("a mode that is neither plain nor box")),
        ({"type": "hello", "version": 1, "mode": "box", "key": "zz" * 32}, "bad_message",
         _("the key is not hex")),
        ({"type": "hello", "version": 1, "mode": "box", "key": key[:62]}, "bad_message",
         _("the key is 31 bytes: a key is 64 hex digits, checked before session_key()")),
        ({"type": "hello", "version": 2, "mode": "box", "key": key}, "bad_version",
         _("this server speaks version 1")),
        ({"type": "login", "name": "alice"}, "unexpected_message",
         _("the first frame must be hello")),
    ]
    for hello, code, why in cases:
        client = connect()
        client.send_plain(hello)
        client.expect_error(code, _("{why} (the first frame was {hello}) — README step 5").format(
            why=why, hello=hello))
        assert client.closed(), harness.why(
            _("after {code} the connection must close").format(code=code))

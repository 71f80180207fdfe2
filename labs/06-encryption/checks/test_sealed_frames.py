"""Steps 6 and 7: after the handshake every frame is sealed, both ways, errors too."""

from conftest import seal

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import encode_frame


def test_chat_over_sealed_frames(join):
    """two users chat (joined, say, whisper, who, left), every frame sealed both ways"""
    alice = join("alice")
    bob = join("bob")
    alice.expect("joined", _("bob logged in after alice"))
    alice.send({"type": "say", "text": "hello, bob"})
    for client in (alice, bob):
        said = client.expect("message", _("alice said hello, bob — README steps 6 and 7"))
        assert said["text"] == "hello, bob", harness.why(
            _("{label} got {msg}").format(label=client.who, msg=said))
    bob.send({"type": "whisper", "to": "alice", "text": "psst"})
    whisper = alice.expect("message", _("bob whispered to alice"))
    assert (whisper["from"], whisper["to"], whisper["text"]) == ("bob", "alice", "psst"), whisper
    bob.expect("message", _("a whisper comes back to its sender"))
    bob.send({"type": "who"})
    assert sorted(bob.expect("users", _("bob asked who"))["names"]) == ["alice", "bob"]
    bob.send({"type": "bye"})
    left = alice.expect("left", _("bob said bye"))
    assert (left["name"], left["reason"]) == ("bob", "quit"), left


def test_errors_after_the_handshake_are_sealed(join):
    """an error after the handshake (no_such_user, already_logged_in) comes sealed; the connection stays"""
    alice = join("alice")
    alice.send({"type": "whisper", "to": "nobody", "text": "hello?"})
    alice.expect_error("no_such_user", _("a whisper to nobody — README step 7"))
    alice.send({"type": "login", "name": "alice2"})
    alice.expect_error("already_logged_in", _("a second login — README step 7"))
    alice.send({"type": "who"})
    alice.expect("users", _("the connection stays open after those errors"))


def test_plaintext_after_the_handshake_refused(connect):
    """a plaintext frame after the handshake gets error decrypt_failed (sealed), then the connection closes"""
    client = connect("mallory")
    client.hello()
    client.send_plain({"type": "login", "name": "mallory"})
    client.expect_error("decrypt_failed", _("after the handshake every frame must open with the "
                                            "session key: channel.open() raises decrypt_failed "
                                            "— README step 6"))
    assert client.closed(), harness.why(_("after decrypt_failed the connection must close"))


def test_flipped_bit_refused(connect, join):
    """a sealed frame with one bit flipped gets decrypt_failed, the connection closes, nobody else sees it"""
    alice = join("alice")
    mallory = connect("mallory")
    mallory.hello()
    assert mallory.key is not None
    sealed = bytearray(seal(mallory.key, {"type": "login", "name": "mallory"}))
    sealed[-3] ^= 0x10
    mallory.send_raw(encode_frame(bytes(sealed)))
    mallory.expect_error("decrypt_failed", _("one bit of the ciphertext was flipped: the MAC "
                                             "does not verify — README step 6"))
    assert mallory.closed(), harness.why(_("after decrypt_failed the connection must close"))
    alice.send({"type": "who"})
    users = alice.expect("users", _("alice asked who"))
    assert users["names"] == ["alice"], harness.why(_(
        "who answered {names}: a frame that did not authenticate must never be used"
    ).format(names=users["names"]))

"""Step 1: session_key() gives both sides the same key, and refuses a key everyone could know."""

from conftest import LOW_ORDER
from nacl.public import Box, PrivateKey

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.labs.language import N_


def test_same_key_as_box(secure_module):
    """session_key(own, peer) is Box(own, peer).shared_key(), and both sides get the same key"""
    for _pair in range(3):
        alice, bob = PrivateKey.generate(), PrivateKey.generate()
        key = harness.call_with_timeout(
            secure_module.session_key, alice, bytes(bob.public_key), timeout=2)
        expected = Box(alice, bob.public_key).shared_key()
        assert key == expected, _(
            "session_key() gave {key}, "
            "Box(own, PublicKey(peer)).shared_key() gives "
            "{expected}: X25519 alone is not the session key, Box adds HSalsa20 on top "
            "— README step 1").format(key=key.hex() if isinstance(key, bytes) else repr(key),
                                      expected=expected.hex())
        other_side = secure_module.session_key(bob, bytes(alice.public_key))
        assert other_side == key, _(
            "the two sides got different keys: each uses its OWN secret and the OTHER's "
            "public key — README step 1")


def refusal(secure_module, name: str, peer: bytes) -> str:
    """The code of the ProtocolError session_key() raised for ``peer``; else the check fails."""
    try:
        key = harness.call_with_timeout(
            secure_module.session_key, PrivateKey.generate(), peer, timeout=2)
    except secure_module.ProtocolError as error:
        return str(error.code)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - any other exception is the student's to see
        raise AssertionError(_(
            "the key {name} raised {kind}: {error}; catch "
            "nacl.exceptions.CryptoError (what PyNaCl raises is a kind of it) and raise "
            "ProtocolError('bad_key', …) instead — README step 1"
        ).format(name=_(name), kind=type(error).__name__, error=error)) from None
    raise AssertionError(_(
        "session_key() accepted the key {name} and returned {key!r}: with it, anyone can "
        "compute the session key — raise ProtocolError('bad_key', …) — README step 1"
    ).format(name=_(name), key=key))


def test_low_order_keys_refused(secure_module):
    """a low-order public key (whose session key everyone knows) raises ProtocolError bad_key"""
    for name, peer in LOW_ORDER.items():
        code = refusal(secure_module, name, peer)
        assert code == "bad_key", _(
            "the key {name} raised ProtocolError {code!r}, expected 'bad_key' — README step 1"
        ).format(name=_(name), code=code)


def test_wrong_size_key_refused(secure_module):
    """a public key that is not 32 bytes (31, 33, none) raises ProtocolError bad_key"""
    for name, peer in ((N_("of 31 bytes"), bytes(range(1, 32))),
                       (N_("of 33 bytes"), bytes(range(1, 34))), (N_("of 0 bytes"), b"")):
        code = refusal(secure_module, name, peer)
        assert code == "bad_key", _(
            "the key {name} raised ProtocolError {code!r}, expected 'bad_key': an X25519 key "
            "is 32 bytes — README step 1").format(name=_(name), code=code)

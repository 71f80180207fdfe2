"""Step 3: a fingerprint people can compare."""

from nacl.signing import SigningKey

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import fingerprint as kit_fingerprint

VECTOR_IDENTITY = bytes(SigningKey(bytes(range(201, 233))).verify_key)
VECTOR_FINGERPRINT = "SHA256:8b8d 61ad 407d 5334 db27 ddcb d23f afad"  # docs/protocol.md §4 and §10


def test_fingerprint_vector(identity_module):
    """the fingerprint of §10's identity is SHA256:8b8d 61ad 407d 5334 db27 ddcb d23f afad"""
    got = harness.call_with_timeout(identity_module.fingerprint, VECTOR_IDENTITY, timeout=3)
    assert got == VECTOR_FINGERPRINT, _(
        "fingerprint({identity}…) returned {got!r}, expected "
        "{expected!r}: hash the 32 raw bytes (not their hex) with SHA-256, keep the "
        "first 32 hex digits, in groups of 4 after 'SHA256:' — README step 3"
    ).format(identity=VECTOR_IDENTITY.hex()[:16], got=got, expected=VECTOR_FINGERPRINT)


def test_fingerprint_like_the_kit(identity_module):
    """for 20 other identities your fingerprint is the kit's, character for character"""
    for _number in range(20):
        identity = bytes(SigningKey.generate().verify_key)
        got = identity_module.fingerprint(identity)
        assert got == kit_fingerprint(identity), _(
            "fingerprint({identity}) returned {got!r}; the kit says {expected!r} — README step 3"
        ).format(identity=identity.hex(), got=got, expected=kit_fingerprint(identity))

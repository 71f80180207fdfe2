"""Step 3: a fingerprint people can compare."""

from nacl.signing import SigningKey

from socketlab.labs import harness
from socketlab.protocol import fingerprint as kit_fingerprint

VECTOR_IDENTITY = bytes(SigningKey(bytes(range(201, 233))).verify_key)
VECTOR_FINGERPRINT = "SHA256:8b8d 61ad 407d 5334 db27 ddcb d23f afad"  # docs/protocol.md §4 and §10


def test_fingerprint_vector(identity_module):
    """the fingerprint of §10's identity is SHA256:8b8d 61ad 407d 5334 db27 ddcb d23f afad"""
    got = harness.call_with_timeout(identity_module.fingerprint, VECTOR_IDENTITY, timeout=3)
    assert got == VECTOR_FINGERPRINT, (
        f"fingerprint({VECTOR_IDENTITY.hex()[:16]}…) returned {got!r}, expected "
        f"{VECTOR_FINGERPRINT!r}: hash the 32 raw bytes (not their hex) with SHA-256, keep the "
        "first 32 hex digits, in groups of 4 after 'SHA256:' — README step 3")


def test_fingerprint_like_the_kit(identity_module):
    """for 20 other identities your fingerprint is the kit's, character for character"""
    for _ in range(20):
        identity = bytes(SigningKey.generate().verify_key)
        got = identity_module.fingerprint(identity)
        assert got == kit_fingerprint(identity), (
            f"fingerprint({identity.hex()}) returned {got!r}; the kit says "
            f"{kit_fingerprint(identity)!r} — README step 3")

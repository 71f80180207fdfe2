"""Step 1: the login bundle — the e2e key, signed by the user's identity, bound to the name."""

from conftest import User, expect_refusal, verifies
from nacl.signing import SigningKey

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_sign_bundle():
    """sign_bundle gives e2e_key, e2e_identity and a signature over context + key + name"""
    e2e = harness.load("e2e.py")
    identity = SigningKey.generate()
    key = bytes(User("x").e2e.public_key)
    bundle = e2e.sign_bundle(identity, key, "Zoë")
    assert isinstance(bundle, dict) and sorted(bundle) == \
        ["e2e_identity", "e2e_key", "e2e_signature"], (
            _("sign_bundle returned {bundle!r}: a dict with the three login fields "
              "e2e_key, e2e_identity, e2e_signature (hex strings) — README step 1"
              ).format(bundle=bundle))
    assert bundle["e2e_key"] == key.hex() and \
        bundle["e2e_identity"] == bytes(identity.verify_key).hex(), (
            _("sign_bundle returned {bundle}: e2e_key is the e2e key in hex, e2e_identity "
              "bytes(identity.verify_key) in hex — README step 1").format(bundle=bundle))
    assert verifies(bundle["e2e_identity"], key.hex(), "Zoë", bundle["e2e_signature"]), _(
        "the signature does not verify over b'socketlab/1 e2e key\\x00' + key (32 bytes) + "
        "the name as UTF-8: sign exactly those bytes and send .signature in hex (128 digits) — "
        "README step 1")


def test_verify_bundle():
    """verify_bundle accepts the owner's bundle, refuses it for another name or another key"""
    e2e = harness.load("e2e.py")
    alice, mallory = User("alice"), User("mallory")
    good = alice.bundle()
    key, identity, signature = (bytes.fromhex(good[f])
                                for f in ("e2e_key", "e2e_identity", "e2e_signature"))
    try:
        e2e.verify_bundle("alice", key, identity, signature)
    except Exception as error:  # noqa: BLE001 - the student's code: any exception is the hint
        raise AssertionError(_("verify_bundle refused alice's own, correctly signed bundle: "
                               "{error}. Her signature covers E2E_CONTEXT + key + the name as "
                               "UTF-8: verify exactly those bytes — README step 2").format(
                                   error=harness.describe(error))) from None
    forged = [("bob", key, identity, signature, _("alice's bundle offered as bob's")),
              ("alice", bytes(mallory.e2e.public_key), identity, signature,
               _("mallory's key with alice's identity and signature")),
              ("alice", key, bytes(mallory.identity.verify_key), signature,
               _("alice's signature checked with mallory's identity")),
              ("alice", key, identity[:31], signature,
               _("an identity of 31 bytes (VerifyKey raises ValueError: catch it too)")),
              ("alice", key, identity, signature[:63],
               _("a signature of 63 bytes (verify raises ValueError: catch it too)"))]
    for name, k, i, s, what in forged:
        expect_refusal(lambda a=(name, k, i, s): e2e.verify_bundle(*a), "bad_signature",
                       _("verify_bundle on {what} (the signature must cover the key AND the "
                         "name) — README step 2").format(what=what))

"""Step 2: the server keeps each user's bundle from their login, and checks it."""

import json

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_login_with_bundle(join, connect):
    """a login with a correctly signed bundle gets welcome; one without (an old client) too"""
    join("alice")
    join("bob", e2e=False)


def test_bad_signature_refused(connect):
    """a bundle whose signature does not verify gets bad_signature, and the connection closes"""
    mallory = connect("mallory")
    bundle = mallory.user.bundle("alice")  # signed for another name
    mallory.send({"type": "login", "name": "mallory", **bundle})
    answer = mallory.recv()
    assert answer is not None and answer.get("type") == "error" and \
        answer.get("code") == "bad_signature", harness.why(_(
            "a login whose e2e_signature was made for another name got {answer}: check_bundle "
            "must call verify_bundle(name, key, identity, signature) — README step 3").format(
                answer=json.dumps(answer) if answer else _("nothing")))
    assert mallory.closed(), harness.why(_(
        "after bad_signature the server must close the connection: the client is broken "
        "or hostile — README step 3"))


def test_bundle_all_or_none(connect):
    """a login with only some of the e2e fields gets bad_message; a low-order key bad_key"""
    half = connect("half")
    bundle = half.user.bundle()
    del bundle["e2e_signature"]
    half.send({"type": "login", "name": "half", **bundle})
    half.expect_error("bad_message", _("e2e_key, e2e_identity, e2e_signature come all three "
                                       "or none — README step 3"))
    assert half.closed(), harness.why(_("bad_message closes the connection — README step 3"))
    weak = connect("weak")
    bundle = weak.user.bundle()
    bundle["e2e_key"] = "00" * 32
    weak.send({"type": "login", "name": "weak", **bundle})
    weak.expect_error("bad_key", _("an all-zero X25519 key is a low-order point: anyone could "
                                   "compute what is sealed to it; session_key(new_key(), key) "
                                   "raises bad_key — README step 3"))

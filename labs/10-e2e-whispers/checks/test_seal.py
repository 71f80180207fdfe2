"""Step 5: sealing and opening a whisper, and pinning each user's identity (e2e.py)."""

from conftest import User, dumps, expect_refusal
from nacl.exceptions import CryptoError
from nacl.public import Box, PrivateKey, PublicKey
from nacl.signing import SigningKey

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import fingerprint


def test_seal_whisper():
    """a whisper sealed by seal_whisper opens with the recipient's secret, and holds from, to, text"""
    e2e = harness.load("e2e.py")
    alice, bob = PrivateKey.generate(), PrivateKey.generate()
    sealed = e2e.seal_whisper(alice, bytes(bob.public_key), "alice", "bob", "héllo 👋")
    assert isinstance(sealed, tuple) and len(sealed) == 2, _(
        "seal_whisper returned {sealed!r}: a pair (nonce, box), both hex — README step 6"
    ).format(sealed=sealed)
    nonce, box = sealed
    assert isinstance(nonce, str) and len(bytes.fromhex(nonce)) == 24, _(
        "the nonce {nonce!r} should be 24 random bytes in hex (48 digits) — README step 6"
    ).format(nonce=nonce)
    try:
        plain = Box(bob, PublicKey(bytes(alice.public_key))).decrypt(bytes.fromhex(box),
                                                                      bytes.fromhex(nonce))
    except (CryptoError, ValueError):
        raise AssertionError(_(
            "bob could not open the box with his secret and alice's public key: seal with "
            "Box(own, PublicKey(recipient's key)) and send .ciphertext (MAC + ciphertext, "
            "without the nonce) — README step 6")) from None
    expected = dumps({"from": "alice", "to": "bob", "text": "héllo 👋"})
    assert plain == expected, _(
        "inside the box was {plain!r}; expected {expected!r}: compact UTF-8 JSON with from, "
        "to, text in that order (inner_json) — README step 6").format(plain=plain,
                                                                      expected=expected)
    again = e2e.seal_whisper(alice, bytes(bob.public_key), "alice", "bob", "héllo 👋")
    assert again[0] != nonce, _("two whispers got the same nonce: draw a random one each time")


def test_open_whisper():
    """open_whisper opens a whisper sealed to you; a tampered one is e2e_decrypt_failed"""
    e2e = harness.load("e2e.py")
    alice, bob = User("alice"), User("bob")
    inner = {"from": "alice", "to": "bob", "text": "psst"}
    nonce, box = alice.seal(bytes(bob.e2e.public_key), inner)
    got = e2e.open_whisper(bob.e2e, bytes(alice.e2e.public_key), nonce, box)
    assert got == inner, _(
        "bob opened alice's whisper and got {got!r}; expected {inner!r} — README step 7"
    ).format(got=got, inner=inner)
    flipped = box[:-2] + format(int(box[-2:], 16) ^ 1, "02x")
    tampered = [(_("a box with one bit flipped"), (bytes(alice.e2e.public_key), nonce, flipped)),
                (_("a box sealed to someone else"),
                 (bytes(alice.e2e.public_key), *User("x").seal(bytes(alice.e2e.public_key), inner)))]
    for what, args in tampered:
        expect_refusal(lambda args=args: e2e.open_whisper(bob.e2e, *args), "e2e_decrypt_failed",
                       _("open_whisper on {what} — README step 7").format(what=what))
    nonce, box = alice.seal(bytes(bob.e2e.public_key), {"from": "alice", "text": "no to"})
    expect_refusal(lambda: e2e.open_whisper(bob.e2e, bytes(alice.e2e.public_key), nonce, box),
                   "e2e_bad_inner",
                   _("open_whisper on a sealed whisper without 'to' — README step 7"))


def test_user_pins(tmp_path):
    """check_user_pin: new, then known; another identity is refused showing both fingerprints"""
    e2e = harness.load("e2e.py")
    first, second = bytes(SigningKey.generate().verify_key), bytes(SigningKey.generate().verify_key)
    where = "127.0.0.1:7777"
    assert e2e.check_user_pin(tmp_path, where, "bob", first) == "new", \
        _("the first identity seen for bob is pinned and 'new' is returned — README step 8")
    line = f"{where} bob {first.hex()}"
    saved = (tmp_path / "known_users").read_text(encoding="utf-8").splitlines() \
        if (tmp_path / "known_users").exists() else []
    assert line in saved, _(
        "known_users holds {saved}; expected the line {line!r} (HOST:PORT NAMEKEY IDENTITY) "
        "— README step 8").format(saved=saved, line=line)
    assert e2e.check_user_pin(tmp_path, where, "bob", first) == "known", \
        _("the pinned identity again is 'known' — README step 8")
    assert e2e.check_user_pin(tmp_path, "127.0.0.1:7778", "bob", second) == "new", \
        _("pins are per server (HOST:PORT) and per user — README step 8")
    message = expect_refusal(lambda: e2e.check_user_pin(tmp_path, where, "bob", second),
                             "identity_changed", _("check_user_pin with another identity for a "
                                                   "pinned user (what a lying server sends) — "
                                                   "README step 8"))
    missing = [fingerprint(key) for key in (first, second) if fingerprint(key) not in message]
    assert not missing, _(
        "the warning was {message!r}; it must show both fingerprints (missing {missing}), so "
        "the user can compare them with bob — README step 8").format(message=message,
                                                                     missing=missing)

"""Step 3: open() returns the body only from a frame that authenticates."""

import os
import struct

import nacl.utils
from nacl.bindings import crypto_box_easy_afternm

from socketlab.labs import harness
from socketlab.labs.harness import _

BODY = b'{"type":"say","text":"hi"}'


def sealed_plaintext(key: bytes, plaintext: bytes) -> bytes:
    nonce = nacl.utils.random(24)
    return nonce + crypto_box_easy_afternm(plaintext, nonce, key)


def one_frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def refusal(module, channel, sealed: bytes) -> str:
    """The code open() raised for ``sealed``; fails the check if it returned instead."""
    try:
        got = harness.call_with_timeout(channel.open, sealed, timeout=2)
    except module.ProtocolError as error:
        return str(error.code)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - any other exception is the student's to see
        raise AssertionError(_("open() raised {kind}: {error}").format(
            kind=type(error).__name__, error=error)) from None
    raise AssertionError(_("open() returned {got!r}").format(got=got))


def test_opens_a_sealed_frame(secure_module):
    """open() gives back the body of a frame sealed with the session key"""
    key = os.urandom(32)
    channel = secure_module.SecureChannel(key, "server")
    got = harness.call_with_timeout(channel.open, sealed_plaintext(key, one_frame(BODY)), timeout=2)
    assert got == BODY, _(
        "open() returned {got!r}, expected {body!r}: the nonce is the first 24 bytes, the rest "
        "goes to crypto_box_open_easy_afternm; return the body without its 4-byte length "
        "— README step 3").format(got=got, body=BODY)
    mine = secure_module.SecureChannel(key, "client").seal(BODY)
    assert channel.open(mine) == BODY, _("open() could not open what seal() made — README step 3")


def test_tampered_frame_refused(secure_module):
    """one flipped bit (in the nonce, the MAC or the ciphertext), a wrong key or too few bytes: decrypt_failed"""
    key = os.urandom(32)
    channel = secure_module.SecureChannel(key, "server")
    good = sealed_plaintext(key, one_frame(BODY))
    cases = {_("a flipped bit at byte {index}").format(index=i):
             good[:i] + bytes([good[i] ^ 1]) + good[i + 1:] for i in (0, 30, len(good) - 1)}
    cases[_("a wrong key")] = sealed_plaintext(os.urandom(32), one_frame(BODY))
    cases[_("39 bytes")] = good[:39]
    for what, sealed in cases.items():
        try:
            code = refusal(secure_module, channel, sealed)
        except AssertionError as error:
            raise AssertionError(_(
                "{what}: {error}; a frame that does not authenticate must never be used: "
                "ProtocolError('decrypt_failed', …) — README step 3"
            ).format(what=what, error=error)) from None
        assert code == "decrypt_failed", _(
            "{what}: open() raised {code!r}, expected 'decrypt_failed' — README step 3"
        ).format(what=what, code=code)


def test_malformed_inner_frame_refused(secure_module):
    """an authentic frame whose inside is not one whole inner frame: frame_empty or frame_truncated"""
    key = os.urandom(32)
    channel = secure_module.SecureChannel(key, "server")
    cases = {
        _("an empty plaintext"): (b"", "frame_empty"),
        _("an inner frame of length 0"): (struct.pack(">I", 0), "frame_empty"),
        _("2 bytes (less than a length)"): (b"\x00\x00", "frame_truncated"),
        _("a length longer than the rest"): (struct.pack(">I", 100) + BODY, "frame_truncated"),
        _("two inner frames (the length is not all the rest)"): (
            one_frame(BODY) + one_frame(BODY), "frame_truncated"),
    }
    for what, (plaintext, expected) in cases.items():
        try:
            code = refusal(secure_module, channel, sealed_plaintext(key, plaintext))
        except AssertionError as error:
            raise AssertionError(_("{what} inside: {error}; expected ProtocolError "
                                   "{expected!r} — README step 3").format(
                                       what=what, error=error, expected=expected)) from None
        assert code == expected, _(
            "{what} inside: open() raised {code!r}, expected {expected!r} — README step 3"
        ).format(what=what, code=code, expected=expected)

"""Step 4: open, the MAC first, then the nonce, then the message inside."""

from conftest import refusal
from nacl.bindings import crypto_box_easy_afternm

from socketlab.i18n import N_
from socketlab.labs.harness import _
from socketlab.protocol import SecureChannel, encode_frame, make_nonce

STEP = N_("README step 4")
SAY = b'{"type":"say","text":"meet at noon"}'


def _seal(key: bytes, nonce: bytes, body: bytes = SAY) -> bytes:
    """A frame sealed with the session key under any nonce we like (the rules broken on purpose)."""
    return nonce + crypto_box_easy_afternm(encode_frame(body), nonce, key)


def _flip(frame: bytes, byte: int, bit: int = 0) -> bytes:
    flipped = bytearray(frame)
    flipped[byte] ^= 1 << bit
    return bytes(flipped)


def _open(channel, frame: bytes) -> tuple[str | None, bytes | None]:
    """(the code it was refused with, or None) and what open() returned."""
    got: list[bytes] = []
    code = refusal(lambda: got.append(channel.open(frame)), STEP)
    return code, (got[0] if got else None)


def test_kit_frames_open_in_order(secure, key):
    """three frames the kit's client channel seals open in order, each to its message body"""
    channel, kit = secure.SecureChannel(key, "server"), SecureChannel(key, "client")
    for number in range(3):
        body = b'{"type":"say","text":"line %d"}' % number
        code, got = _open(channel, kit.seal(encode_frame(body)))
        assert code is None, _(
            "the client's frame {number} (sealed by the kit, by the rules) was refused with "
            "{code}: decrypt (the given decrypt(self.box, sealed)), then check_nonce() on the "
            "nonce, the first 24 bytes — {step}").format(number=number, code=code, step=_(STEP))
        assert got == body, _(
            "open() returned {got!r} for frame {number}, expected the body {body!r}: "
            "return the inner frame's body (inner_body) — {step}").format(
                got=got, number=number, body=body, step=_(STEP))


def test_flipped_bit_is_decrypt_failed(secure, key):
    """a frame with one bit flipped in its MAC or its ciphertext is refused with decrypt_failed"""
    frame = SecureChannel(key, "client").seal(encode_frame(SAY))
    for where, byte in ((N_("the MAC"), 30), (N_("the ciphertext"), 50),
                        (N_("the last byte"), len(frame) - 1)):
        code, got = _open(secure.SecureChannel(key, "server"), _flip(frame, byte, 3))
        assert code == "decrypt_failed", _(
            "a frame with a bit flipped in {where} (byte {byte}) gave "
            "{got}, expected decrypt_failed: the given decrypt() "
            "checks the MAC — call it first — {step}").format(
                where=_(where), byte=byte, got=code or _("the body {got!r}").format(got=got),
                step=_(STEP))


def test_short_frame_is_decrypt_failed(secure, key):
    """a sealed frame of 39 bytes (shorter than nonce + MAC) is refused with decrypt_failed"""
    code, _body = _open(secure.SecureChannel(key, "server"), make_nonce("client", 0) + bytes(15))
    assert code == "decrypt_failed", _(
        "a 39-byte frame gave {code}, expected decrypt_failed: a sealed frame "
        "has at least NONCE_SIZE + MAC_SIZE = 40 bytes, which the given decrypt() checks "
        "— {step}").format(code=code or _("no error"), step=_(STEP))


def test_tampered_nonce_fails_the_mac(secure, key):
    """a frame whose nonce was changed on the way is decrypt_failed (the MAC covers the nonce)"""
    frame = SecureChannel(key, "client").seal(encode_frame(SAY))
    changes = {N_("a padding byte"): (7, 0), N_("the direction byte (C → B)"): (0, 0),
               N_("the counter (0 → 1)"): (23, 0)}
    for what, (byte, bit) in changes.items():
        code, _body = _open(secure.SecureChannel(key, "server"), _flip(frame, byte, bit))
        assert code == "decrypt_failed", _(
            "a frame whose nonce was tampered with ({what}) gave {code}, expected "
            "decrypt_failed: check the MAC FIRST; only a nonce that passed it is the one the "
            "sender used, so only then does check_nonce() look at it — {step}").format(
                what=_(what), code=code or _("no error"), step=_(STEP))


def test_forgery_does_not_count(secure, key):
    """a forged frame 0 is refused and does not count: the genuine frame 0 still opens after it"""
    genuine = SecureChannel(key, "client").seal(encode_frame(SAY))
    channel = secure.SecureChannel(key, "server")
    code, _body = _open(channel, _flip(genuine, 60))
    assert code == "decrypt_failed", _(
        "a frame with a flipped bit gave {code}, expected decrypt_failed — {step}").format(
            code=code or _("no error"), step=_(STEP))
    code, got = _open(channel, genuine)
    assert code is None and got == SAY, _(
        "after a forged frame 0 was refused, the genuine frame 0 gave {got}: the "
        "forgery moved your counter on. Check the nonce only once the MAC verified — "
        "{step}").format(got=code or repr(got), step=_(STEP))


def test_rule_breakers_refused(secure, key):
    """frames sealed with the right key but against the rules: bad_nonce, reflected, replayed, reordered"""
    client = SecureChannel(key, "client")
    frames = [client.seal(encode_frame(SAY)) for _number in range(3)]
    cases = [
        ("bad_nonce", N_("a nonce with byte 9 set, sealed with the key"), [],
         _seal(key, make_nonce("client", 0)[:9] + b"\x01" + make_nonce("client", 0)[10:])),
        ("reflected", N_("the server's own frame 0"), [],
         SecureChannel(key, "server").seal(encode_frame(SAY))),
        ("replayed", N_("frame 1 again, after frames 0 and 1"), frames[:2], frames[1]),
        ("reordered", N_("frame 2 right after frame 0"), frames[:1], frames[2]),
    ]
    for expected, what, before, frame in cases:
        channel = secure.SecureChannel(key, "server")
        for number, earlier in enumerate(before):
            code, _body = _open(channel, earlier)
            assert code is None, _(
                "the client's frame {number} was refused with {code} — {step}").format(
                    number=number, code=code, step=_(STEP))
        code, got = _open(channel, frame)
        assert code == expected, _(
            "{what} gave {got}, expected {expected}: after the MAC, "
            "open() checks the nonce (the first NONCE_SIZE bytes) with check_nonce() — {step}"
        ).format(what=_(what), got=code or _("the body {got!r}").format(got=got),
                 expected=expected, step=_(STEP))


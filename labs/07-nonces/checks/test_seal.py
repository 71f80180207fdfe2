"""Step 2: seal, one nonce per frame, never the same one twice."""

from conftest import kit_code, refusal

from socketlab.i18n import N_
from socketlab.labs.harness import _
from socketlab.protocol import NONCE_SIZE, SecureChannel, make_nonce

STEP = N_("README step 2")
# What to change when the kit refuses a frame of yours with this code.
KIT_REFUSED = {
    "decrypt_failed": N_("encrypt the inner frame (inner_frame(body)) under the session key with "
                         "self.box.encrypt(plaintext, nonce)"),
    "replayed": N_("the counter did not go up"),
    "reordered": N_("the counter skipped one"),
    "bad_nonce": N_("the nonce is not the protocol's layout (make_nonce)"),
    "frame_truncated": N_("seal inner_frame(body), not body: the plaintext is the message's "
                          "4-byte length, then the message"),
    "frame_empty": N_("seal inner_frame(body), not body"),
    "reflected": N_("the nonce says the wrong direction (self.role)"),
}


def _seal_three(secure, key: bytes, role: str) -> list[bytes]:
    channel = secure.SecureChannel(key, role)
    sealed = []
    for text in (b'{"type":"say","text":"one"}', b'{"type":"say","text":"two"}',
                 b'{"type":"say","text":"three"}'):
        code = refusal(lambda body=text: sealed.append(channel.seal(body)), STEP)
        assert code is None, _("seal() refused to seal a message with {code} — {step}").format(
            code=code, step=_(STEP))
    for frame in sealed:
        assert isinstance(frame, bytes) and len(frame) > NONCE_SIZE + 16, _(
            "seal() returned {frame!r:.80}: it returns bytes, nonce + MAC + ciphertext — "
            "README step 2").format(frame=frame)
    return sealed


def test_first_frame_nonce(secure, key):
    """the first frame a client seals starts with make_nonce("client", 0), a server's with ("server", 0)"""
    for role in ("client", "server"):
        first = _seal_three(secure, key, role)[0]
        expected = make_nonce(role, 0)
        assert first[:NONCE_SIZE] == expected, _(
            "the first frame the {role} sealed starts with {got}, "
            "expected the nonce {expected}: seal with make_nonce(self.role, self.sent), "
            "not a random nonce (that was lab 06) — README step 2").format(
                role=role, got=first[:NONCE_SIZE].hex(" "), expected=expected.hex(" "))


def test_no_nonce_is_used_twice(secure, key):
    """three frames in a row carry the counters 0, 1, 2: the counter goes up with every seal"""
    for role in ("client", "server"):
        counters = [int.from_bytes(frame[16:NONCE_SIZE], "big")
                    for frame in _seal_three(secure, key, role)]
        assert counters == [0, 1, 2], _(
            "three frames the {role} sealed carry the counters {counters}, expected [0, 1, 2]: "
            "add 1 to self.sent after each seal — the same nonce twice under one key "
            "gives away the XOR of the two messages — README step 2").format(
                role=role, counters=counters)


def test_kit_opens_your_frames(secure, key):
    """the kit's SecureChannel, as the peer, opens your three frames in order and reads each body"""
    bodies = [b'{"type":"say","text":"one"}', b'{"type":"say","text":"two"}',
              b'{"type":"say","text":"three"}']
    peer = SecureChannel(key, "server")
    for number, (frame, body) in enumerate(zip(_seal_three(secure, key, "client"), bodies,
                                               strict=True)):
        opened: list[list[bytes]] = []
        code = kit_code(lambda frame=frame, out=opened: out.append(peer.open_bodies(frame)))
        assert code is None, _(
            "the kit refused the client's frame {number} with {code}: {change} — README step 2"
        ).format(number=number, code=code,
                 change=_(KIT_REFUSED[code]) if code in KIT_REFUSED else "")
        assert opened[0] == [body], _(
            "frame {number} held {opened!r}, expected [{body!r}]: seal inner_frame(body) "
            "— README step 2").format(number=number, opened=opened[0], body=body)


def test_counter_exhausted(secure, key):
    """the frame with counter 2**64 - 1 is sealed; the next one is refused with counter_exhausted"""
    channel = secure.SecureChannel(key, "server")
    # Sealing 2**64 frames would take forever: the check sets the counter README step 2 names.
    set_by_check = _("(this check set channel.sent = 2**64 - 1, as if that many frames had been "
                     "sealed: seal() must take its counter from self.sent and count it there)")
    channel.sent = 2**64 - 1
    last: list[bytes] = []
    assert refusal(lambda: last.append(channel.seal(b'{"type":"pong"}')), STEP) is None, _(
        "seal() refused the frame with counter 2**64 - 1: that is the last one allowed, "
        "refuse only when self.sent is ABOVE MAX_COUNTER {set_by_check} — README step 2").format(
            set_by_check=set_by_check)
    counter = int.from_bytes(last[0][16:NONCE_SIZE], "big")
    assert last[0][:NONCE_SIZE] == make_nonce("server", 2**64 - 1), _(
        "the frame sealed next carries the counter {counter}, expected 2**64 - 1 "
        "{set_by_check} — README step 2").format(counter=counter, set_by_check=set_by_check)
    code = refusal(lambda: channel.seal(b'{"type":"pong"}'), STEP)
    assert code == "counter_exhausted", _(
        "sealing after the counter 2**64 - 1 gave {code}: the counter would wrap "
        "to 0 and a nonce be used twice; raise ProtocolError('counter_exhausted', ...) "
        "— README step 2").format(code=code or _("a frame"))


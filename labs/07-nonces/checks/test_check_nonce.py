"""Step 3: check_nonce, the receiver's rules in docs/protocol.md's order."""

from conftest import refusal

from socketlab.i18n import N_
from socketlab.labs.harness import _
from socketlab.protocol import make_nonce

STEP = N_("README step 3")


def _server(secure, key: bytes):
    """The student's channel on the server's side: it receives the client's frames."""
    return secure.SecureChannel(key, "server")


def _accept(channel, counters: list[int]) -> None:
    for counter in counters:
        code = refusal(lambda c=counter: channel.check_nonce(make_nonce("client", c)), STEP)
        slicing = (_(" (byte 0 is nonce[:1], which is bytes like b'C'; nonce[0] is an int, 67)")
                   if code == "bad_nonce" else "")
        assert code is None, _(
            "the server's channel refused the client's nonce with counter {counter} ({code}) "
            "after accepting {accepted}: the peer's next counter is "
            "accepted, and self.received goes up by one{slicing} — {step}").format(
                counter=counter, code=code, accepted=counters[:counters.index(counter)],
                slicing=slicing, step=_(STEP))


TWO_COUNTERS = N_("keep two counters: self.sent for the frames you seal, self.received for "
                  "the peer's frames you accept. Each side counts its own frames from 0: one "
                  "counter for both mixes them up")


def test_next_counters_accepted(secure, key):
    """the client's counters 0, 1, 2, 3 are accepted one after another"""
    channel = _server(secure, key)
    _accept(channel, [0, 1, 2, 3])
    received = getattr(channel, "received", None)
    sent = getattr(channel, "sent", None)
    assert received == 4, _(
        "after 4 accepted frames self.received is {received}, expected 4{missing}{sent}. "
        "{two_counters} — {step}").format(
            received=received,
            missing=_(" (your SecureChannel has no self.received)")
            if not hasattr(channel, "received") else "",
            sent=_(", and self.sent is {sent}: check_nonce() counted with the sending counter"
                   ).format(sent=sent) if sent == 4 else "",
            two_counters=_(TWO_COUNTERS), step=_(STEP))


def test_sending_and_receiving_count_apart(secure, key):
    """sealing does not move the receiving counter, nor accepting the sending one"""
    channel = _server(secure, key)
    for _seal in range(2):
        refusal(lambda: channel.seal(b'{"type":"pong"}'), STEP)
    code = refusal(lambda: channel.check_nonce(make_nonce("client", 0)), STEP)
    assert code is None, _(
        "the server's channel sealed 2 frames, then refused the client's FIRST frame "
        "(counter 0) with {code}: {two_counters} — README steps 2 and 3").format(
            code=code, two_counters=_(TWO_COUNTERS))
    _accept(channel, [1, 2])
    frame: list[bytes] = []
    refusal(lambda: frame.append(channel.seal(b'{"type":"pong"}')), STEP)
    counter = int.from_bytes(frame[0][16:24], "big") if frame else None
    assert counter == 2, _(
        "the server's channel sealed 2 frames and accepted 3 of the client's; its next frame "
        "carries the counter {counter}, expected 2: {two_counters} — README steps 2 and 3"
    ).format(counter=counter, two_counters=_(TWO_COUNTERS))


def test_bad_layout_is_bad_nonce(secure, key):
    """a nonce with a non-zero byte among bytes 1-15, or a direction other than C or S: bad_nonce"""
    good = make_nonce("client", 0)
    cases = {
        N_("byte 7 is 1"): good[:7] + b"\x01" + good[8:],
        N_("byte 15 is 0x80"): good[:15] + b"\x80" + good[16:],
        N_("byte 0 is b'X'"): b"X" + good[1:],
        N_("byte 0 is b'c' (lower case)"): b"c" + good[1:],
        N_("byte 0 is b'S' and byte 1 is 1"): b"S\x01" + good[2:],  # bad_nonce before reflected
    }
    for what, nonce in cases.items():
        code = refusal(lambda n=nonce: _server(secure, key).check_nonce(n), STEP)
        assert code == "bad_nonce", _(
            "a nonce where {what} ({nonce}) gave {code}, expected "
            "bad_nonce: first of all, byte 0 is b'C' or b'S' and bytes 1-15 are zero — {step}"
        ).format(what=_(what), nonce=nonce.hex(" "), code=code or _("no error"), step=_(STEP))


def test_own_direction_is_reflected(secure, key):
    """a nonce with the server's own direction, whatever its counter, is refused as reflected"""
    for counter in (0, 5):
        code = refusal(lambda c=counter: _server(secure, key).check_nonce(make_nonce("server", c)),
                       STEP)
        assert code == "reflected", _(
            "the server's channel got a nonce with ITS OWN direction (b'S', counter {counter}) "
            "and said {code}, expected reflected: that frame was "
            "sealed by this side and sent back to it; compare byte 0 with "
            "DIRECTIONS[self.role] before you look at the counter — {step}").format(
                counter=counter, code=code or _("nothing: it accepted it"), step=_(STEP))


def test_old_counter_is_replayed(secure, key):
    """after counters 0, 1, 2: the counter 2 again, and 0 again, are refused as replayed"""
    for again in (2, 0):
        channel = _server(secure, key)
        _accept(channel, [0, 1, 2])
        code = refusal(lambda a=again, ch=channel: ch.check_nonce(make_nonce("client", a)), STEP)
        assert code == "replayed", _(
            "after the counters 0, 1, 2 the counter {again} came again and got "
            "{code}, expected replayed: a counter below self.received "
            "(the next one expected, 3) has been seen already — {step}").format(
                again=again, code=code or _("accepted"), step=_(STEP))


def test_future_counter_is_reordered(secure, key):
    """after counter 0: the counter 2 (1 skipped) is refused as reordered"""
    channel = _server(secure, key)
    _accept(channel, [0])
    code = refusal(lambda: channel.check_nonce(make_nonce("client", 2)), STEP)
    assert code == "reordered", _(
        "after the counter 0 came the counter 2 and got {code}, expected "
        "reordered: a counter above self.received means a frame was held back — {step}").format(
            code=code or _("accepted"), step=_(STEP))


"""Step 1: make_nonce, the direction and the counter in 24 bytes."""

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import make_nonce as kit_nonce


def _nonce(secure, role: str, counter: int) -> bytes:
    try:
        return secure.make_nonce(role, counter)
    except Exception as error:  # noqa: BLE001 - the student's mistake, said in words
        raise AssertionError(_("make_nonce({role!r}, {counter}): {error} — README step 1").format(
            role=role, counter=counter, error=harness.describe(error))) from None


def test_first_nonces():
    """make_nonce("client", 0) is b"C" + 23 zero bytes, make_nonce("server", 0) b"S" + 23 zero bytes"""
    secure = harness.load("secure.py")
    for role in ("client", "server"):
        got = _nonce(secure, role, 0)
        assert isinstance(got, bytes) and len(got) == 24, _(
            "make_nonce({role!r}, 0) returned {got!r}: a nonce is 24 bytes — README step 1"
        ).format(role=role, got=got)
        assert got == kit_nonce(role, 0), _(
            "make_nonce({role!r}, 0) returned {got}, expected "
            "{expected}: byte 0 is the direction ({direction!r} for "
            "the {role}), then 23 zero bytes — README step 1").format(
                role=role, got=got.hex(" "), expected=kit_nonce(role, 0).hex(" "),
                direction=role[0].upper())


def test_counter_is_big_endian():
    """the counter fills bytes 16-23, big-endian: 1, 258 and 2**64 - 1 land where the protocol says"""
    secure = harness.load("secure.py")
    for role, counter in (("client", 1), ("server", 258), ("client", 2**64 - 1)):
        got, expected = _nonce(secure, role, counter), kit_nonce(role, counter)
        assert got == expected, _(
            "make_nonce({role!r}, {counter}) returned {got}, expected "
            "{expected}: the counter is COUNTER.pack(counter), 8 bytes with the "
            "most significant first, after the direction and 15 zero bytes — README step 1"
        ).format(role=role, counter=counter, got=got.hex(" "), expected=expected.hex(" "))


"""Step 6: trust on first use — pin the first identity, refuse a different one."""

from conftest import code_of, refusal
from nacl.signing import SigningKey

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import fingerprint


def _identity() -> bytes:
    return bytes(SigningKey.generate().verify_key)


def test_first_contact_pins(pins_module, home):
    """the first contact with HOST:PORT is 'new' and pins its identity in known_servers"""
    identity = _identity()
    got = harness.call_with_timeout(pins_module.check_pin, home, "127.0.0.1", 7777, identity,
                                    timeout=3)
    assert got == "new", _(
        "check_pin of a server never seen returned {got!r}, expected 'new' — README step 6"
    ).format(got=got)
    path = home / "known_servers"
    text = path.read_text(encoding="utf-8") if path.exists() else _("(no file)")
    assert text == f"127.0.0.1:7777 {identity.hex()}\n", _(
        "after the first contact known_servers holds {text!r}, expected the line "
        "'127.0.0.1:7777 {identity}': the pin's name is HOST:PORT (f\"{{host}}:{{port}}\", "
        "the host as typed), then a space and the identity in hex — README step 6"
    ).format(text=text, identity=identity.hex())


def test_same_identity_known(pins_module, home):
    """the same identity at the same HOST:PORT again is 'known', and the file does not change"""
    identity = _identity()
    pins_module.check_pin(home, "127.0.0.1", 7777, identity)
    before = (home / "known_servers").read_bytes()
    got: list[str] = []
    error = refusal(lambda: got.append(pins_module.check_pin(home, "127.0.0.1", 7777, identity)),
                    "check_pin")
    assert error is None, _(
        "check_pin refused the very identity it had pinned ({code}): compare like "
        "with like. The pin is hex text, the identity bytes: pinned == identity.hex() "
        "— README step 6").format(code=code_of(error))
    assert got == ["known"], _(
        "check_pin of the pinned identity returned {got!r}, expected 'known' — README step 6"
    ).format(got=got[0])
    assert (home / "known_servers").read_bytes() == before, _(
        "known_servers changed although nothing new was pinned — README step 6")


def test_changed_identity_refused(pins_module, home):
    """another identity at a pinned HOST:PORT is refused, with BOTH fingerprints and how to forget; the pin stays"""
    pinned, impostor = _identity(), _identity()
    pins_module.check_pin(home, "127.0.0.1", 7777, pinned)
    before = (home / "known_servers").read_bytes()
    error = refusal(lambda: pins_module.check_pin(home, "127.0.0.1", 7777, impostor), "check_pin")
    assert error is not None, _(
        "check_pin accepted a different identity for a pinned server: that is exactly what a "
        "man in the middle presents. Compare with the pin and raise identity_changed — README step 6")
    assert code_of(error) == "identity_changed", _(
        "check_pin refused with {code}: {error}; expected "
        "ProtocolError('identity_changed', warning) — README step 6"
    ).format(code=code_of(error), error=error)
    warning = str(getattr(error, "message", error))
    missing = [label.format(fingerprint=fingerprint(key)) for label, key
               in ((_("the pinned fingerprint {fingerprint}"), pinned),
                   (_("the presented fingerprint {fingerprint}"), impostor))
               if fingerprint(key) not in warning]
    assert not missing, _(
        "the warning is:\n{warning}\nIt lacks {missing}: a person compares both "
        "with the server's operator — README step 6"
    ).format(warning=warning, missing=_(" and ").join(missing))
    assert "forget" in warning and "127.0.0.1:7777" in warning, _(
        "the warning is:\n{warning}\nIt must say how to forget the pin of 127.0.0.1:7777 "
        "(python chat_client.py --forget-server 127.0.0.1:7777) — README step 6"
    ).format(warning=warning)
    assert (home / "known_servers").read_bytes() == before, _(
        "after refusing the impostor, known_servers changed: the pin must stay as it was, or "
        "the next connection trusts the man in the middle (trust on FIRST use) — README step 6")


# Two identities whose fingerprints share their first 10 hex digits (found by trying
# about a million: an attacker tries far more, so a fingerprint's start proves nothing).
FINGERPRINT_TWINS = (
    bytes.fromhex("92a067b302c1dcb1063fe5ad774cc7c763c325740608e58000000000001c9ea9"),
    bytes.fromhex("92a067b302c1dcb1063fe5ad774cc7c763c325740608e580000000000028bac4"),
)


def test_look_alike_identity_refused(pins_module, home):
    """an impostor whose identity or fingerprint starts (or ends) like the pinned one is refused"""
    pinned = _identity()
    cases = {
        "first": (_("shares the pinned identity's first 31 bytes"),
                  pinned[:31] + bytes([pinned[31] ^ 1])),
        "last": (_("shares the pinned identity's last 31 bytes"),
                 bytes([pinned[0] ^ 1]) + pinned[1:]),
    }
    for folder, (what, impostor) in cases.items():
        home_here = home / folder
        pins_module.check_pin(home_here, "127.0.0.1", 7777, pinned)
        _refused_look_alike(pins_module, home_here, impostor, what)
    first, second = FINGERPRINT_TWINS
    pins_module.check_pin(home / "twins", "127.0.0.1", 7777, first)
    _refused_look_alike(pins_module, home / "twins", second,
                        _("has a fingerprint that starts like the pinned one ({start}…)").format(
                            start=fingerprint(second)[:18]))


def _refused_look_alike(pins_module, home, impostor: bytes, what: str) -> None:
    error = refusal(lambda: pins_module.check_pin(home, "127.0.0.1", 7777, impostor), "check_pin")
    assert code_of(error) == "identity_changed", (
        (_("an impostor that {what} was accepted as 'known'").format(what=what) if error is None
         else _("an impostor that {what} was refused with {code}").format(
             what=what, code=code_of(error)))
        + _(": compare the whole identity (all 64 hex digits, pinned == identity.hex()), never "
            "a prefix, a suffix or the start of a fingerprint: an attacker makes keys until one "
            "looks alike — README step 6"))


def test_each_server_its_own_pin(pins_module, home):
    """another port, or 'localhost' for '127.0.0.1', is another server with a pin of its own"""
    first, second, third = _identity(), _identity(), _identity()
    pins_module.check_pin(home, "127.0.0.1", 7777, first)
    for host, port, identity in (("127.0.0.1", 7778, second), ("localhost", 7777, third)):
        error = refusal(lambda h=host, p=port, i=identity: pins_module.check_pin(home, h, p, i),
                        "check_pin")
        assert error is None, _(
            "check_pin refused {host}:{port} ({code}) because 127.0.0.1:7777 is pinned: "
            "a pin belongs to HOST:PORT exactly as typed — README step 6"
        ).format(host=host, port=port, code=code_of(error))
    lines = sorted((home / "known_servers").read_text(encoding="utf-8").splitlines())
    expected = sorted([f"127.0.0.1:7777 {first.hex()}", f"127.0.0.1:7778 {second.hex()}",
                       f"localhost:7777 {third.hex()}"])
    assert lines == expected, _(
        "known_servers holds {lines}, expected {expected} — README step 6"
    ).format(lines=lines, expected=expected)

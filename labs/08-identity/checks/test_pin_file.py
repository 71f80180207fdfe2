"""Steps 4 and 5: known_servers, in the format the kit's client uses too."""

import os
import sys

from nacl.signing import SigningKey

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import PinStore


def _identity() -> bytes:
    return bytes(SigningKey.generate().verify_key)


def test_read_pins(pins_module, home):
    """read_pins reads the file the kit's client wrote, skipping comments, blank and odd lines"""
    path = home / "known_servers"
    missing = harness.call_with_timeout(pins_module.read_pins, path, timeout=3)
    assert missing == {}, _(
        "read_pins of a file that does not exist returned {got!r}, expected {{}}: "
        "nobody has been pinned yet — README step 4").format(got=missing)
    first, second = _identity(), _identity()
    kit = PinStore(path)
    kit.check("127.0.0.1", 7777, first)
    kit.check("localhost", 5001, second)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("# a comment someone wrote\n#old-pin 00ff\n\n   \n"
                     "an odd line with six fields\nonefield\n")
    try:
        got = harness.call_with_timeout(pins_module.read_pins, path, timeout=3)
    except Exception as error:  # noqa: BLE001 - said in words for the student
        where = harness.student_location(error.__traceback__)
        raise AssertionError(
            _("read_pins crashed on this file:\n{text}").format(
                text=path.read_text(encoding="utf-8"))
            + harness.describe(error)
            + (_(" (at {where})").format(where=where) if where else "")
            + _("\nAnother program shares known_servers: skip lines that start with '#', blank "
                "lines, and lines that are not exactly two fields (line.split()) — README step 4")
        ) from None
    expected = {"127.0.0.1:7777": first.hex(), "localhost:5001": second.hex()}
    wrong = sorted(set(got) ^ set(expected)) if isinstance(got, dict) else []
    assert got == expected, (
        (_("read_pins got these wrong: {wrong}. ").format(wrong=wrong) if wrong else "") +
        _("read_pins of\n{text}returned {got!r}\nexpected "
          "{expected!r}: one pin per line, HOST:PORT then the identity in hex; skip lines that "
          "start with '#', blank lines, and lines that are not exactly two fields — README step 4"
          ).format(text=path.read_text(encoding="utf-8"), got=got, expected=expected))


def test_write_pins(pins_module, home):
    """write_pins writes sorted 'HOST:PORT identity' lines, mode 0600, that the kit's client reads"""
    path = home / "known_servers"
    first, second = _identity(), _identity()
    pins = {"localhost:5001": second.hex(), "127.0.0.1:7777": first.hex()}
    harness.call_with_timeout(pins_module.write_pins, path, pins, timeout=3)
    assert path.is_file(), _("write_pins did not create {path} — README step 5").format(path=path)
    text = path.read_text(encoding="utf-8")
    expected = f"127.0.0.1:7777 {first.hex()}\nlocalhost:5001 {second.hex()}\n"
    assert text == expected, _(
        "write_pins wrote\n{text!r}\nexpected\n{expected!r}\n(one line per pin, sorted, "
        "'HOST:PORT IDENTITY-HEX' and a newline each: docs/protocol.md §4) — README step 5"
    ).format(text=text, expected=expected)
    kit = PinStore(path)
    assert kit.check("127.0.0.1", 7777, first) == "known" and \
        kit.check("localhost", 5001, second) == "known", _(
        "the kit's client did not find your pins in the file — README step 5")
    if sys.platform != "win32":
        mode = os.stat(path).st_mode & 0o777
        assert mode == 0o600, _(
            "known_servers has mode {mode:o}: write it with write_private() (mode 600), so "
            "nobody else can change whom you trust — README step 5").format(mode=mode)

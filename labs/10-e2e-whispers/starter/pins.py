"""Trust on first use: remember each server's identity, refuse a different one later (lab 08).

Like SSH's known_hosts. The first time the client meets HOST:PORT it writes
down the identity that server showed (a "pin"). Every later time, the
identity must be the same one; a different one means someone else is
answering at that address (a man in the middle), or the server's key was
replaced. Only a person can tell which, by comparing fingerprints out of band:
so the client refuses, and shows both.

The pins live in a text file, known_servers, in the same format as the kit's
client (docs/protocol.md section 4), so `socketlab client` and your client
share it:

    # comments and blank lines are ignored
    127.0.0.1:7777 a7fcf7dced5531d5ac385cc7bda1a4eb7d00d6248a7f8fbd8dbbddf73a21d2a0
"""

import os
import sys
from pathlib import Path

from identity import fingerprint
from secure import ProtocolError

PINS_FILE = "known_servers"


def default_home() -> Path:
    """Where the pins live: $SOCKETLAB_HOME, else %APPDATA%\\socketlab on Windows, else ~/.socketlab."""
    if os.environ.get("SOCKETLAB_HOME"):
        return Path(os.environ["SOCKETLAB_HOME"])
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "socketlab"
    return Path.home() / ".socketlab"


def write_private(path: Path, text: str) -> None:
    """Write text to path (UTF-8), readable by its owner only where the system has modes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(text.encode("utf-8"))


def read_pins(path: Path) -> dict[str, str]:
    """The pins in path: {"HOST:PORT": identity as 64 hex digits}. No file: {}.

    One pin per line: HOST:PORT, a space, the identity in hex. Lines that start
    with "#", blank lines, and lines that do not split into exactly two fields
    are ignored (another program may have written them: never crash on them).
    """
    pins: dict[str, str] = {}
    if not path.exists():
        return pins
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) == 2 and not line.startswith("#"):
            pins[fields[0]] = fields[1].lower()
    return pins


def write_pins(path: Path, pins: dict[str, str]) -> None:
    """Write pins to path, one "HOST:PORT IDENTITY" line each, sorted, with write_private().

    Sorted (by HOST:PORT), so the file does not change when nothing in it did,
    and each line ends with "\\n".
    """
    write_private(path, "".join(f"{where} {identity}\n" for where, identity in sorted(pins.items())))


def check_pin(home: Path, host: str, port: int, identity: bytes) -> str:
    """Trust on first use. "new" when HOST:PORT had no pin (and now has this identity),
    "known" when its pin is this identity; else raise ProtocolError("identity_changed", warning).

    - The pins are in home / PINS_FILE: read them with read_pins(), and after
      adding one, write them all back with write_pins().
    - The pin's name is f"{host}:{port}", host exactly as the user typed it:
      "localhost" and "127.0.0.1" are two pins, and so are two ports.
    - Compare identities as hex (identity.hex()): that is how the file keeps them.
    - A different identity must NOT replace the pin: whoever answers now may be
      the attacker. The warning says what happened and shows BOTH fingerprints
      (the pinned one and the one presented), and how to forget the pin if the
      person has checked that the server's key really changed:
          python chat_client.py --forget-server HOST:PORT
    """
    path = home / PINS_FILE
    where = f"{host}:{port}"
    pins = read_pins(path)
    pinned = pins.get(where)
    if pinned is None:
        pins[where] = identity.hex()
        write_pins(path, pins)
        return "new"
    if pinned == identity.hex():
        return "known"
    raise ProtocolError(
        "identity_changed",
        f"the server at {where} is not the one you talked to before.\n"
        f"  pinned:    {fingerprint(bytes.fromhex(pinned))}\n"
        f"  presented: {fingerprint(identity)}\n"
        "Someone may be intercepting the connection (a man in the middle), or the server's\n"
        "key was replaced. Refusing to go on. If you have checked that the new key is right,\n"
        f"forget the old one:  python chat_client.py --forget-server {where}")


def forget_pin(home: Path, host: str, port: int) -> bool:
    """Remove the pin of HOST:PORT; True if there was one."""
    path = home / PINS_FILE
    pins = read_pins(path)
    if pins.pop(f"{host}:{port}", None) is None:
        return False
    write_pins(path, pins)
    return True

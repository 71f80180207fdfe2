"""Chat names: what is allowed, and when two names are "the same".

Names are shown to everyone, so characters that are invisible or that
reorder text (zero-width, bidi controls) are refused: they make look-alike
names. Uniqueness compares NFKC-normalised, case-folded keys, so "Alice",
"ALICE" and the full-width "ＡＬＩＣＥ" are one name.

A name to log in with must also not be reserved (``check_login_name``): one
that starts with ``/`` reads as a command (nobody could whisper to ``/w``),
and ``server`` or ``system`` could pose as the chat's own notices. Names the
server *sends* are only held to ``check_name``: a client must not hang up on
a lab's server that lets someone be called ``server``.
"""

from __future__ import annotations

import functools
import unicodedata

from .errors import ProtocolError

MAX_NAME = 20

# Control, format (zero-width, bidi), surrogate, private use, unassigned,
# and every kind of separator (space, line, paragraph).
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


def check_name(name: object) -> str:
    """Return ``name`` unchanged if it is a valid chat name, else raise ``bad_name``."""
    if not isinstance(name, str):
        raise ProtocolError("bad_name", "a name must be a string")
    if not 1 <= len(name) <= MAX_NAME:  # before the cache: long junk must not fill it
        raise ProtocolError("bad_name", f"a name must be 1 to {MAX_NAME} characters")
    return _check_str_name(name)


# The same few names arrive in every message: remember the ones that passed.
@functools.lru_cache(maxsize=4096)
def _check_str_name(name: str) -> str:
    for char in name:
        category = unicodedata.category(char)
        if category in _FORBIDDEN_CATEGORIES or char.isspace():
            raise ProtocolError(
                "bad_name",
                f"a name may not contain U+{ord(char):04X} "
                f"({unicodedata.name(char, 'unnamed')}, category {category})",
            )
    key = name_key(name)
    if not key or any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in key):
        raise ProtocolError("bad_name", "a name must stay visible after normalisation")
    return name


# Compared by key, so "Server" and the full-width "ＳＥＲＶＥＲ" are reserved too.
RESERVED_NAMES = frozenset({"server", "system"})
COMMAND_PREFIX = "/"


def check_login_name(name: object) -> str:
    """``check_name``, and not reserved: the rule for the name a user logs in with.
    Raises ``bad_name`` (the user may try again) with a message that says why."""
    checked = check_name(name)
    key = name_key(checked)
    if key.startswith(COMMAND_PREFIX):
        raise ProtocolError(
            "bad_name", "a name may not start with / (it would read as a command, like /w)"
        )
    if key in RESERVED_NAMES:
        raise ProtocolError("bad_name", f"the name {checked} is kept for the chat itself")
    return checked


def name_key(name: str) -> str:
    """The key two names are compared by: NFKC, then case-folded (then NFKC again)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())

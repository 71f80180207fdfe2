"""Every message of the chat protocol, as immutable objects.

Each message is a frozen dataclass with a ``TYPE`` (its JSON ``"type"``).
``encode_message`` turns one into a compact UTF-8 JSON body;
``decode_message`` turns a body back into a message, validating every field
strictly. Whatever the bytes, decoding raises only ``ProtocolError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from .errors import LocalProtocolError, ProtocolError
from .names import check_name
from .strictjson import dumps, loads_object

PROTOCOL_VERSION = 1
MAX_TEXT = 2000
MODES = ("box", "plain")
# An end-to-end box (MAC first): an empty inner JSON can never be valid, and the
# largest inner (two 20-character names, 2,000 four-byte or escaped characters)
# stays well below 16,384 bytes.
MIN_E2E_BOX = 16
MAX_E2E_BOX = 16_400
_HEX = re.compile(r"[0-9a-fA-F]*")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Tab and newline are text. Other C0 controls, DEL and the C1 controls
# (U+0080-U+009F: U+009B is a terminal's CSI) only garble or steer a terminal;
# the bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069)
# reorder what follows them on screen ("Trojan Source"). Right-to-left text
# needs none of them (the marks U+200E/U+200F stay allowed).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError("bad_message", f"{what} must be a string")
    if not 1 <= len(value) <= MAX_TEXT:
        raise ProtocolError("bad_message", f"{what} must be 1 to {MAX_TEXT} characters")
    found = _CONTROL.search(value)
    if found:
        raise ProtocolError(
            "bad_message", f"{what} holds the control character U+{ord(found.group()):04X}"
        )
    return value


def _name(value: Any, what: str) -> str:
    return check_name(value)


def _asked_name(value: Any, what: str) -> str:
    # A name a user typed (login, whisper's "to"): only its type is the codec's
    # business. The hub checks the rules and answers bad_name without closing,
    # so a typo costs a retry, not the connection.
    if not isinstance(value, str):
        raise ProtocolError("bad_message", f"{what} must be a string")
    return value


def _hex(value: Any, what: str, low: int, high: int) -> bytes:
    # Digits only: bytes.fromhex would also skip spaces, so "00 00…" of the right
    # length would decode to fewer bytes than the field needs.
    if not isinstance(value, str) or not low <= len(value) <= high or len(value) % 2:
        size = f"{low}" if low == high else f"{low} to {high}"
        raise ProtocolError("bad_message", f"{what} must be {size} hex digits")
    if not _HEX.fullmatch(value):
        raise ProtocolError("bad_message", f"{what} must be hex")
    return bytes.fromhex(value)


def _key(size: int) -> Callable[[Any, str], bytes]:
    def check(value: Any, what: str) -> bytes:
        return _hex(value, what, 2 * size, 2 * size)

    return check


def _box(value: Any, what: str) -> bytes:
    return _hex(value, what, 2 * MIN_E2E_BOX, 2 * MAX_E2E_BOX)


def _int(value: Any, what: str) -> int:
    # bool is an int in Python; JSON true is not a number.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**53:
        raise ProtocolError("bad_message", f"{what} must be a whole number 0..2^53")
    return value


def _mode(value: Any, what: str) -> str:
    if not isinstance(value, str) or value not in MODES:
        raise ProtocolError("bad_message", f"{what} must be one of {', '.join(MODES)}")
    return value


def _code(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise ProtocolError("bad_message", f"{what} must be a short snake_case code")
    return value


def _names(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ProtocolError("bad_message", f"{what} must be a list of names")
    return tuple(check_name(item) for item in value)


def _reason(value: Any, what: str) -> str:
    return _code(value, what) if value != "" else ""


def _text_or_empty(value: Any, what: str) -> str:
    return "" if value == "" else _text(value, what)


# A field: (attribute, JSON key, checker, required). Optional fields are left
# out of the JSON when they hold their default, so the wire stays small.
_Field = tuple[str, str, Any, bool]


@dataclass(frozen=True, slots=True)
class _Message:
    TYPE: ClassVar[str]
    FIELDS: ClassVar[tuple[_Field, ...]] = ()


@dataclass(frozen=True, slots=True)
class Hello(_Message):
    """Client → server, first frame: the mode it wants and its fresh X25519 key."""

    mode: str = "box"
    key: bytes | None = None
    version: int = PROTOCOL_VERSION
    TYPE: ClassVar[str] = "hello"
    FIELDS: ClassVar[tuple[_Field, ...]] = (
        ("version", "version", _int, True),
        ("mode", "mode", _mode, True),
        ("key", "key", _key(32), False),
    )


@dataclass(frozen=True, slots=True)
class ServerHello(_Message):
    """Server → client: its fresh X25519 key, identity key and signature."""

    mode: str = "box"
    key: bytes | None = None
    identity: bytes | None = None
    signature: bytes | None = None
    version: int = PROTOCOL_VERSION
    TYPE: ClassVar[str] = "server_hello"
    FIELDS: ClassVar[tuple[_Field, ...]] = (
        ("version", "version", _int, True),
        ("mode", "mode", _mode, True),
        ("key", "key", _key(32), False),
        ("identity", "identity", _key(32), False),
        ("signature", "signature", _key(64), False),
    )


@dataclass(frozen=True, slots=True)
class Login(_Message):
    """Client → server: the name asked for, and (end-to-end whispers) the user's
    bundle: a fresh X25519 ``e2e_key`` signed with the user's Ed25519 identity
    over the key and the name (``e2e.sign_bundle``). All three or none."""

    name: str
    e2e_key: bytes | None = None
    e2e_identity: bytes | None = None
    e2e_signature: bytes | None = None
    TYPE: ClassVar[str] = "login"
    FIELDS: ClassVar[tuple[_Field, ...]] = (
        ("name", "name", _asked_name, True),
        ("e2e_key", "e2e_key", _key(32), False),
        ("e2e_identity", "e2e_identity", _key(32), False),
        ("e2e_signature", "e2e_signature", _key(64), False),
    )

    @property
    def has_bundle(self) -> bool:
        return self.e2e_key is not None


_BUNDLE = ("e2e_key", "e2e_identity", "e2e_signature")  # login's optional fields


@dataclass(frozen=True, slots=True)
class Welcome(_Message):
    name: str
    users: tuple[str, ...] = ()
    TYPE: ClassVar[str] = "welcome"
    FIELDS: ClassVar[tuple[_Field, ...]] = (
        ("name", "name", _name, True),
        ("users", "users", _names, True),
    )


@dataclass(frozen=True, slots=True)
class Say(_Message):
    text: str
    TYPE: ClassVar[str] = "say"
    FIELDS: ClassVar[tuple[_Field, ...]] = (("text", "text", _text, True),)


@dataclass(frozen=True, slots=True)
class Whisper(_Message):
    to: str
    text: str
    TYPE: ClassVar[str] = "whisper"
    FIELDS: ClassVar[tuple[_Field, ...]] = (
        ("to", "to", _asked_name, True),
        ("text", "text", _text, True),
    )


@dataclass(frozen=True, slots=True)
class Message(_Message):
    """A chat line as delivered; ``to`` is set when it is a whisper."""

    sender: str
    text: str
    ts: int
    to: str | None = None
    TYPE: ClassVar[str] = "message"
    FIELDS: ClassVar[tuple[_Field, ...]] = (
        ("sender", "from", _name, True),
        ("text", "text", _text, True),
        ("ts", "ts", _int, True),
        ("to", "to", _name, False),
    )


@dataclass(frozen=True, slots=True)
class Lookup(_Message):
    """Client → server: the end-to-end key of the user called ``name``."""

    name: str
    TYPE: ClassVar[str] = "lookup"
    FIELDS: ClassVar[tuple[_Field, ...]] = (("name", "name", _asked_name, True),)


@dataclass(frozen=True, slots=True)
class UserKey(_Message):
    """Server → client: that user's login bundle, as the user sent it (``name`` as
    the user wrote it). The client verifies it; the server cannot forge it."""

    name: str
    key: bytes
    identity: bytes
    signature: bytes
    TYPE: ClassVar[str] = "user_key"
    FIELDS: ClassVar[tuple[_Field, ...]] = (
        ("name", "name", _name, True),
        ("key", "key", _key(32), True),
        ("identity", "identity", _key(32), True),
        ("signature", "signature", _key(64), True),
    )


@dataclass(frozen=True, slots=True)
class E2EWhisper(_Message):
    """Client → server: a whisper sealed to the recipient's e2e key (``e2e.seal_whisper``)."""

    to: str
    nonce: bytes
    box: bytes
    TYPE: ClassVar[str] = "e2e_whisper"
    FIELDS: ClassVar[tuple[_Field, ...]] = (
        ("to", "to", _asked_name, True),
        ("nonce", "nonce", _key(24), True),
        ("box", "box", _box, True),
    )


@dataclass(frozen=True, slots=True)
class E2EMessage(_Message):
    """Server → recipient and sender: the sealed whisper, relayed unopened, with the
    SENDER's login bundle (``key``, ``identity``, ``signature``) to verify it by."""

    sender: str
    to: str
    ts: int
    key: bytes
    identity: bytes
    signature: bytes
    nonce: bytes
    box: bytes
    TYPE: ClassVar[str] = "e2e_message"
    FIELDS: ClassVar[tuple[_Field, ...]] = (
        ("sender", "from", _name, True),
        ("to", "to", _name, True),
        ("ts", "ts", _int, True),
        ("key", "key", _key(32), True),
        ("identity", "identity", _key(32), True),
        ("signature", "signature", _key(64), True),
        ("nonce", "nonce", _key(24), True),
        ("box", "box", _box, True),
    )


@dataclass(frozen=True, slots=True)
class Who(_Message):
    TYPE: ClassVar[str] = "who"


@dataclass(frozen=True, slots=True)
class Users(_Message):
    names: tuple[str, ...] = ()
    TYPE: ClassVar[str] = "users"
    FIELDS: ClassVar[tuple[_Field, ...]] = (("names", "names", _names, True),)


@dataclass(frozen=True, slots=True)
class Joined(_Message):
    name: str
    TYPE: ClassVar[str] = "joined"
    FIELDS: ClassVar[tuple[_Field, ...]] = (("name", "name", _name, True),)


@dataclass(frozen=True, slots=True)
class Left(_Message):
    name: str
    reason: str = ""
    TYPE: ClassVar[str] = "left"
    FIELDS: ClassVar[tuple[_Field, ...]] = (
        ("name", "name", _name, True),
        ("reason", "reason", _reason, False),
    )


@dataclass(frozen=True, slots=True)
class Bye(_Message):
    TYPE: ClassVar[str] = "bye"


@dataclass(frozen=True, slots=True)
class Error(_Message):
    """An error the peer should show: a stable ``code`` and a human ``message``."""

    code: str
    message: str = ""
    TYPE: ClassVar[str] = "error"
    FIELDS: ClassVar[tuple[_Field, ...]] = (
        ("code", "code", _code, True),
        ("message", "message", _text_or_empty, False),
    )


@dataclass(frozen=True, slots=True)
class Ping(_Message):
    TYPE: ClassVar[str] = "ping"


@dataclass(frozen=True, slots=True)
class Pong(_Message):
    TYPE: ClassVar[str] = "pong"


AnyMessage = (
    Hello | ServerHello | Login | Welcome | Say | Whisper | Message | Who | Users
    | Joined | Left | Bye | Error | Ping | Pong | Lookup | UserKey | E2EWhisper | E2EMessage
)

MESSAGE_TYPES: dict[str, type[_Message]] = {
    cls.TYPE: cls
    for cls in (
        Hello, ServerHello, Login, Welcome, Say, Whisper, Message, Who, Users,
        Joined, Left, Bye, Error, Ping, Pong, Lookup, UserKey, E2EWhisper, E2EMessage,
    )
}
_DEFAULTS = {cls: {f.name: f.default for f in fields(cls)} for cls in MESSAGE_TYPES.values()}


def _to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return list(value)
    return value


def encode_message(msg: AnyMessage) -> bytes:
    """The JSON body of ``msg`` ("type" first, fields in a fixed order)."""
    cls = type(msg)
    if cls not in _DEFAULTS:
        raise LocalProtocolError("unknown_type", f"{cls.__name__} is not a protocol message")
    obj: dict[str, Any] = {"type": cls.TYPE}
    defaults = _DEFAULTS[cls]
    for attr, key, _check, required in cls.FIELDS:
        value = getattr(msg, attr)
        if required or value != defaults[attr]:
            obj[key] = _to_json(value)
    body = dumps(obj)
    try:
        _from_object(obj)
    except ProtocolError as exc:
        raise LocalProtocolError(exc.code, f"refusing to send: {exc.message}") from None
    return body


def _from_object(obj: dict[str, Any]) -> AnyMessage:
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", 'a message needs a string "type"')
    cls = MESSAGE_TYPES.get(kind)
    if cls is None:
        raise ProtocolError("unknown_type", f"unknown message type {kind[:40]!r}")
    known = {"type"} | {key for _attr, key, _check, _req in cls.FIELDS}
    extra = sorted(set(obj) - known)
    if extra:
        raise ProtocolError("bad_message", f"{kind}: unexpected field {extra[0][:40]!r}")
    values: dict[str, Any] = {}
    for attr, key, check, required in cls.FIELDS:
        if key in obj:
            values[attr] = check(obj[key], f"{kind}.{key}")
        elif required:
            raise ProtocolError("bad_message", f"{kind}: missing field {key!r}")
    if cls is Login and 0 < sum(key in values for key in _BUNDLE) < len(_BUNDLE):
        raise ProtocolError("bad_message", f"login: {', '.join(_BUNDLE)}: all three or none")
    return cls(**values)  # type: ignore[return-value]


def decode_message(body: bytes) -> AnyMessage:
    """Parse and validate one frame body; raises only ``ProtocolError``."""
    return _from_object(loads_object(body))

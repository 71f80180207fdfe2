"""End-to-end whispers: sealed by the sender for the recipient, relayed unread.

Each user has a long-term Ed25519 *user identity* (the kit's client keeps one
per chat name per server: ``client/identities.py``) and makes a fresh X25519
*e2e key* per session. At login
the client sends the key, the identity and a signature by the identity over
``E2E_CONTEXT || key || name`` (the *bundle*). The server hands bundles out
(``user_key``, and with every ``e2e_message``) but cannot forge one: a key it
substitutes would need the user's signature, and binding the name stops it
from handing Alice's bundle out as Bob's. A client pins each user's identity
on first use (``known_users``, like ``known_servers``); people compare
fingerprints out of band to check that first contact.

A whisper is ``crypto_box_easy`` (X25519, XSalsa20-Poly1305; MAC first) of
the compact JSON ``{"from":…,"to":…,"text":…}`` under a random 24-byte nonce,
from the sender's e2e secret to the recipient's e2e key. The inner names let
the recipient see that the server did not redirect or reflect it.
See docs/protocol.md, "End-to-end whispers".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from nacl.bindings import crypto_box_easy, crypto_box_open_easy
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import PrivateKey
from nacl.signing import SigningKey, VerifyKey
from nacl.utils import random

from .connection import session_key
from .errors import E2EError, IdentityError, ProtocolError
from .messages import (
    MAX_E2E_BOX,
    E2EMessage,
    E2EWhisper,
    Login,
    UserKey,
    _text,
)
from .names import check_name, name_key
from .pins import (
    PinFile,
    changed_identity,
    fingerprint,
    socketlab_home,
)
from .strictjson import dumps, loads_object

E2E_CONTEXT = b"socketlab/1 e2e key\x00"
USER_PINS_FILE = "known_users"
E2E_NONCE_SIZE = 24
PinStatus = Literal["new", "known", "changed"]

# Any scalar times a low-order point is the identity point (clamping makes every
# scalar a multiple of 8), so one fixed probe tells every low-order key.
_PROBE = PrivateKey(bytes(range(32)))


def bundle_transcript(key: bytes, name: str) -> bytes:
    """What a user identity signs: the context, the e2e key and the login name."""
    return E2E_CONTEXT + key + name.encode("utf-8")


@dataclass(frozen=True, slots=True)
class Bundle:
    """A user's e2e key, identity and signature, as sent in ``login``."""

    key: bytes
    identity: bytes
    signature: bytes

    @classmethod
    def of_login(cls, msg: Login) -> Bundle | None:
        """The bundle a ``login`` carries, or None (an old client)."""
        if msg.e2e_key is None or msg.e2e_identity is None or msg.e2e_signature is None:
            return None
        return cls(msg.e2e_key, msg.e2e_identity, msg.e2e_signature)

    @classmethod
    def of_message(cls, msg: UserKey | E2EMessage) -> Bundle:
        """The bundle in a ``user_key`` or an ``e2e_message`` (the sender's)."""
        return cls(msg.key, msg.identity, msg.signature)


def sign_bundle(identity: SigningKey, key: bytes, name: str) -> Bundle:
    """``identity`` vouches that ``key`` is its e2e key while logged in as ``name``."""
    signature = identity.sign(bundle_transcript(key, name)).signature
    return Bundle(key, bytes(identity.verify_key), signature)


def verify_bundle(name: str, bundle: Bundle) -> None:
    """Raise ``E2EError`` ``bad_key`` (a low-order X25519 key, whose shared secret
    everyone knows) or ``bad_signature`` (not signed by its identity for ``name``)."""
    try:
        session_key(_PROBE, bundle.key)
    except ProtocolError as exc:
        raise E2EError("bad_key", f"{name}'s e2e key: {exc.message}") from None
    try:
        VerifyKey(bundle.identity).verify(bundle_transcript(bundle.key, name), bundle.signature)
    except (BadSignatureError, ValueError):
        raise E2EError(
            "bad_signature", f"{name}'s e2e key is not signed by its identity for that name"
        ) from None


class E2EKeys:
    """One session's end-to-end keys: the user's identity and a fresh X25519 key."""

    def __init__(self, identity: SigningKey, secret: PrivateKey | None = None) -> None:
        self.identity = identity
        self.secret = secret if secret is not None else PrivateKey.generate()
        self.public = bytes(self.secret.public_key)

    @property
    def secret_bytes(self) -> bytes:
        """The raw e2e secret (for a client's key log: ``SOCKETLAB_E2E``)."""
        return bytes(self.secret)

    def bundle(self, name: str) -> Bundle:
        return sign_bundle(self.identity, self.public, name)

    def login(self, name: str) -> Login:
        """A ``login`` for ``name`` that carries this session's bundle."""
        bundle = self.bundle(name)
        return Login(name, bundle.key, bundle.identity, bundle.signature)


@dataclass(frozen=True, slots=True)
class Inner:
    """What the box holds: who wrote it, to whom, and the text."""

    sender: str
    to: str
    text: str


def inner_body(sender: str, to: str, text: str) -> bytes:
    """The compact JSON a box seals (names as each user wrote them at login)."""
    return dumps({"from": sender, "to": to, "text": text})


def parse_inner(body: bytes) -> Inner:
    """Decode a box's plaintext strictly; ``E2EError`` ``e2e_bad_inner`` if it is not one."""
    try:
        obj: dict[str, Any] = loads_object(body)
        if sorted(obj) != ["from", "text", "to"]:
            raise ProtocolError("bad_message", 'the fields must be "from", "to", "text"')
        return Inner(check_name(obj["from"]), check_name(obj["to"]), _text(obj["text"], "text"))
    except ProtocolError as exc:
        raise E2EError("e2e_bad_inner", f"the whisper inside the box is not valid: {exc}") from None


def seal_whisper(
    secret: PrivateKey, peer_key: bytes, sender: str, to: str, text: str,
    *, nonce: bytes | None = None,
) -> E2EWhisper:
    """An ``e2e_whisper`` to ``to`` (spelled as in its ``user_key``), sealed with our
    e2e ``secret`` to ``peer_key``; ``nonce``: 24 random bytes unless given (vectors)."""
    nonce = random(E2E_NONCE_SIZE) if nonce is None else nonce
    box = crypto_box_easy(inner_body(sender, to, text), nonce, peer_key, bytes(secret))
    return E2EWhisper(to, nonce, box)


def open_box(secret: PrivateKey | bytes, peer_key: bytes, nonce: bytes, box: bytes) -> Inner:
    """Open a whisper's box with our e2e ``secret`` and the other side's e2e key (the
    same call for the recipient and for the sender's own copy: the box key is shared)."""
    if len(box) > MAX_E2E_BOX:
        raise E2EError("e2e_decrypt_failed", "the box is larger than any whisper")
    try:
        plaintext = crypto_box_open_easy(box, nonce, peer_key, bytes(secret))
    except (CryptoError, ValueError):
        raise E2EError(
            "e2e_decrypt_failed", "the box does not open with our key (tampered, or not for us)"
        ) from None
    return parse_inner(plaintext)


class UserPinStore:
    """``HOST:PORT NAMEKEY IDENTITYHEX`` lines: each user's identity, pinned on first use
    per server (``NAMEKEY`` is the name's key, section 3, so ``Alice`` is ``alice``)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else socketlab_home() / USER_PINS_FILE
        self._file = PinFile(self.path, fields=2)

    def check(self, host: str, port: int, name: str, identity: bytes) -> Literal["new", "known"]:
        """Pin ``identity`` for ``name`` on this server on first use; a different one
        later raises ``IdentityError`` ``identity_changed`` with both fingerprints."""
        where = f"{host}:{port}"
        known = self._file.pin((where, name_key(name)), identity)
        if known is None:
            return "new"
        if known == identity.hex():
            return "known"
        raise changed_identity(
            known, identity,
            f"{name} on {where} has a different identity than before.\n"
            "The server may be handing out someone else's key, or the user has a new "
            "identity (another computer, a new home). Compare fingerprints with them "
            "out of band before you trust it.",
        )

    def forget(self, host: str, port: int, name: str) -> bool:
        """Remove the pin of ``name`` on host:port; True if there was one."""
        return self._file.forget((f"{host}:{port}", name_key(name)))


@dataclass(frozen=True, slots=True)
class Peer:
    """A user's verified e2e key, and what our pins say about its identity."""

    name: str
    key: bytes
    identity: bytes
    pin: PinStatus  # new: first contact (compare fingerprints); changed: NOT verified
    known_fingerprint: str | None = None  # the pinned one, when ``pin`` is "changed"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.identity)


def check_peer(
    name: str, bundle: Bundle, pins: UserPinStore | None, host: str, port: int
) -> Peer:
    """Steps 1–2 for a user's bundle: the signature (``E2EError`` if it fails), then the
    pin (no pins: every contact is "new")."""
    verify_bundle(name, bundle)
    if pins is None:
        return Peer(name, bundle.key, bundle.identity, "new")
    try:
        status: PinStatus = pins.check(host, port, name, bundle.identity)
    except IdentityError as exc:
        return Peer(name, bundle.key, bundle.identity, "changed", exc.known)
    return Peer(name, bundle.key, bundle.identity, status)


def accept_user_key(
    msg: UserKey, pins: UserPinStore | None, host: str, port: int
) -> Peer:
    """A ``user_key`` answer, checked: seal whispers to ``peer.key``, to ``peer.name``."""
    return check_peer(msg.name, Bundle.of_message(msg), pins, host, port)


@dataclass(frozen=True, slots=True)
class OpenedWhisper:
    """An end-to-end whisper that opened and passed every check."""

    sender: str
    to: str
    text: str
    ts: int
    peer: Peer  # the other side: the sender, or (our own copy) the recipient


def open_e2e_message(
    msg: E2EMessage, keys: E2EKeys, *, pins: UserPinStore | None, host: str, port: int,
    recipient: Peer | None = None,
) -> OpenedWhisper:
    """Steps 1–4 of docs/protocol.md for a received ``e2e_message``.

    Our own copy (the sender's key is ours) opens with the recipient's key, from
    the ``recipient`` our lookup returned. Raises ``E2EError``: ``bad_key``,
    ``bad_signature``, ``e2e_no_peer_key``, ``e2e_decrypt_failed``,
    ``e2e_bad_inner``, ``e2e_misrouted``; never returns text that failed one.
    """
    bundle = Bundle.of_message(msg)
    if msg.key != keys.public:
        peer = check_peer(msg.sender, bundle, pins, host, port)
    else:  # our own copy: we signed it; the other side is the recipient we looked up
        verify_bundle(msg.sender, bundle)
        if recipient is not None and name_key(recipient.name) == name_key(msg.to):
            peer = recipient
        elif name_key(msg.to) == name_key(msg.sender):
            peer = Peer(msg.sender, keys.public, bytes(keys.identity.verify_key), "known")
        else:
            raise E2EError(
                "e2e_no_peer_key", f"our own whisper to {msg.to}, but we never looked up their key"
            )
    inner = open_box(keys.secret, peer.key, msg.nonce, msg.box)
    if inner.sender != msg.sender or inner.to != msg.to:
        raise E2EError(
            "e2e_misrouted",
            f"the box says {inner.sender} → {inner.to}, the server says {msg.sender} → {msg.to}: "
            "it was redirected or reflected",
        )
    return OpenedWhisper(msg.sender, msg.to, inner.text, msg.ts, peer)

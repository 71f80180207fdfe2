"""Lab 10 · end-to-end whispers: what only the two users' programs can do.

The server relays a whisper it cannot read. Each user has:
- a long-term Ed25519 **user identity** (user_identity.key in their home
  folder): it signs, it never encrypts;
- a fresh X25519 **e2e key** per session: whispers are sealed to it.

At login the client sends its e2e key with a signature by its identity over
E2E_CONTEXT + key + name. Whoever gets that bundle (from the server, which
could lie) checks the signature, and pins the identity per user the first
time it sees it (known_users), as lab 08 pinned the server.
"""

import json
from pathlib import Path

import nacl.utils
from identity import fingerprint
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import Box, PrivateKey, PublicKey
from nacl.signing import SigningKey, VerifyKey
from pins import write_pins
from secure import ProtocolError

E2E_CONTEXT = b"socketlab/1 e2e key\x00"
NONCE_SIZE = 24


def sign_bundle(identity: SigningKey, e2e_key: bytes, name: str) -> dict:
    """The three login fields that publish this session's e2e key, as hex strings.

    {"e2e_key": e2e_key in hex, "e2e_identity": the identity's public key
    (bytes(identity.verify_key)) in hex, "e2e_signature": identity.sign(...)
    .signature in hex}, where the signed bytes are E2E_CONTEXT + e2e_key + the
    name as UTF-8. Signing the name too stops a server from handing Alice's
    (genuine, signed) key out as Bob's.
    """
    raise NotImplementedError('TODO(lab 10.1): sign E2E_CONTEXT + key + name with the identity; return the three login fields in hex')


def verify_bundle(name: str, e2e_key: bytes, identity: bytes, signature: bytes) -> None:
    """Raise ProtocolError("bad_signature", ...) unless identity signed e2e_key for name.

    VerifyKey(identity).verify(signed bytes, signature) raises
    nacl.exceptions.BadSignatureError when it does not verify (and ValueError
    for a key that is not a key at all): both mean bad_signature.
    """
    raise NotImplementedError('TODO(lab 10.2): verify the signature over E2E_CONTEXT + key + name; else ProtocolError bad_signature')


def inner_json(sender: str, recipient: str, text: str) -> bytes:
    """What is sealed: compact UTF-8 JSON {"from":...,"to":...,"text":...}, in that order."""
    inner = {"from": sender, "to": recipient, "text": text}
    return json.dumps(inner, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def seal_whisper(own: PrivateKey, peer_key: bytes, sender: str, recipient: str,
                 text: str) -> tuple[str, str]:
    """Seal a whisper to the recipient: (nonce, box), both in hex.

    - nonce: 24 random bytes (nacl.utils.random(NONCE_SIZE)). Random is safe
      here: each whisper is sealed once, and 24 bytes never repeat by chance.
    - box: Box(own, PublicKey(peer_key)).encrypt(inner_json(...), nonce)
      .ciphertext (the MAC first, then the ciphertext; without the nonce).
    peer_key is the RECIPIENT's e2e key: sealed to your own key, only you could
    open it.
    """
    raise NotImplementedError("TODO(lab 10.6): seal inner_json(sender, recipient, text) with Box(own, recipient's key) and a random nonce")


def open_whisper(own: PrivateKey, peer_key: bytes, nonce: str, box: str) -> dict:
    """The inner {"from", "to", "text"} of a sealed whisper, or ProtocolError.

    - Box(own, PublicKey(peer_key)).decrypt(bytes.fromhex(box), bytes.fromhex(nonce));
      nacl.exceptions.CryptoError (tampered, or sealed to someone else) ->
      ProtocolError("e2e_decrypt_failed", ...).
    - What comes out must be a JSON object with exactly the string fields
      from, to and text: else ProtocolError("e2e_bad_inner", ...).
    peer_key is the other user's e2e key (Box works both ways: the sender's own
    copy opens with the recipient's key).
    """
    raise NotImplementedError('TODO(lab 10.7): open the box (e2e_decrypt_failed), then parse the inner JSON (e2e_bad_inner)')


def read_user_pins(path: Path) -> dict[str, str]:
    """The pins in known_users: {"HOST:PORT NAMEKEY": identity hex}. No file: {}.
    Lines starting with "#", blank lines and lines that are not three fields are ignored."""
    pins: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            fields = line.split()
            if len(fields) == 3 and not line.startswith("#"):
                pins[f"{fields[0]} {fields[1]}"] = fields[2].lower()
    return pins


def check_user_pin(home: Path, where: str, name_key: str, identity: bytes) -> str:
    """Trust on first use, per user: "new" (pinned now), "known", or ProtocolError.

    The pins are the file home / "known_users", one line per user:
    HOST:PORT NAMEKEY IDENTITYHEX (read_user_pins(path) gives
    {"HOST:PORT NAMEKEY": "IDENTITYHEX"}; write_pins(path, pins) from pins.py
    saves them, one "KEY VALUE" line each).
    - nobody pinned for where + name_key: pin identity.hex(), return "new";
    - the same identity: "known";
    - another identity: ProtocolError("identity_changed", ...) whose message
      shows BOTH fingerprints (fingerprint(...) of the pinned and of the
      offered identity), so the user can compare them with the person.
    """
    raise NotImplementedError('TODO(lab 10.8): pin on first use, accept the same identity, refuse another showing both fingerprints')

"""docs/protocol.md's known-answer vectors are exactly what the code sends.

Besides comparing the document with ``protocol/vectors.py``, the sealed
vectors are opened here with libsodium directly, from the documented
session key and nonce layout alone: the document is enough to check an
implementation, key derivation and sealing each on its own.
"""

import json
import re
from pathlib import Path

from nacl.bindings import (
    crypto_box_beforenm,
    crypto_box_easy,
    crypto_box_open_easy,
    crypto_box_open_easy_afternm,
    crypto_scalarmult_base,
    crypto_sign_open,
    crypto_sign_seed_keypair,
)
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from socketlab.protocol import (
    E2EKeys,
    E2EMessage,
    Login,
    UserKey,
    decode_message,
    fingerprint,
    keylog_line,
    open_e2e_message,
)
from socketlab.protocol.vectors import (
    BOB_E2E,
    BOB_IDENTITY,
    CLIENT_EPHEMERAL,
    E2E_NONCE,
    SERVER_EPHEMERAL,
    SERVER_IDENTITY,
    derived_values,
    e2e_derived_values,
    known_answer_vectors,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
BLOCK = re.compile(
    r'```text title="vector: (?P<name>\w+)"\n'
    r"direction: (?P<direction>\w+)\n"
    r"(?:counter: (?P<counter>\d+)\n)?"
    r"(?P<bodies>(?:body: .*\n)+)"
    r"(?:plaintext:\n(?P<plaintext>[0-9a-f\n]+?))?"
    r"frame:\n(?P<frame>[0-9a-f\n]+)```"
)
DERIVED = re.compile(
    r'```text title="derived from the fixed keys"\n'
    r"identity: (?P<identity>[0-9a-f]{64})\n"
    r"fingerprint: (?P<fingerprint>SHA256:[0-9a-f ]+)\n"
    r"session key: (?P<session_key>[0-9a-f]{64})\n"
    r"key log: (?P<keylog>.*)\n```"
)
E2E_DERIVED = re.compile(
    r'```text title="derived for end-to-end whispers"\n'
    r"alice identity: (?P<alice_identity>[0-9a-f]{64})\n"
    r"alice fingerprint: (?P<alice_fingerprint>SHA256:[0-9a-f ]+)\n"
    r"alice e2e key: (?P<alice_key>[0-9a-f]{64})\n"
    r"alice signature: (?P<alice_signature>[0-9a-f]{128})\n"
    r"bob identity: (?P<bob_identity>[0-9a-f]{64})\n"
    r"bob fingerprint: (?P<bob_fingerprint>SHA256:[0-9a-f ]+)\n"
    r"bob e2e key: (?P<bob_key>[0-9a-f]{64})\n"
    r"bob signature: (?P<bob_signature>[0-9a-f]{128})\n"
    r"inner: (?P<inner>.*)\n"
    r"box: (?P<box>[0-9a-f]+)\n"
    r"key log: (?P<keylog>.*)\n```"
)
E2E_CONTEXT = b"socketlab/1 e2e key\x00"  # as the page writes it, not imported


def unhex(text: str | None) -> bytes:
    return bytes.fromhex((text or "").replace("\n", ""))


def documented():
    return [
        (m["name"], m["direction"],
         int(m["counter"]) if m["counter"] is not None else None,
         tuple(line[len("body: "):].encode() for line in m["bodies"].splitlines()),
         unhex(m["plaintext"]), unhex(m["frame"]))
        for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))
    ]  # fmt: skip


def documented_derived() -> re.Match[str]:
    match = DERIVED.search(DOC.read_text(encoding="utf-8"))
    assert match is not None, "the document lacks the derived values block"
    return match


def test_document_lists_a_handshake_and_every_message_type():
    names = [name for name, *_ in documented()]
    assert names[:2] == ["hello", "server_hello"]
    expected = {"login", "welcome", "say", "whisper", "message", "who", "users",
                "joined", "left", "bye", "error", "ping", "pong", "batch",
                "say_non_ascii", "message_non_ascii", "plain_hello", "plain_server_hello",
                "plain_login", "plain_welcome", "handshake_error", "login_e2e", "lookup",
                "user_key", "e2e_whisper", "e2e_message", "error_no_e2e_key"}  # fmt: skip
    assert expected <= set(names)


def test_vectors_match_byte_for_byte():
    computed = [
        (v.name, v.direction, v.counter, v.bodies, v.plaintext, v.frame)
        for v in known_answer_vectors()
    ]
    assert documented() == computed


def test_derived_values_match():
    match, derived = documented_derived(), derived_values()
    assert bytes.fromhex(match["identity"]) == derived.identity_key
    assert match["fingerprint"] == derived.fingerprint
    assert bytes.fromhex(match["session_key"]) == derived.session_key
    assert match["keylog"] == derived.keylog_line


def test_derived_values_follow_from_the_fixed_keys_by_the_documented_recipe():
    """X25519 + HSalsa20 (crypto_box_beforenm) of the fixed secrets; SHA-256 fingerprint."""
    match = documented_derived()
    client_public = crypto_scalarmult_base(CLIENT_EPHEMERAL)
    server_public = crypto_scalarmult_base(SERVER_EPHEMERAL)
    session_key = crypto_box_beforenm(server_public, CLIENT_EPHEMERAL)
    assert session_key == crypto_box_beforenm(client_public, SERVER_EPHEMERAL)
    assert match["session_key"] == session_key.hex()
    identity = bytes(SigningKey(SERVER_IDENTITY).verify_key)
    assert match["identity"] == identity.hex()
    assert match["fingerprint"] == fingerprint(identity)
    assert match["keylog"] + "\n" == keylog_line(client_public, session_key)
    assert match["keylog"] == f"SOCKETLAB_BOX {client_public.hex()} {session_key.hex()}"


def test_every_sealed_vector_opens_with_the_documented_key_and_nonce():
    session_key = bytes.fromhex(documented_derived()["session_key"])
    sealed = [v for v in documented() if v[2] is not None]
    assert len(sealed) >= 17
    for name, direction, counter, bodies, plaintext, frame in sealed:
        nonce = frame[4:28]
        assert nonce == (b"C" if direction == "c2s" else b"S") + bytes(15) + counter.to_bytes(8)
        assert crypto_box_open_easy_afternm(frame[28:], nonce, session_key) == plaintext, name
        inner = b"".join(len(body).to_bytes(4) + body for body in bodies)
        assert plaintext == inner, name


def test_every_documented_body_decodes():
    for _name, _direction, _counter, bodies, _plaintext, _frame in documented():
        for body in bodies:
            decode_message(body)


def documented_e2e() -> re.Match[str]:
    match = E2E_DERIVED.search(DOC.read_text(encoding="utf-8"))
    assert match is not None, "the document lacks the end-to-end derived values block"
    return match


def test_e2e_derived_values_match():
    match, derived = documented_e2e(), e2e_derived_values()
    assert match["alice_identity"] == derived.alice_identity.hex()
    assert match["alice_fingerprint"] == derived.alice_fingerprint
    assert match["alice_key"] == derived.alice_key.hex()
    assert match["alice_signature"] == derived.alice_signature.hex()
    assert match["bob_identity"] == derived.bob_identity.hex()
    assert match["bob_fingerprint"] == derived.bob_fingerprint
    assert match["bob_key"] == derived.bob_key.hex()
    assert match["bob_signature"] == derived.bob_signature.hex()
    assert match["inner"].encode() == derived.inner
    assert match["box"] == derived.box.hex()
    assert match["keylog"] == derived.keylog_line


def test_e2e_values_follow_from_the_fixed_keys_by_the_documented_recipe():
    """Ed25519 over context || key || name, X25519 public keys, crypto_box_easy with the
    documented nonce: libsodium alone, from the page's table of fixed keys."""
    match = documented_e2e()
    alice_e2e, bob_e2e = bytes(range(65, 97)), bytes(range(165, 197))
    nonce = bytes(range(24))
    for who, seed, secret in (("alice", bytes(range(33, 65)), alice_e2e),
                              ("bob", bytes(range(133, 165)), bob_e2e)):
        public, _ = crypto_sign_seed_keypair(seed)
        assert match[f"{who}_identity"] == public.hex()
        assert match[f"{who}_key"] == crypto_scalarmult_base(secret).hex()
        key = bytes.fromhex(match[f"{who}_key"])
        signed = bytes.fromhex(match[f"{who}_signature"]) + E2E_CONTEXT + key + who.encode()
        assert crypto_sign_open(signed, public) == E2E_CONTEXT + key + who.encode()
    alice_key, bob_key = bytes.fromhex(match["alice_key"]), bytes.fromhex(match["bob_key"])
    inner, box = match["inner"].encode(), bytes.fromhex(match["box"])
    assert crypto_box_easy(inner, nonce, bob_key, alice_e2e) == box
    assert crypto_box_open_easy(box, nonce, alice_key, bob_e2e) == inner  # Bob opens it
    assert crypto_box_open_easy(box, nonce, bob_key, alice_e2e) == inner  # Alice's own copy
    assert match["keylog"] == f"SOCKETLAB_E2E {alice_key.hex()} {alice_e2e.hex()}"


def test_the_e2e_vectors_carry_the_documented_bundles_and_box():
    match = documented_e2e()
    bodies = {name: bodies for name, _d, _c, bodies, _p, _f in documented()}
    (login,) = (decode_message(b) for b in bodies["login_e2e"])
    assert isinstance(login, Login)
    assert (login.e2e_key.hex(), login.e2e_identity.hex(), login.e2e_signature.hex()) == (
        match["alice_key"], match["alice_identity"], match["alice_signature"])
    (user_key,) = (decode_message(b) for b in bodies["user_key"])
    assert isinstance(user_key, UserKey) and user_key.signature.hex() == match["bob_signature"]
    (relayed,) = (decode_message(b) for b in bodies["e2e_message"])
    assert isinstance(relayed, E2EMessage) and relayed.box.hex() == match["box"]
    assert relayed.nonce == E2E_NONCE and relayed.signature == login.e2e_signature
    # The kit's receiver, as Bob, passes its four checks on the documented message.
    bob = E2EKeys(SigningKey(BOB_IDENTITY), PrivateKey(BOB_E2E))
    opened = open_e2e_message(relayed, bob, pins=None, host="127.0.0.1", port=7777)
    assert opened.text == json.loads(match["inner"])["text"]

"""docs/protocol.md's known-answer vectors are exactly what the code sends.

Besides comparing the document with ``protocol/vectors.py``, the sealed
vectors are opened here with libsodium directly, from the documented
session key and nonce layout alone: the document is enough to check an
implementation, key derivation and sealing each on its own.
"""

import re
from pathlib import Path

from nacl.bindings import crypto_box_beforenm, crypto_box_open_easy_afternm, crypto_scalarmult_base
from nacl.signing import SigningKey

from socketlab.protocol import decode_message, fingerprint, keylog_line
from socketlab.protocol.vectors import (
    CLIENT_EPHEMERAL,
    SERVER_EPHEMERAL,
    SERVER_IDENTITY,
    derived_values,
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
                "plain_login", "plain_welcome", "handshake_error"}  # fmt: skip
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

"""docs/protocol.md's known-answer vectors are exactly what the code sends."""

import re
from pathlib import Path

from socketlab.protocol import decode_message
from socketlab.protocol.vectors import known_answer_vectors

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
BLOCK = re.compile(
    r'```text title="vector: (?P<name>\w+)"\n'
    r"direction: (?P<direction>\w+)\n"
    r"(?P<bodies>(?:body: .*\n)+)"
    r"frame:\n(?P<frame>[0-9a-f\n]+)```"
)


def documented():
    return [
        (m["name"], m["direction"],
         tuple(line[len("body: "):].encode() for line in m["bodies"].splitlines()),
         bytes.fromhex(m["frame"].replace("\n", "")))
        for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))
    ]


def test_document_lists_a_handshake_and_every_message_type():
    names = [name for name, *_ in documented()]
    assert names[:2] == ["hello", "server_hello"]
    expected = {"login", "welcome", "say", "whisper", "message", "who", "users",
                "joined", "left", "bye", "error", "ping", "pong", "batch"}
    assert expected <= set(names)


def test_vectors_match_byte_for_byte():
    computed = [(v.name, v.direction, v.bodies, v.frame) for v in known_answer_vectors()]
    assert documented() == computed


def test_every_documented_body_decodes():
    for _name, _direction, bodies, _frame in documented():
        for body in bodies:
            decode_message(body)

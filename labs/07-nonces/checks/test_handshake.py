"""Given (lab 06): the box handshake. These pass on the starter; if one fails, you changed given code."""

import json

import pytest
from nacl.public import PrivateKey
from nacl.signing import VerifyKey

from socketlab.i18n import N_
from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import FrameDecoder, encode_frame, signed_transcript

WHY = N_("given code of lab 06 (chat_server.py handshake, identity.py): compare with "
         "labs/07-nonces/starter/")


def _answer(address, hello: dict) -> dict:
    sock = harness.connect(address)
    try:
        sock.sendall(encode_frame(json.dumps(hello).encode()))
        frames, data = FrameDecoder(), b""
        sock.settimeout(3)
        while not (bodies := frames.feed(data)):
            data = sock.recv(65536)
            assert data, harness.why(_(
                "the server closed without answering the hello — {why}").format(why=_(WHY)))
        return json.loads(bodies[0])
    finally:
        sock.close()


@pytest.mark.given
def test_server_hello_is_signed(chat_server):
    """a box hello is answered with server_hello {key, identity, signature}, and the signature verifies"""
    client_key = bytes(PrivateKey.generate().public_key)
    answer = _answer(chat_server, {"type": "hello", "version": 1, "mode": "box",
                                   "key": client_key.hex()})
    assert answer.get("type") == "server_hello" and answer.get("mode") == "box", _(
        "the answer to a box hello was {answer} — {why}").format(answer=answer, why=_(WHY))
    VerifyKey(bytes.fromhex(answer["identity"])).verify(
        signed_transcript(client_key, bytes.fromhex(answer["key"])),
        bytes.fromhex(answer["signature"]))


@pytest.mark.given
def test_plain_hello_refused(chat_server):
    """a plain hello is refused with error plaintext_refused"""
    answer = _answer(chat_server, {"type": "hello", "version": 1, "mode": "plain"})
    assert (answer.get("type"), answer.get("code")) == ("error", "plaintext_refused"), _(
        "the answer to a plain hello was {answer} — {why}").format(answer=answer, why=_(WHY))


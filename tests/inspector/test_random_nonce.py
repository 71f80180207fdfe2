"""A session sealed with random nonces (lab 06, PyNaCl's Box as it comes) is shown decrypted,
flagged: the MAC proves a key holder sealed each frame, the nonce discipline is missing."""

from __future__ import annotations

import nacl.utils
from nacl.bindings import crypto_box_easy_afternm
from nacl.public import Box, PrivateKey

from socketlab.inspector.decode import Frame
from socketlab.inspector.events import Closed, Data, Opened
from socketlab.inspector.pipeline import decode_events
from socketlab.inspector.view import render
from socketlab.protocol import Say, ServerHello, encode_frame, encode_message
from socketlab.protocol.messages import Hello
from tests.inspector.conftest import VECTOR_CONN


def random_nonce_session(tamper: bool = False) -> tuple[list, dict[bytes, bytes]]:
    client, server = PrivateKey.generate(), PrivateKey.generate()
    key = Box(client, server.public_key).shared_key()
    client_key = bytes(client.public_key)

    def sealed(text: str) -> bytes:
        inner = encode_frame(encode_message(Say(text=text)))
        nonce = nacl.utils.random(24)
        box = bytearray(nonce + crypto_box_easy_afternm(inner, nonce, key))
        if tamper:
            box[-1] ^= 1
        return encode_frame(bytes(box))

    hello = encode_frame(encode_message(Hello(mode="box", key=client_key)))
    reply = encode_frame(encode_message(ServerHello(
        mode="box", key=bytes(server.public_key), identity=bytes(32), signature=bytes(64))))
    first, second = sealed("same words"), sealed("same words")
    events = [Opened(VECTOR_CONN, 1.0, True),
              Data(VECTOR_CONN, "c2s", 0, hello, 1.1),
              Data(VECTOR_CONN, "s2c", 0, reply, 1.2),
              Data(VECTOR_CONN, "c2s", len(hello), first, 1.3),
              Data(VECTOR_CONN, "c2s", len(hello) + len(first), second, 1.4),
              Closed(VECTOR_CONN, "fin", 2.0)]
    return events, {client_key: key}


def test_random_nonce_frames_are_decrypted_and_flagged():
    events, keys = random_nonce_session()
    items = list(decode_events(events, keys))
    sealed = [i for i in items if isinstance(i, Frame) and i.kind == "sealed"]
    assert [m.text for f in sealed for m in f.messages] == ["same words", "same words"]
    assert all("random nonce" in f.note and "bad_nonce" in f.note for f in sealed)
    assert sealed[0].sealed is not None and sealed[0].sealed.direction == "?"
    shown = "\n".join(render(items))
    # The view shows the nonce's own first bytes, never an invented "00 00 … ctr".
    assert sealed[0].sealed.nonce[:8].hex(" ") in shown
    assert "same words" in shown


def test_a_tampered_random_nonce_frame_is_still_refused():
    events, keys = random_nonce_session(tamper=True)
    sealed = [i for i in decode_events(events, keys) if isinstance(i, Frame) and i.kind == "sealed"]
    assert [f.messages for f in sealed] == [(), ()]
    assert all(f.note.startswith("refused: decrypt_failed") for f in sealed)

"""Hostile input from a raw socket: the offender gets its error and is closed; no one else notices.

Each case: alice and bob talk; the offender does its one bad thing and must
receive ``error{code}`` (plaintext before the handshake, sealed after) and
then the end of the stream; alice and bob talk again.

``HOSTILE_INPUTS`` is the table of what was tried and the code it got.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from socketlab.protocol import (
    Error,
    Hello,
    Login,
    Message,
    Ping,
    Pong,
    Say,
    Welcome,
    Whisper,
    encode_frame,
    encode_message,
)
from tests.server.server_helpers import RawClient

BIG = 1 << 20  # lets encode_frame build frames beyond the server's 64 KiB limit


def sealed(body: bytes) -> Callable[[RawClient], None]:
    """A body the client seals and frames properly, so only its content is wrong."""
    return lambda client: client.send_body(body)


def raw(data: bytes) -> Callable[[RawClient], None]:
    return lambda client: client.send_bytes(data)


def truncated_then_close(client: RawClient) -> None:
    client.send_bytes(b"\x00\x00\x00\x20" + b'{"type":"hel')  # 32 bytes announced, 12 sent
    client.sock.shutdown(socket.SHUT_WR)  # we can still read the server's answer


def tampered(client: RawClient) -> None:
    frame = bytearray(client.conn.send(Say("tamper with me")))
    frame[-1] ^= 0x01  # one bit of ciphertext
    client.send_bytes(bytes(frame))


def replayed(client: RawClient) -> None:
    frame = client.conn.send(Ping())
    client.send_bytes(frame)
    client.expect(Pong)
    client.send_bytes(frame)


def reordered(client: RawClient) -> None:
    client.conn.send(Ping())  # sealed as frame 0, never sent
    client.send_bytes(client.conn.send(Ping()))  # frame 1 arrives first


def reflected(client: RawClient) -> None:
    client.send(Ping())
    client.expect(Pong)
    client.send_bytes(client.raw_frames[-1])  # the server's own sealed pong, sent back


@dataclass(frozen=True)
class Case:
    what: str
    handshake: bool  # True: after a box handshake (the answer is sealed)
    act: Callable[[RawClient], None]
    code: str


# What was tried, and the code it got (quoted in the issue note).
HOSTILE_INPUTS: list[Case] = [
    Case("frame of length 0", False, raw(b"\x00\x00\x00\x00"), "frame_empty"),
    Case("frame of length 2^32-1", False, raw(b"\xff\xff\xff\xff"), "frame_too_large"),
    Case("truncated frame, then close", False, truncated_then_close, "frame_truncated"),
    Case("garbage before the handshake (an HTTP request)", False,
         raw(b"GET / HTTP/1.1\r\nHost: chat\r\n\r\n"), "frame_too_large"),
    Case("random bytes in a frame before the handshake", False,
         raw(encode_frame(bytes(range(256)))), "bad_json"),
    Case("login before hello", False, raw(encode_frame(encode_message(Login("early")))),
         "unexpected_message"),
    Case("hello with protocol version 2", False,
         raw(encode_frame(encode_message(Hello("box", bytes(32), version=2)))), "bad_version"),
    Case("plain hello to a box-only server", False,
         raw(encode_frame(encode_message(Hello("plain")))), "plaintext_refused"),
    Case("JSON nested 100,000 deep (does not fit a frame)", False,
         raw(encode_frame(b"[" * 100_000, max_size=BIG)), "frame_too_large"),
    Case("hello and an unsealed frame in one write (the answer: server hello, sealed error)",
         False, lambda client: client.send_bytes(client.conn.hello() + encode_frame(b"{}")),
         "decrypt_failed"),
    Case("bad JSON", True, sealed(b'{"type": "say", "text": '), "bad_json"),
    Case("JSON nested 60,000 deep", True, sealed(b"[" * 60_000), "bad_json"),
    Case('lone surrogate "\\ud800"', True, sealed(b'{"type":"say","text":"\\ud800"}'), "bad_json"),
    Case("NaN", True, sealed(b'{"type":"say","text":"x","n":NaN}'), "bad_json"),
    Case("duplicate keys", True, sealed(b'{"type":"say","text":"a","text":"b"}'), "bad_json"),
    Case("body not UTF-8", True, sealed(b'{"type":"say","text":"\xff"}'), "bad_json"),
    Case("JSON array, not object", True, sealed(b'["say"]'), "bad_json"),
    Case("unknown type", True, sealed(b'{"type":"dance"}'), "unknown_type"),
    Case("missing field", True, sealed(b'{"type":"say"}'), "bad_message"),
    Case("text of 2,001 characters", True,
         sealed(b'{"type":"say","text":"' + b"x" * 2001 + b'"}'), "bad_message"),
    Case("hello with an all-zero (low-order) X25519 key", False,
         raw(encode_frame(encode_message(Hello("box", bytes(32))))), "bad_key"),
    Case("C1 control (U+009B, a terminal's CSI) in text", True,
         sealed('{"type":"say","text":"a\u009bb"}'.encode()), "bad_message"),
    Case("a name that is not a string", True, sealed(b'{"type":"login","name":["x"]}'),
         "bad_message"),
    Case("tampered ciphertext", True, tampered, "decrypt_failed"),
    Case("replayed frame", True, replayed, "replayed"),
    Case("reordered frame", True, reordered, "reordered"),
    Case("reflected frame", True, reflected, "reflected"),
    Case("a second hello", True, sealed(encode_message(Hello("box", bytes(32)))),
         "unexpected_message"),
    Case("a message only servers send", True, sealed(encode_message(Welcome("x", ()))),
         "unexpected_message"),
]  # fmt: skip


def talk(sender: RawClient, receiver: RawClient, text: str) -> None:
    """``sender`` says ``text``; both see it (anything else in between is ignored)."""
    sender.send(Say(text))
    for client in (receiver, sender):
        client.wait_for(lambda m: isinstance(m, Message) and m.text == text)


@pytest.mark.parametrize("case", HOSTILE_INPUTS, ids=[case.what for case in HOSTILE_INPUTS])
def test_hostile_input_gets_its_error_and_disturbs_no_one(server, connect, case: Case) -> None:
    alice, bob = connect(server, "alice"), connect(server, "bob")
    talk(alice, bob, "before")

    offender = RawClient(server.address)
    try:
        if case.handshake:
            offender.handshake()
        case.act(offender)
        received = offender.expect_closed()
    finally:
        offender.close()
    assert received and isinstance(received[-1], Error), received
    assert received[-1].code == case.code, received[-1]

    talk(alice, bob, "after")
    bob.send(Whisper("alice", "still private"))
    alice.wait_for(lambda m: isinstance(m, Message) and m.to == "alice")


def test_a_hello_that_never_comes_times_out(make_server, connect) -> None:
    server = make_server(handshake_timeout=0.3)
    alice, bob = connect(server, "alice"), connect(server, "bob")
    silent = RawClient(server.address)
    try:
        received = silent.expect_closed()
    finally:
        silent.close()
    assert [m.code for m in received if isinstance(m, Error)] == ["handshake_timeout"]
    talk(alice, bob, "after the timeout")


def test_a_login_that_never_comes_times_out_sealed(make_server) -> None:
    server = make_server(handshake_timeout=0.3)
    lurker = RawClient(server.address)
    try:
        lurker.handshake()
        received = lurker.expect_closed()  # decoded with the session key: it was sealed
    finally:
        lurker.close()
    assert [m.code for m in received if isinstance(m, Error)] == ["handshake_timeout"]

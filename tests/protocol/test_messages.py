"""Messages: round trips, and strict refusal of everything else."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socketlab.protocol import (
    MAX_TEXT,
    Bye,
    E2EMessage,
    E2EWhisper,
    Error,
    Hello,
    Joined,
    Left,
    LocalProtocolError,
    Login,
    Lookup,
    Message,
    Ping,
    Pong,
    ProtocolError,
    Say,
    ServerHello,
    UserKey,
    Users,
    Welcome,
    Whisper,
    Who,
    decode_message,
    encode_message,
)

EXAMPLES = [
    Hello("box", bytes(32)),
    Hello("plain"),
    ServerHello("box", bytes(32), bytes(range(32)), bytes(64)),
    ServerHello("plain"),
    Login("alice"),
    Welcome("alice", ("alice", "bob")),
    Say("hello\nworld\t!"),
    Whisper("bob", "psst"),
    Message("alice", "hi", 1764000000000),
    Message("alice", "psst", 1, to="bob"),
    Who(),
    Users(("alice",)),
    Joined("carol"),
    Left("carol"),
    Left("carol", "sendq_exceeded"),
    Bye(),
    Error("name_taken", "somebody is alice already"),
    Ping(),
    Pong(),
    Login("alice", bytes(32), bytes(range(32)), bytes(64)),
    Lookup("bob"),
    UserKey("bob", bytes(32), bytes(range(32)), bytes(64)),
    E2EWhisper("bob", bytes(24), bytes(16)),
    E2EWhisper("bob", bytes(24), bytes(16_400)),
    E2EMessage("alice", "bob", 5, bytes(32), bytes(range(32)), bytes(64), bytes(24), bytes(40)),
]


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(msg):
    body = encode_message(msg)
    assert json.loads(body)["type"] == msg.TYPE
    assert decode_message(body) == msg


def test_wire_form_is_compact_and_ordered():
    assert encode_message(Message("alice", "hi", 5, to="bob")) == (
        b'{"type":"message","from":"alice","text":"hi","ts":5,"to":"bob"}'
    )
    assert encode_message(Left("bob")) == b'{"type":"left","name":"bob"}'


TRAPS = {
    "deep nesting": b'{"type":"say","text":"x","n":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "lone surrogate": b'{"type":"say","text":"\\ud800"}',
    "lone surrogate in a key": b'{"type":"say","\\udfff":1,"text":"x"}',
    "NaN": b'{"type":"message","from":"a","text":"x","ts":NaN}',
    "Infinity": b'{"type":"say","text":"x","n":Infinity}',
    "overflowing float": b'{"type":"message","from":"a","text":"x","ts":1e999}',
    "duplicate key": b'{"type":"say","text":"a","text":"b"}',
    "not UTF-8": b'{"type":"say","text":"\xff"}',
    "not an object": b'["say"]',
    "not JSON": b"say hello",
    "huge integer": b'{"type":"message","from":"a","text":"x","ts":' + b"9" * 5000 + b"}",
}


@pytest.mark.parametrize("body", TRAPS.values(), ids=TRAPS.keys())
def test_json_traps_are_bad_json(body):
    with pytest.raises(ProtocolError) as err:
        decode_message(body)
    assert err.value.code == "bad_json"


BAD_MESSAGES = {
    "no type": (b'{"text":"x"}', "bad_message"),
    "type not a string": (b'{"type":5}', "bad_message"),
    "unknown type": (b'{"type":"launch_missiles"}', "unknown_type"),
    "missing field": (b'{"type":"say"}', "bad_message"),
    "extra field": (b'{"type":"say","text":"x","admin":true}', "bad_message"),
    "text not a string": (b'{"type":"say","text":5}', "bad_message"),
    "empty text": (b'{"type":"say","text":""}', "bad_message"),
    "text too long": (
        json.dumps({"type": "say", "text": "x" * (MAX_TEXT + 1)}).encode(),
        "bad_message",
    ),
    "control character": (b'{"type":"say","text":"a\\u001bb"}', "bad_message"),
    "bool is no number": (b'{"type":"message","from":"a","text":"x","ts":true}', "bad_message"),
    "negative ts": (b'{"type":"message","from":"a","text":"x","ts":-1}', "bad_message"),
    "short key": (b'{"type":"hello","version":1,"mode":"box","key":"abcd"}', "bad_message"),
    "bad mode": (b'{"type":"hello","version":1,"mode":"rot13"}', "bad_message"),
    "C1 control (CSI)": (b'{"type":"say","text":"a\\u009bb"}', "bad_message"),
    "C1 control, raw UTF-8": ('{"type":"say","text":"a\u0085b"}'.encode(), "bad_message"),
    "bidi override in text": ('{"type":"say","text":"a\u202eb"}'.encode(), "bad_message"),
    "bidi isolate in text": ('{"type":"whisper","to":"b","text":"a\u2066b"}'.encode(),
                             "bad_message"),
    "oversize name (server to client)": (
        b'{"type":"joined","name":"' + b"a" * 21 + b'"}', "bad_name"),
    "bidi name (server to client)": ('{"type":"joined","name":"\u202eecila"}'.encode(),
                                     "bad_name"),
    "zero-width sender": ('{"type":"message","from":"ali\u200bce","text":"x","ts":1}'.encode(),
                          "bad_name"),
    "login name not a string": (b'{"type":"login","name":42}', "bad_message"),
    "whisper to not a string": (b'{"type":"whisper","to":null,"text":"x"}', "bad_message"),
    "bad error code": (b'{"type":"error","code":"Not A Code"}', "bad_message"),
    "hex key with spaces": (  # bytes.fromhex would skip them and give 31 bytes
        b'{"type":"hello","version":1,"mode":"box","key":"' + b"00" * 31 + b' 0"}',
        "bad_message"),
    "lookup with an extra field": (b'{"type":"lookup","name":"b","x":1}', "bad_message"),
    "login with part of a bundle": (
        b'{"type":"login","name":"a","e2e_key":"' + b"00" * 32 + b'"}', "bad_message"),
    "login with two thirds of a bundle": (
        b'{"type":"login","name":"a","e2e_key":"' + b"00" * 32 + b'","e2e_identity":"'
        + b"00" * 32 + b'"}', "bad_message"),
    "e2e box shorter than a MAC": (
        b'{"type":"e2e_whisper","to":"b","nonce":"' + b"00" * 24 + b'","box":"' + b"00" * 15
        + b'"}', "bad_message"),
    "e2e box over the limit": (
        b'{"type":"e2e_whisper","to":"b","nonce":"' + b"00" * 24 + b'","box":"'
        + b"00" * 16_401 + b'"}', "bad_message"),
    "e2e box of odd length": (
        b'{"type":"e2e_whisper","to":"b","nonce":"' + b"00" * 24 + b'","box":"' + b"0" * 33
        + b'"}', "bad_message"),
    "e2e box not hex": (
        b'{"type":"e2e_whisper","to":"b","nonce":"' + b"00" * 24 + b'","box":"' + b"g0" * 16
        + b'"}', "bad_message"),
    "e2e nonce short": (
        b'{"type":"e2e_whisper","to":"b","nonce":"' + b"00" * 23 + b'","box":"' + b"00" * 16
        + b'"}', "bad_message"),
    "e2e_message without the sender's signature": (
        b'{"type":"e2e_message","from":"a","to":"b","ts":1,"key":"' + b"00" * 32
        + b'","identity":"' + b"00" * 32 + b'","nonce":"' + b"00" * 24 + b'","box":"'
        + b"00" * 16 + b'"}', "bad_message"),
    "user_key with a bidi name (server to client)": (
        '{"type":"user_key","name":"\u202eb","key":"'.encode() + b"00" * 32
        + b'","identity":"' + b"00" * 32 + b'","signature":"' + b"00" * 64 + b'"}', "bad_name"),
    "lookup name not a string": (b'{"type":"lookup","name":[]}', "bad_message"),
}


@pytest.mark.parametrize(("body", "code"), BAD_MESSAGES.values(), ids=BAD_MESSAGES.keys())
def test_bad_messages_get_their_code(body, code):
    with pytest.raises(ProtocolError) as err:
        decode_message(body)
    assert err.value.code == code


def test_encoder_refuses_invalid_messages():
    with pytest.raises(LocalProtocolError) as err:
        encode_message(Say(""))
    assert err.value.code == "bad_message"
    with pytest.raises(LocalProtocolError) as err:
        encode_message(Joined("al ice"))
    assert err.value.code == "bad_name"


@pytest.mark.parametrize("name", ["al ice", "a" * 21, "\u202eecila", ""])
def test_a_name_a_user_asks_for_is_only_type_checked_by_the_codec(name):
    """login.name and whisper.to carry what a user typed: the server answers bad_name
    and keeps the connection (a typo costs a retry), so the codec lets them through."""
    assert decode_message(encode_message(Login(name))) == Login(name)
    assert decode_message(encode_message(Whisper(name, "hi"))) == Whisper(name, "hi")
    assert decode_message(encode_message(Lookup(name))) == Lookup(name)
    e2e = E2EWhisper(name, bytes(24), bytes(16))
    assert decode_message(encode_message(e2e)) == e2e


def test_upper_case_hex_is_accepted_and_written_back_lower_case():
    body = (b'{"type":"e2e_whisper","to":"b","nonce":"' + b"AB" * 24 + b'","box":"'
            + b"CD" * 16 + b'"}')
    msg = decode_message(body)
    assert msg == E2EWhisper("b", b"\xab" * 24, b"\xcd" * 16)
    assert encode_message(msg) == body.lower()


def test_the_wire_form_of_the_new_types_follows_the_tables():
    assert encode_message(Lookup("bob")) == b'{"type":"lookup","name":"bob"}'
    assert encode_message(Login("a", b"\x01" * 32, b"\x02" * 32, b"\x03" * 64)) == (
        b'{"type":"login","name":"a","e2e_key":"' + b"01" * 32 + b'","e2e_identity":"'
        + b"02" * 32 + b'","e2e_signature":"' + b"03" * 64 + b'"}')
    assert encode_message(
        E2EMessage("a", "b", 7, b"\x01" * 32, b"\x02" * 32, b"\x03" * 64, b"\x04" * 24,
                   b"\x05" * 16)
    ) == (b'{"type":"e2e_message","from":"a","to":"b","ts":7,"key":"' + b"01" * 32
          + b'","identity":"' + b"02" * 32 + b'","signature":"' + b"03" * 64 + b'","nonce":"'
          + b"04" * 24 + b'","box":"' + b"05" * 16 + b'"}')
    with pytest.raises(LocalProtocolError) as err:
        encode_message(Login("a", e2e_key=bytes(32)))
    assert err.value.code == "bad_message"


names = st.text(
    alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd")), min_size=1, max_size=20
)
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200
)
messages = st.one_of(
    st.builds(Login, names),
    st.builds(Say, texts),
    st.builds(Whisper, names, texts),
    st.builds(Message, names, texts, st.integers(0, 2**53 - 1), st.none() | names),
    st.builds(Welcome, names, st.lists(names, max_size=5).map(tuple)),
    st.builds(Users, st.lists(names, max_size=5).map(tuple)),
    st.builds(Left, names),
    st.builds(Error, st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True), texts),
)


@given(messages)
def test_any_valid_message_round_trips(msg):
    assert decode_message(encode_message(msg)) == msg


@given(st.binary(max_size=500))
def test_random_bytes_raise_only_protocol_errors(data):
    try:
        decode_message(data)
    except ProtocolError:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(st.sampled_from(["say", "login", "whisper", "message", "hello", "error", "users"]),
       st.dictionaries(st.sampled_from(["text", "name", "to", "from", "ts", "key", "mode",
                                        "version", "code", "names", "x"]), json_values))
def test_random_json_objects_raise_only_protocol_errors(kind, fields):
    body = json.dumps({"type": kind, **fields}).encode()
    try:
        decode_message(body)
    except ProtocolError:
        pass

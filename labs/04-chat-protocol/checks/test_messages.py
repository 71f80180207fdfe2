"""Step 1: decode() accepts exactly the messages a client may send, and names what is wrong."""

from socketlab.labs import harness

GOOD = [
    b'{"type":"hello","version":1,"mode":"plain"}',
    b'{"type":"login","name":"alice"}',
    b'{"type":"say","text":"hello,\\tclass\\nline two"}',
    b'{"type":"whisper","to":"bob","text":"psst"}',
    b'{"type":"who"}',
    b'{"type":"bye"}',
    b'{"type":"error","code":"oops"}',
    b'{"type":"error","code":"oops","message":""}',
]

BAD = [
    (b"hello", "bad_json", "not JSON at all"),
    (b"\xff\xfe{}", "bad_json", "not UTF-8"),
    (b'["say","hi"]', "bad_json", "JSON, but a list, not an object"),
    (b'{"text":"hi"}', "bad_message", "no type"),
    (b'{"type":7}', "bad_message", "a type that is not a string"),
    (b'{"type":"shout","text":"hi"}', "unknown_type", "a type nobody knows"),
    (b'{"type":"welcome","name":"x","users":[]}', "unexpected_message", "a type only a server sends"),
    (b'{"type":"say"}', "bad_message", "say without its text"),
    (b'{"type":"say","text":"hi","colour":"red"}', "bad_message", "a field say does not have"),
    (b'{"type":"say","text":42}', "bad_message", "a text that is a number"),
    (b'{"type":"login","name":["alice"]}', "bad_message", "a name that is a list"),
    (b'{"type":"hello","version":1.0,"mode":"plain"}', "bad_message", "version 1.0 (not a whole number)"),
    (b'{"type":"hello","version":true,"mode":"plain"}', "bad_message",
     "version true (in Python True == 1, in JSON it is not a number: use type(value) is int)"),
    (b'{"type":"say","text":""}', "bad_message", "an empty text"),
    (b'{"type":"say","text":"' + b"x" * 2001 + b'"}', "bad_message", "a text of 2001 characters"),
    (b'{"type":"say","text":"ring \\u0007 ring"}', "bad_message", "a text with a control character"),
    (b'{"type":"say","text":"csi \\u009b2J"}', "bad_message", "a text with a C1 control (U+009B)"),
    (b'{"type":"say","text":"abc \\u202e fed"}', "bad_message", "a text with a bidi override"),
    (b'{"type":"error","code":"x","message":"\\u0007"}', "bad_message",
     "an error message with a control character"),
]


def _decode(module, body):
    try:
        return harness.call_with_timeout(module.decode, body, timeout=2), None
    except module.ProtocolError as error:
        return None, error


def test_good_messages_decode(server_module):
    """decode() returns the dict of every well-formed client message"""
    for body in GOOD:
        msg, error = _decode(server_module, body)
        assert error is None, (
            f"decode({body!r}) raised ProtocolError({error.code!r}, {error.message!r}), but it "
            "is a valid message (see OPTIONAL_FIELDS) — README step 1")
        assert isinstance(msg, dict) and msg.get("type") == body.split(b'"')[3].decode(), (
            f"decode({body!r}) returned {msg!r}: return the message as a dict — README step 1")


def test_bad_messages_refused(server_module):
    """decode() refuses 19 kinds of bad message, each with the right error code"""
    for body, code, what in BAD:
        msg, error = _decode(server_module, body)
        assert error is not None, (
            f"decode() accepted {what} ({body[:60]!r}) and returned {msg!r}: it must raise "
            f"ProtocolError({code!r}, ...) — README step 1")
        assert error.code == code, (
            f"decode() refused {what} ({body[:60]!r}) with {error.code!r}; the protocol says "
            f"{code!r} — README step 1 (docs/protocol.md, section 2)")


def test_optional_key_in_hello(server_module):
    """decode() allows hello's optional key field"""
    body = b'{"type":"hello","version":1,"mode":"box","key":"' + b"ab" * 32 + b'"}'
    _msg, error = _decode(server_module, body)
    assert error is None, (
        f"decode() refused a box hello with its key ({error.code!r}): fields in OPTIONAL_FIELDS "
        "may be there or not — README step 1")


def test_text_length_in_characters(server_module):
    """a say of 2,000 Hangul characters is allowed, 2,001 refused (characters, not bytes)"""
    for count, allowed in ((2000, True), (2001, False)):
        body = ('{"type":"say","text":"' + "한" * count + '"}').encode("utf-8")
        msg, error = _decode(server_module, body)
        if allowed:
            assert error is None, (
                f"decode() refused a say of {count:,} Hangul characters ({error.code!r}): each "
                f"is 3 bytes in UTF-8 ({count * 3:,} bytes), but the limit is {count:,} "
                "characters — count characters, len(text), not bytes — README step 1")
        else:
            assert error is not None and error.code == "bad_message", (
                f"decode() of a say of {count:,} Hangul characters gave "
                f"{msg if error is None else error.code!r}: more than 2,000 characters is "
                "bad_message — README step 1")

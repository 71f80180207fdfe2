"""Step 1: decode() accepts exactly the messages a client may send, and names what is wrong."""

from socketlab.i18n import N_
from socketlab.labs import harness
from socketlab.labs.harness import _

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
    (b"hello", "bad_json", N_("not JSON at all")),
    (b"\xff\xfe{}", "bad_json", N_("not UTF-8")),
    (b'["say","hi"]', "bad_json", N_("JSON, but a list, not an object")),
    (b'{"text":"hi"}', "bad_message", N_("no type")),
    (b'{"type":7}', "bad_message", N_("a type that is not a string")),
    (b'{"type":"shout","text":"hi"}', "unknown_type", N_("a type nobody knows")),
    (b'{"type":"welcome","name":"x","users":[]}', "unexpected_message", N_("a type only a server sends")),
    (b'{"type":"say"}', "bad_message", N_("say without its text")),
    (b'{"type":"say","text":"hi","colour":"red"}', "bad_message", N_("a field say does not have")),
    (b'{"type":"say","text":42}', "bad_message", N_("a text that is a number")),
    (b'{"type":"login","name":["alice"]}', "bad_message", N_("a name that is a list")),
    (b'{"type":"hello","version":1.0,"mode":"plain"}', "bad_message", N_("version 1.0 (not a whole number)")),
    (b'{"type":"hello","version":true,"mode":"plain"}', "bad_message",
     N_("version true (in Python True == 1, in JSON it is not a number: use type(value) is int)")),
    (b'{"type":"say","text":""}', "bad_message", N_("an empty text")),
    (b'{"type":"say","text":"' + b"x" * 2001 + b'"}', "bad_message", N_("a text of 2001 characters")),
    (b'{"type":"say","text":"ring \\u0007 ring"}', "bad_message", N_("a text with a control character")),
    (b'{"type":"say","text":"csi \\u009b2J"}', "bad_message", N_("a text with a C1 control (U+009B)")),
    (b'{"type":"say","text":"abc \\u202e fed"}', "bad_message", N_("a text with a bidi override")),
    (b'{"type":"error","code":"x","message":"\\u0007"}', "bad_message",
     N_("an error message with a control character")),
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
        assert error is None, _(
            "decode({body!r}) raised ProtocolError({code!r}, {message!r}), but it "
            "is a valid message (see OPTIONAL_FIELDS) — README step 1").format(
                body=body, code=error.code, message=error.message)
        assert isinstance(msg, dict) and msg.get("type") == body.split(b'"')[3].decode(), _(
            "decode({body!r}) returned {msg!r}: return the message as a dict — README step 1"
        ).format(body=body, msg=msg)


def test_bad_messages_refused(server_module):
    """decode() refuses 19 kinds of bad message, each with the right error code"""
    for body, code, what in BAD:
        msg, error = _decode(server_module, body)
        assert error is not None, _(
            "decode() accepted {what} ({body!r}) and returned {msg!r}: it must raise "
            "ProtocolError({code!r}, ...) — README step 1").format(
                what=_(what), body=body[:60], msg=msg, code=code)
        assert error.code == code, _(
            "decode() refused {what} ({body!r}) with {got!r}; the protocol says "
            "{code!r} — README step 1 (docs/protocol.md, section 2)").format(
                what=_(what), body=body[:60], got=error.code, code=code)


def test_optional_key_in_hello(server_module):
    """decode() allows hello's optional key field"""
    body = b'{"type":"hello","version":1,"mode":"box","key":"' + b"ab" * 32 + b'"}'
    _msg, error = _decode(server_module, body)
    assert error is None, _(
        "decode() refused a box hello with its key ({code!r}): fields in OPTIONAL_FIELDS "
        "may be there or not — README step 1").format(code=error.code)


def test_text_length_in_characters(server_module):
    """a say of 2,000 Hangul characters is allowed, 2,001 refused (characters, not bytes)"""
    for count, allowed in ((2000, True), (2001, False)):
        body = ('{"type":"say","text":"' + "한" * count + '"}').encode("utf-8")
        msg, error = _decode(server_module, body)
        if allowed:
            assert error is None, _(
                "decode() refused a say of {count:,} Hangul characters ({code!r}): each "
                "is 3 bytes in UTF-8 ({size:,} bytes), but the limit is {count:,} "
                "characters — count characters, len(text), not bytes — README step 1").format(
                    count=count, code=error.code, size=count * 3)
        else:
            assert error is not None and error.code == "bad_message", _(
                "decode() of a say of {count:,} Hangul characters gave "
                "{got!r}: more than 2,000 characters is "
                "bad_message — README step 1").format(
                    count=count, got=msg if error is None else error.code)


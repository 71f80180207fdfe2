"""Step 2: the plain hello exchange, and what happens to a client that starts wrong."""

import json

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_plain_hello_answered(connect):
    """a plain hello of version 1 is answered with server_hello {version 1, mode plain}"""
    client = connect()
    client.send({"type": "hello", "version": 1, "mode": "plain"})
    answer = client.expect("server_hello", _(
        "a plain hello is answered with server_hello — README step 2"))
    assert answer == {"type": "server_hello", "version": 1, "mode": "plain"}, harness.why(_(
        "the answer to hello was {answer}: it must be exactly {expected} — README step 2"
    ).format(answer=json.dumps(answer),
             expected='{"type": "server_hello", "version": 1, "mode": "plain"}'))


def test_wrong_version_refused(connect):
    """a hello of version 2 gets error bad_version, then the connection closes"""
    client = connect()
    client.send({"type": "hello", "version": 2, "mode": "plain"})
    client.expect_error("bad_version", _("this server speaks version 1 only — README step 2"))
    assert client.closed(), harness.why(_(
        "after bad_version the connection must close: raise ProtocolError, serve_client() "
        "sends the error and hangs up — README step 2"))


def test_other_first_message_refused(connect):
    """a login before hello gets error unexpected_message, then the connection closes"""
    client = connect()
    client.send({"type": "login", "name": "alice"})
    client.expect_error("unexpected_message", _("the first frame must be hello — README step 2"))
    assert client.closed(), harness.why(_(
        "after unexpected_message the connection must close — README step 2"))


def test_box_hello_refused(connect):
    """an encrypted (box) hello is refused with an error, then the connection closes"""
    client = connect()
    client.send({"type": "hello", "version": 1, "mode": "box", "key": "ab" * 32})
    client.expect("error", _("this server speaks only plain until lab 06 — README step 2"))
    assert client.closed(), harness.why(_("after refusing a box hello the connection must close"))


def test_unknown_mode_refused(connect):
    """a hello with a mode nobody knows is refused with bad_message, then the connection closes"""
    client = connect()
    client.send({"type": "hello", "version": 1, "mode": "rot13"})
    client.expect_error("bad_message", _("a mode is plain or box; any other is a bad message — "
                                         "README step 2"))
    assert client.closed(), harness.why(_("after refusing a hello the connection must close"))


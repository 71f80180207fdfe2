"""Given: ping is answered with pong (before login too); a client's error gets no answer."""

import pytest

from socketlab.labs import harness
from socketlab.labs.harness import _


@pytest.mark.given
def test_ping_before_and_after_login(connect):
    """ping is answered with pong, before login and after"""
    client = connect()
    client.hello()
    client.send({"type": "ping"})
    client.expect("pong", _("ping is answered with pong, before login too (serve_client does it)"))
    assert client.login("alice").get("type") == "welcome", harness.why(
        _("the login after a ping failed"))
    client.send({"type": "ping"})
    client.expect("pong", _("ping is answered with pong"))


@pytest.mark.given
def test_client_error_not_answered(join):
    """an error a client sends gets no answer, and the connection stays"""
    alice = join("alice")
    alice.send({"type": "error", "code": "confused", "message": "what was that?"})
    alice.send({"type": "ping"})
    alice.expect("pong", _("a client's error is never answered (answering could start a loop of "
                           "errors); the ping after it gets its pong"))


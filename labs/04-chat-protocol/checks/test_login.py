"""Step 5: login — welcome, joined, and refusals the user may retry on the same connection."""

import json

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_welcome(connect):
    """a login is answered with welcome {name, users}, the new user in the list"""
    alice = connect("alice")
    alice.hello()
    answer = alice.login("alice")
    assert answer == {"type": "welcome", "name": "alice", "users": ["alice"]}, harness.why(_(
        "alice logged in first and got {answer}; expected {expected} — README step 5").format(
            answer=json.dumps(answer),
            expected='{"type": "welcome", "name": "alice", "users": ["alice"]}'))
    bob = connect("bob")
    bob.hello()
    answer = bob.login("bob")
    assert answer.get("type") == "welcome" and answer.get("users") == ["alice", "bob"], \
        harness.why(_("bob logged in second and got {answer}: users lists everyone "
                      "logged in, in the order they joined, bob included — README step 5"
                      ).format(answer=json.dumps(answer)))


def test_joined_to_the_others(join):
    """the others get joined {name}; the newcomer does not"""
    alice = join("alice")
    bob = join("bob")
    alice.expect("joined", _("when bob logs in, the others get joined — README step 5"))
    bob.send({"type": "login", "name": "bobby"})  # its answer comes after anything sent before
    # A joined about alice may still come (her thread tells the others after her welcome).
    while (msg := bob.recv()) is not None and msg.get("type") == "joined":
        assert msg.get("name") != "bob", harness.why(_(
            "bob got joined about himself: joined goes to everyone except the newcomer "
            "(broadcast(..., exclude=client)) — README step 5"))


def _refused_then_retry(connect, join, first, second, code, why):
    join(first)
    client = connect(second)
    client.hello()
    answer = client.login(second)
    assert answer.get("type") == "error" and answer.get("code") == code, harness.why(_(
        "with {first!r} logged in, a login as {second!r} got {answer}; expected "
        "error {code!r}: {why}").format(first=first, second=second, answer=json.dumps(answer),
                                       code=code, why=why))
    retry = client.login("carol")
    assert retry.get("type") == "welcome", harness.why((
        _("after {code}, a second try as 'carol' on the same connection got {retry} (the server "
          "closed the connection): a refused name is not a protocol error — send the error and "
          "keep the connection — README step 5")
        if client.ended else
        _("after {code}, a second try as 'carol' on the same connection got {retry}: a refused "
          "name is not a protocol error — send the error and keep the connection — README step 5")
    ).format(code=code, retry=json.dumps(retry)))


def test_name_taken_exact(connect, join):
    """a name in use is refused with name_taken; the user retries on the same connection"""
    _refused_then_retry(connect, join, "bob", "bob", "name_taken",
                        _("the name is in use — README step 5"))


def test_name_taken_in_another_case(connect, join):
    """"BOB" is refused while "bob" is in use (names compare case-insensitively)"""
    _refused_then_retry(connect, join, "bob", "BOB", "name_taken",
                        _("compare name_key(name), not the name itself — README steps 3 and 5"))


def test_name_taken_nfkc(connect, join):
    """full-width "ｂｏｂ" is refused while "bob" is in use (NFKC look-alikes)"""
    _refused_then_retry(connect, join, "bob", "ｂｏｂ", "name_taken",
                        _("compare name_key(name), which is NFKC then casefold — "
                          "README steps 3 and 5"))


def test_bad_name_retry(connect, join):
    """a name that breaks the rules is refused with bad_name; the user retries"""
    _refused_then_retry(connect, join, "alice", "bad name", "bad_name",
                        _("a space is not allowed: check_name() — README step 5"))


def test_second_login_refused(join):
    """a second login on the same connection gets already_logged_in"""
    alice = join("alice")
    alice.send({"type": "login", "name": "alicia"})
    alice.expect_error("already_logged_in", _("one login per connection — README step 5"))
    alice.send({"type": "login", "name": "alice"})
    alice.expect_error("already_logged_in", _(
        "the connection stays open after already_logged_in"))


def test_chat_before_login_refused(connect):
    """say before login gets not_logged_in; the connection stays open"""
    client = connect()
    client.hello()
    client.send({"type": "say", "text": "hi"})
    client.expect_error("not_logged_in", _("log in first — serve_client() answers that"))
    answer = client.login("late")
    assert answer.get("type") == "welcome", harness.why(_(
        "after not_logged_in, a login got {answer}: the connection stays open").format(
            answer=json.dumps(answer)))


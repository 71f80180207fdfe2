"""Step 5: login — welcome, joined, and refusals the user may retry on the same connection."""

import json

from socketlab.labs import harness


def test_welcome(connect):
    """a login is answered with welcome {name, users}, the new user in the list"""
    alice = connect("alice")
    alice.hello()
    answer = alice.login("alice")
    assert answer == {"type": "welcome", "name": "alice", "users": ["alice"]}, harness.why(
        f"alice logged in first and got {json.dumps(answer)}; expected "
        '{"type": "welcome", "name": "alice", "users": ["alice"]} — README step 5')
    bob = connect("bob")
    bob.hello()
    answer = bob.login("bob")
    assert answer.get("type") == "welcome" and answer.get("users") == ["alice", "bob"], \
        harness.why(f"bob logged in second and got {json.dumps(answer)}: users lists everyone "
                    "logged in, in the order they joined, bob included — README step 5")


def test_joined_to_the_others(join):
    """the others get joined {name}; the newcomer does not"""
    alice = join("alice")
    bob = join("bob")
    alice.expect("joined", "when bob logs in, the others get joined — README step 5")
    bob.send({"type": "login", "name": "bobby"})  # its answer comes after anything sent before
    # A joined about alice may still come (her thread tells the others after her welcome).
    while (msg := bob.recv()) is not None and msg.get("type") == "joined":
        assert msg.get("name") != "bob", harness.why(
            "bob got joined about himself: joined goes to everyone except the newcomer "
            "(broadcast(..., exclude=client)) — README step 5")


def _refused_then_retry(connect, join, first, second, code, why):
    join(first)
    client = connect(second)
    client.hello()
    answer = client.login(second)
    assert answer.get("type") == "error" and answer.get("code") == code, harness.why(
        f"with {first!r} logged in, a login as {second!r} got {json.dumps(answer)}; expected "
        f"error {code!r}: {why}")
    retry = client.login("carol")
    assert retry.get("type") == "welcome", harness.why(
        f"after {code}, a second try as 'carol' on the same connection got {json.dumps(retry)}"
        f"{' (the server closed the connection)' if client.ended else ''}: a refused name is "
        "not a protocol error — send the error and keep the connection — README step 5")


def test_name_taken_exact(connect, join):
    """a name in use is refused with name_taken; the user retries on the same connection"""
    _refused_then_retry(connect, join, "bob", "bob", "name_taken",
                        "the name is in use — README step 5")


def test_name_taken_in_another_case(connect, join):
    """"BOB" is refused while "bob" is in use (names compare case-insensitively)"""
    _refused_then_retry(connect, join, "bob", "BOB", "name_taken",
                        "compare name_key(name), not the name itself — README steps 3 and 5")


def test_name_taken_nfkc(connect, join):
    """full-width "ｂｏｂ" is refused while "bob" is in use (NFKC look-alikes)"""
    _refused_then_retry(connect, join, "bob", "ｂｏｂ", "name_taken",
                        "compare name_key(name), which is NFKC then casefold — README steps 3 and 5")


def test_bad_name_retry(connect, join):
    """a name that breaks the rules is refused with bad_name; the user retries"""
    _refused_then_retry(connect, join, "alice", "bad name", "bad_name",
                        "a space is not allowed: check_name() — README step 5")


def test_second_login_refused(join):
    """a second login on the same connection gets already_logged_in"""
    alice = join("alice")
    alice.send({"type": "login", "name": "alicia"})
    alice.expect_error("already_logged_in", "one login per connection — README step 5")
    alice.send({"type": "login", "name": "alice"})
    alice.expect_error("already_logged_in", "the connection stays open after already_logged_in")


def test_chat_before_login_refused(connect):
    """say before login gets not_logged_in; the connection stays open"""
    client = connect()
    client.hello()
    client.send({"type": "say", "text": "hi"})
    client.expect_error("not_logged_in", "log in first — serve_client() answers that")
    answer = client.login("late")
    assert answer.get("type") == "welcome", harness.why(
        f"after not_logged_in, a login got {json.dumps(answer)}: the connection stays open")

"""Step 6: your client checks every key a server hands it, and every whisper it is given.

The server here is the checks' own, and it lies: it forges keys, swaps
identities and reflects whispers. Your ChatSession must notice each time.
"""

import json

from conftest import User, expect_refusal, student_error, verifies
from nacl.exceptions import CryptoError

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import fingerprint


def logged_in(fake, open_session, home, name="alice"):
    fake.accept_one()
    session = open_session(fake.address, name, home)
    fake.ready()
    return session


def test_login_carries_a_signed_bundle(fake_server, open_session, tmp_path):
    """your client logs in with e2e_key, e2e_identity and a signature that verifies"""
    logged_in(fake_server, open_session, tmp_path)
    login = fake_server.login
    fields = ("e2e_key", "e2e_identity", "e2e_signature")
    assert all(f in login for f in fields) and verifies(
        login["e2e_identity"], login["e2e_key"], login["name"], login["e2e_signature"]), _(
        "your client's login was {login}: it carries sign_bundle(...)'s three fields, and the "
        "signature verifies — README step 1").format(login=json.dumps(login)[:300])


def test_lookup_checks_the_key(fake_server, open_session, tmp_path):
    """lookup gives bob's checked name and key; a forged key or another user's answer is refused"""
    session = logged_in(fake_server, open_session, tmp_path)
    bob, mallory = User("bob"), User("mallory")
    fake_server.send(bob.user_key())  # the answer is there before the question: order is enough
    got = harness.call_with_timeout(lambda: session.lookup("BOB"), timeout=5)
    expected = ("bob", bytes(bob.e2e.public_key))
    assert tuple(got or ()) == expected, _(
        "lookup('BOB') returned {got!r}; expected {expected!r}: the name as the user_key spells "
        "it and the key, once the signature and the pin are checked — README step 9").format(
            got=got, expected=expected)
    asked = fake_server.recv()
    assert asked == {"type": "lookup", "name": "BOB"}, _(
        "lookup('BOB') sent {asked}; expected {{'type': 'lookup', 'name': 'BOB'}} — README step 9"
    ).format(asked=asked)
    forged = {**bob.user_key(), "key": bytes(mallory.e2e.public_key).hex()}
    fake_server.send(forged)
    expect_refusal(lambda: session.lookup("bob"), "bad_signature",
                   _("lookup('bob') answered with a key the server swapped in (bob's identity "
                     "and signature, the server's own key) — verify_bundle before you keep it, "
                     "README step 9"))
    fake_server.send({**bob.user_key(), "name": "carol"})
    expect_refusal(lambda: session.lookup("bob"), "bad_message",
                   _("lookup('bob') answered with carol's user_key (it must be for the user you "
                     "asked) — README step 9"))


def test_forged_answer_pins_nothing(fake_server, open_session, tmp_path):
    """a user_key whose signature fails pins nothing: bob's real key is still 'new' after it"""
    session = logged_in(fake_server, open_session, tmp_path)
    bob, mallory = User("bob"), User("mallory")
    forged = {**mallory.user_key(), "name": "bob"}  # mallory's identity, signed for mallory
    fake_server.send(forged)
    expect_refusal(lambda: session.lookup("bob"), "bad_signature",
                   _("lookup('bob') answered with mallory's bundle under bob's name — README "
                     "step 9"))
    fake_server.send(bob.user_key())
    error = None
    try:
        harness.call_with_timeout(lambda: session.lookup("bob"), timeout=5)
    except AssertionError:
        raise
    except Exception as raised:  # noqa: BLE001 - the student's code: judged below
        error = student_error(raised) or (harness.describe(raised), "")
    assert error is None, _(
        "after a forged answer was refused, bob's real key was refused too ({code}): the "
        "forger's identity had been pinned as bob's. Check the signature (verify_bundle) "
        "BEFORE the pin (check_user_pin): only a verified identity may be pinned — README "
        "step 9").format(code=error[0])


def test_changed_identity_is_refused(fake_server, open_session, tmp_path):
    """bob met once; next time the server offers another identity for bob: refused, both fingerprints"""
    session = logged_in(fake_server, open_session, tmp_path)
    bob = User("bob")
    fake_server.send(bob.user_key())
    harness.call_with_timeout(lambda: session.lookup("bob"), timeout=5)
    impostor = User("bob")  # a correctly self-signed bundle, by another identity
    session = logged_in(fake_server, open_session, tmp_path)
    fake_server.send(impostor.user_key())
    message = expect_refusal(lambda: session.lookup("bob"), "identity_changed",
                             _("the second session's lookup('bob') got a new identity for bob "
                               "— check_user_pin(...) after verify_bundle, README step 9"))
    wanted = [fingerprint(bytes(u.identity.verify_key)) for u in (bob, impostor)]
    assert all(fp in message for fp in wanted), _(
        "the refusal said {message!r}; it must show both fingerprints {wanted} — README step 8"
    ).format(message=message, wanted=wanted)


def test_whisper_is_sealed_to_the_recipient(fake_server, open_session, tmp_path):
    """whisper("BOB", …) looks bob up, then sends e2e_whisper sealed to bob's key, from/to inside"""
    session = logged_in(fake_server, open_session, tmp_path)
    bob = User("bob")
    fake_server.send(bob.user_key())  # the answer is there before the question: order is enough
    harness.call_with_timeout(lambda: session.whisper("BOB", "meet at noon"), timeout=5)
    asked = fake_server.recv()
    plain = _(": a plain whisper, which the server (and its key log) reads: never a plain "
              "whisper on your own: look the key up and send e2e_whisper") \
        if asked is not None and asked.get("type") == "whisper" else ""
    assert asked == {"type": "lookup", "name": "BOB"}, _(
        "before whispering to BOB your client sent {asked}; expected lookup{{name}}{plain} — "
        "README steps 9 and 10").format(asked=asked, plain=plain)
    sent = fake_server.recv()
    assert sent is not None and sent.get("type") == "e2e_whisper" and sent.get("to") == "bob", _(
        "then it sent {sent}; expected e2e_whisper to 'bob' (the name as the user_key gives "
        "it) — README step 9").format(sent=sent)
    alice_key = bytes.fromhex(fake_server.login["e2e_key"])
    try:
        inner = json.loads(bob.open(alice_key, sent["nonce"], sent["box"]))
    except CryptoError:
        raise AssertionError(_(
            "bob could not open your e2e_whisper with his secret and your e2e key, so it was "
            "not sealed to bob's key: seal_whisper(self.e2e, bob's key (from lookup), your name, "
            "bob's name, text), so that he, and only he, should read it — README step 10"
        )) from None
    assert inner == {"from": "alice", "to": "bob", "text": "meet at noon"}, _(
        "bob opened it and found {inner}: seal_whisper(self.e2e, bob's key, your name, bob's "
        "name, text) — README step 10").format(inner=inner)
    harness.call_with_timeout(lambda: session.whisper("bob", "again"), timeout=5)
    again = fake_server.recv()
    assert again is not None and again.get("type") == "e2e_whisper", _(
        "a second whisper to bob sent {again}: keep the key you checked (known_keys) and "
        "whisper without a second lookup — README step 10").format(again=again)


def test_whisper_never_uses_a_forged_key(fake_server, open_session, tmp_path):
    """whisper to a user whose key does not verify raises bad_signature and sends nothing sealed"""
    session = logged_in(fake_server, open_session, tmp_path)
    bob, mallory = User("bob"), User("mallory")
    fake_server.send({**bob.user_key(), "key": bytes(mallory.e2e.public_key).hex()})
    expect_refusal(lambda: session.whisper("bob", "secret"), "bad_signature",
                   _("whisper('bob', …) after a forged user_key — README step 10"))
    asked = fake_server.recv()
    sent = fake_server.recv(0.2)
    assert asked is not None and asked.get("type") == "lookup" and sent is None, _(
        "your client sent {asked} then {sent}: a lookup, then nothing — never seal to a key that "
        "did not verify — README step 10").format(asked=asked, sent=json.dumps(sent)[:200])


def _whisper_twice_refused(fake, session, answer: dict, code: str, why: str) -> list[dict]:
    """whisper to bob twice, the server answering each lookup with ``answer``: both must be
    refused with ``code``. Everything the client sent, in order."""
    outcomes = []
    for number in (1, 2):
        fake.send(answer)  # there before the question: order is enough
        try:
            harness.call_with_timeout(lambda n=number: session.whisper("bob", f"secret {n}"),
                                      timeout=5)
        except AssertionError:
            raise
        except Exception as error:  # noqa: BLE001 - the student's code: judged below
            outcomes.append((student_error(error) or (type(error).__name__, ""))[0])
        else:
            outcomes.append(_("no error"))
    sent = []
    while (msg := fake.recv(0.2)) is not None:
        sent.append(msg)
    sealed = [m for m in sent if m.get("type") == "e2e_whisper"]
    assert not sealed, _(
        "{why}: your client refused bob's key ({outcome}), and then whispered to bob again "
        "and sent an e2e_whisper sealed to that very key ({sent}): the refused key was kept in "
        "known_keys before it was checked. Keep a key only once the name, verify_bundle and "
        "check_user_pin have all passed — README step 9").format(
            why=why, outcome=outcomes[0], sent=_(" then ").join(m["type"] for m in sent))
    assert outcomes == [code, code], _(
        "{why}: whispering to bob twice was refused with {outcomes}, expected {code} both "
        "times (each whisper looks bob up again, as no checked key was kept) — README steps 9 "
        "and 10").format(why=why, outcomes=outcomes, code=code)
    return sent


def test_refused_key_is_never_used(fake_server, open_session, tmp_path):
    """after each refused lookup, a second whisper looks up again: nothing is ever sealed to a refused key"""
    bob, mallory = User("bob"), User("mallory")
    forged = {**bob.user_key(), "key": bytes(mallory.e2e.public_key).hex()}
    cases = [
        (forged, "bad_signature", _("the server swapped in a key of its own")),
        ({**User("carol").user_key()}, "bad_message", _("the server answered for carol")),
    ]
    for answer, code, why in cases:
        session = logged_in(fake_server, open_session, tmp_path / code)
        _whisper_twice_refused(fake_server, session, answer, code, why)
    # bob's identity pinned in a first session; in the next, the server offers another one
    home = tmp_path / "identity_changed"
    session = logged_in(fake_server, open_session, home)
    fake_server.send(bob.user_key())
    harness.call_with_timeout(lambda: session.lookup("bob"), timeout=5)
    session = logged_in(fake_server, open_session, home)
    _whisper_twice_refused(fake_server, session, User("bob").user_key(), "identity_changed",
                           _("the server offered another identity for bob than the pinned one"))


def test_old_client_gets_no_plain_whisper(fake_server, open_session, tmp_path):
    """whisper to a user without an e2e key raises no_e2e_key, and sends no plain whisper"""
    session = logged_in(fake_server, open_session, tmp_path)
    fake_server.send({"type": "error", "code": "no_e2e_key",
                      "message": "oldtimer logged in without an e2e key"})
    try:
        harness.call_with_timeout(lambda: session.whisper("oldtimer", "my password is hunter2"),
                                  timeout=5)
    except AssertionError:
        raise
    except Exception as error:  # noqa: BLE001 - the student's code: judged below
        outcome = (student_error(error) or (harness.describe(error), ""))[0]
    else:
        outcome = _("no error")
    sent = []
    while (msg := fake_server.recv(0.2)) is not None:
        sent.append(msg)
    assert [m.get("type") for m in sent] == ["lookup"], _(
        "whispering to oldtimer (no e2e key) your client sent {sent}: a lookup, then nothing. "
        "A plain whisper would let the server read it: show the user the no_e2e_key error, "
        "never fall back to a plain whisper on your own (/pw is the user's choice) — README "
        "step 10").format(sent=[m.get("type") for m in sent])
    assert outcome == "no_e2e_key", _(
        "whisper('oldtimer', …) to a user whose client has no e2e key gave {outcome}; expected "
        "ProtocolError('no_e2e_key', ...), for the user to see — README step 10").format(
            outcome=outcome)


def test_whisper_to_you_is_opened(fake_server, open_session, tmp_path):
    """bob's e2e_message is shown with its text: first contact "new", then "known" """
    session = logged_in(fake_server, open_session, tmp_path)
    bob = User("bob")
    alice_key = bytes.fromhex(fake_server.login["e2e_key"])
    for trust in ("new", "known"):
        fake_server.send(bob.e2e_message("alice", {"from": "bob", "to": "alice", "text": "hi"},
                                         alice_key))
        got = harness.call_with_timeout(lambda: session.receive(2), timeout=5)
        expected = {"type": "e2e_message", "from": "bob", "to": "alice", "text": "hi",
                    "trust": trust}
        pin = (_(": trust is {got!r}, expected {trust!r}. It is what check_user_pin(...) "
                 "returns for the sender ('new' the first time, 'known' after): never set it "
                 "yourself").format(got=got.get("trust"), trust=trust) if isinstance(got, dict)
               and got.get("text") == "hi" and got.get("trust") != trust else "")
        assert isinstance(got, dict) and {k: got.get(k) for k in expected} == expected, _(
            "receive() gave {got}; expected (at least) {expected}{pin} — open_e2e, "
            "README step 11").format(got=got, expected=expected, pin=pin)


def test_forged_whisper_is_refused(fake_server, open_session, tmp_path):
    """an e2e_message whose sender bundle does not verify is refused, never shown as text"""
    session = logged_in(fake_server, open_session, tmp_path)
    bob, mallory = User("bob"), User("mallory")
    alice_key = bytes.fromhex(fake_server.login["e2e_key"])
    msg = mallory.e2e_message("alice", {"from": "bob", "to": "alice", "text": "send money"},
                              alice_key)
    real = bob.bundle()
    fake_server.send({**msg, "from": "bob", "identity": real["e2e_identity"],
                      "signature": real["e2e_signature"]})
    got = harness.call_with_timeout(lambda: session.receive(2), timeout=5)
    assert isinstance(got, dict) and got.get("type") == "e2e_refused" and \
        got.get("code") == "bad_signature" and "send money" not in json.dumps(got), _(
            "receive() gave {got} for a whisper 'from bob' sealed with the server's own key: "
            "verify_bundle(from, key, identity, signature) first, and refuse it "
            "(e2e_refused, bad_signature) — README step 11").format(got=got)


def test_reflected_whisper_is_refused(fake_server, open_session, tmp_path):
    """your own whisper to bob, sent back to you as "from bob", is refused"""
    session = logged_in(fake_server, open_session, tmp_path)
    bob = User("bob")
    fake_server.send(bob.user_key())
    harness.call_with_timeout(lambda: session.whisper("bob", "I owe you 10"), timeout=5)
    fake_server.recv()
    sent = fake_server.recv()
    assert sent is not None and sent.get("type") == "e2e_whisper", \
        _("your client sent {sent} for a whisper; expected e2e_whisper — README step 10").format(
            sent=sent)
    bundle = bob.bundle()
    reflected = {"type": "e2e_message", "from": "bob", "to": "alice", "ts": 1,
                 "key": bundle["e2e_key"], "identity": bundle["e2e_identity"],
                 "signature": bundle["e2e_signature"], "nonce": sent["nonce"], "box": sent["box"]}
    fake_server.send(reflected)
    got = harness.call_with_timeout(lambda: session.receive(2), timeout=5)
    assert isinstance(got, dict) and got.get("type") == "e2e_refused" and \
        "I owe you 10" not in json.dumps(got), _(
            "receive() gave {got} for your own whisper to bob, reflected back to you as if bob "
            "had sent it (Box opens both ways!): compare inner from/to with the message's and "
            "refuse it (e2e_refused) — README step 11").format(got=got)
    assert got.get("code") == "e2e_misrouted", _(
        "receive() refused your reflected whisper with {code!r}, expected "
        "e2e_misrouted: it opened fine (Box opens both ways), but sealed from alice to bob "
        "it was delivered as from bob to alice — README step 11").format(code=got.get("code"))


def test_changed_identity_is_marked(fake_server, open_session, tmp_path):
    """a whisper from bob under a new identity is shown marked "changed", with both fingerprints"""
    session = logged_in(fake_server, open_session, tmp_path)
    alice_key = bytes.fromhex(fake_server.login["e2e_key"])
    bob, impostor = User("bob"), User("bob")
    inner = {"from": "bob", "to": "alice", "text": "it is me"}
    fake_server.send(bob.e2e_message("alice", inner, alice_key))
    harness.call_with_timeout(lambda: session.receive(2), timeout=5)
    fake_server.send(impostor.e2e_message("alice", inner, alice_key))
    got = harness.call_with_timeout(lambda: session.receive(2), timeout=5)
    wanted = [fingerprint(bytes(u.identity.verify_key)) for u in (bob, impostor)]
    assert isinstance(got, dict) and got.get("trust") == "changed" and \
        all(fp in str(got.get("warning")) for fp in wanted), _(
            "receive() gave {got} for a whisper from bob under another identity than the "
            "pinned one: trust 'changed' and a warning with both fingerprints {wanted} — "
            "README step 11").format(got=got, wanted=wanted)

"""Step 3: lookup answers with a user's bundle, exactly as they sent it at login."""


from socketlab.labs import harness
from socketlab.labs.harness import _, ngettext


def test_lookup_gives_the_users_bundle(join):
    """lookup{"BOB"} gives user_key with bob's name, key, identity and signature as he sent them"""
    alice, bob = join("alice"), join("bob")
    alice.send({"type": "lookup", "name": "BOB"})
    got = alice.expect("user_key", _("lookup of a user who logged in with a bundle — README "
                                     "step 4"))
    sent = bob.user.bundle()
    expected = {"type": "user_key", "name": "bob", "key": sent["e2e_key"],
                "identity": sent["e2e_identity"], "signature": sent["e2e_signature"]}
    wrong = [field for field in expected if got.get(field) != expected[field]]
    extra = sorted(set(got) - set(expected))
    assert got == expected, harness.why(
        ngettext("alice looked up BOB and got a user_key whose {fields} differs from what bob "
                 "sent", "alice looked up BOB and got a user_key whose {fields} differ from what "
                 "bob sent", len(wrong)).format(fields=", ".join(wrong) or _("fields"))
        + (_(" (and extra fields {extra})").format(extra=extra) if extra else "")
        + _(" (got {values})").format(values=", ".join(f"{f} {str(got.get(f))[:16]}…"
                                                      for f in wrong))
        + _(". Answer with the name as bob wrote it at login, and his three login fields "
            "unchanged: the server passes on bob's key, never one of its own — README step 4"))


def test_lookup_refusals(join, connect):
    """lookup: no_e2e_key for an old client, no_such_user, bad_name; the connection stays"""
    alice = join("alice")
    join("oldtimer", e2e=False)
    alice.send({"type": "lookup", "name": "oldtimer"})
    alice.expect_error("no_e2e_key", _("oldtimer logged in without a bundle (an old client): "
                                       "no_e2e_key — README step 4"))
    alice.send({"type": "lookup", "name": "dave"})
    alice.expect_error("no_such_user", _("nobody called dave is here — README step 4"))
    alice.send({"type": "lookup", "name": "a b"})
    alice.expect_error("bad_name", _("'a b' breaks the name rules — README step 4"))
    alice.send({"type": "say", "text": "still here"})
    alice.expect("message", _("after these errors the connection stays open — README step 4"))
    early = connect("early")
    early.send({"type": "lookup", "name": "alice"})
    early.expect_error("not_logged_in", _("lookup before login is not allowed — README step 4"))

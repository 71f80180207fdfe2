"""Steps 3 and 4: when two names are the same, and which names are allowed."""

from socketlab.i18n import N_
from socketlab.labs import harness
from socketlab.labs.harness import _

VALID = ["alice", "Zoë", "李小龙", "a", "x" * 20, "é" * 20, "bob_2", "O'Brien"]
INVALID = [
    ("", N_("an empty name")),
    ("x" * 21, N_("21 characters")),
    ("al ice", N_("a space")),
    ("al\u00a0ice", N_("a no-break space (U+00A0)")),
    ("al\tice", N_("a tab")),
    ("al\u0007ice", N_("a control character (U+0007)")),
    ("al\u200dice", N_("a zero-width joiner (U+200D, a format character)")),
    ("\u202eecila", N_("a bidi override (U+202E)")),
    ("al\ue000ice", N_("a private-use character (U+E000)")),
    ("al\u0378ice", N_("an unassigned character (U+0378)")),
    ("a\u00a8", N_("a character whose key holds a space (U+00A8 becomes ' \u0308' in NFKC)")),
]
SAME = [("alice", "Alice"), ("alice", "ALICE"), ("bob", "ｂｏｂ"), ("ALICE", "ＡＬＩＣＥ"),
        ("strasse", "STRASSE"), ("straße", "STRASSE")]
DIFFERENT = [("alice", "alicia"), ("bob", "b0b")]


def test_same_names_share_a_key(server_module):
    """name_key() gives one key to names that differ in case or width (NFKC, casefold)"""
    for one, two in SAME:
        key_one = harness.call_with_timeout(server_module.name_key, one, timeout=2)
        key_two = harness.call_with_timeout(server_module.name_key, two, timeout=2)
        assert key_one == key_two, _(
            "name_key({one!r}) = {key_one!r} but name_key({two!r}) = {key_two!r}: they are "
            "the same name — NFKC, casefold(), NFKC — README step 3").format(
                one=one, key_one=key_one, two=two, key_two=key_two)


def test_different_names_differ(server_module):
    """name_key() keeps different names apart"""
    for one, two in DIFFERENT:
        assert server_module.name_key(one) != server_module.name_key(two), _(
            "name_key() gives {one!r} and {two!r} the same key — README step 3").format(
                one=one, two=two)


def test_valid_names_allowed(server_module):
    """check_name() allows 8 valid names (accents, Chinese, 20 characters …)"""
    for name in VALID:
        reason = harness.call_with_timeout(server_module.check_name, name, timeout=2)
        assert reason is None, (
            _("check_name({name!r}) said {reason!r}, but the name is valid (count characters, "
              "not bytes: len(name)) — README step 4")
            if len(name.encode()) > 20 else
            _("check_name({name!r}) said {reason!r}, but the name is valid — README step 4")
        ).format(name=name, reason=reason)


def test_invalid_names_refused(server_module):
    """check_name() refuses empty, too long, spaces, control and format characters"""
    for name, what in INVALID:
        reason = harness.call_with_timeout(server_module.check_name, name, timeout=2)
        assert isinstance(reason, str) and reason, _(
            "check_name() allowed a name with {what} ({name!r}): return a reason why not — "
            "README step 4").format(what=_(what), name=name)


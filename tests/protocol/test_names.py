"""Names: which are allowed, and which count as the same."""

import pytest

from socketlab.protocol import ProtocolError, check_login_name, check_name, name_key

GOOD = ["alice", "Bob_2", "김철수", "émile", "a" * 20, "x-y.z"]
BAD = {
    "empty": "",
    "too long": "a" * 21,
    "space": "al ice",
    "tab": "al\tice",
    "control": "al\x07ice",
    "zero-width space": "al\u200bice",
    "zero-width joiner": "al\u200dice",
    "right-to-left override": "\u202eecila",
    "left-to-right mark": "alice\u200e",
    "no-break space": "al\u00a0ice",
    "private use": "al\ue000ice",
    "unassigned": "al\U000e0fffice",
    "not a string": 42,
}


@pytest.mark.parametrize("name", GOOD)
def test_good_names_pass_unchanged(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", BAD.values(), ids=BAD.keys())
def test_bad_names_are_refused_with_a_reason(name):
    with pytest.raises(ProtocolError) as err:
        check_name(name)
    assert err.value.code == "bad_name"
    assert err.value.message


@pytest.mark.parametrize("other", ["ALICE", "Alice", "ＡＬＩＣＥ", "ａｌｉｃｅ"])
def test_case_and_width_variants_are_the_same_name(other):
    assert name_key(other) == name_key("alice")


def test_different_names_stay_different():
    assert name_key("alice") != name_key("alice2")
    assert name_key("straße") == name_key("STRASSE")  # case folding, as Unicode defines it


@pytest.mark.parametrize("name", ["/w", "/quit", "／w", "server", "Server", "ＳＹＳＴＥＭ"])
def test_reserved_names_are_refused_at_login_but_pass_as_names(name):
    """Clients refuse them before asking and the server refuses them at login; a name the
    server *sends* is held to check_name only, so a lab server that lets someone be
    "server" does not make the kit's client hang up."""
    with pytest.raises(ProtocolError) as err:
        check_login_name(name)
    assert err.value.code == "bad_name"
    assert check_name(name) == name


@pytest.mark.parametrize("name", [*GOOD, "servers", "sys", "a/b", "w/"])
def test_other_names_are_fine_to_log_in_with(name):
    assert check_login_name(name) == name

"""One end-to-end identity per chat name per server, with one home shared by every
name (two terminals on one computer): real clients of a real server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from socketlab.client import ChatClient
from socketlab.client.chat_client import ChatError
from socketlab.client.events import Whispered
from socketlab.client.identities import IDENTITIES_FILE
from socketlab.protocol import fingerprint, load_or_create_identity


def test_two_names_from_one_home_have_two_identities(make_client, wait, home: Path) -> None:
    minsu = make_client("민수", e2e=True)
    jiyoung = make_client("지영", e2e=True)
    assert minsu.user_fingerprint is not None and jiyoung.user_fingerprint is not None
    assert minsu.user_fingerprint != jiyoung.user_fingerprint
    jiyoung.whisper("민수", "안녕")
    got = wait(minsu, lambda e: isinstance(e, Whispered))
    assert got.fingerprint == jiyoung.user_fingerprint
    assert jiyoung.peer_fingerprint("민수") == minsu.user_fingerprint
    if os.name == "posix":  # Windows has no such modes
        assert (home / IDENTITIES_FILE).stat().st_mode & 0o077 == 0  # the owner's only


def test_a_name_keeps_its_identity_from_one_login_to_the_next(make_client, server) -> None:
    first = make_client("Alice", e2e=True)
    shown = first.user_fingerprint
    first.close()
    again = make_client("alice", e2e=True)  # the same name, spelled another way
    assert again.user_fingerprint == shown
    assert make_client("bob", e2e=True).user_fingerprint != shown


def test_the_same_name_on_another_server_has_another_identity(
    make_client, make_server
) -> None:
    here = make_client("alice", e2e=True)
    elsewhere = ChatClient(*make_server().address, e2e=True)
    try:
        elsewhere.connect()
        elsewhere.login("alice")
        assert elsewhere.user_fingerprint != here.user_fingerprint
    finally:
        elsewhere.close()


def test_an_old_shared_identity_stays_with_the_first_name_on_each_server(
    make_client, home: Path
) -> None:
    """A home from before (one user_identity.key for every name): the first name to log
    in on a server keeps that key, so those who pinned it see no change; the others
    get their own; the old file is left as it was."""
    old = home / "user_identity.key"
    home.mkdir(parents=True, exist_ok=True)
    legacy = fingerprint(bytes(load_or_create_identity(old).verify_key))
    before = old.read_bytes()
    alice = make_client("alice", e2e=True)
    bob = make_client("bob", e2e=True)
    assert alice.user_fingerprint == legacy
    assert bob.user_fingerprint not in (None, legacy)
    alice.close()
    assert make_client("alice", e2e=True).user_fingerprint == legacy
    assert old.read_bytes() == before


def test_a_refused_name_leaves_no_identity_behind(make_client, home: Path) -> None:
    make_client("alice", e2e=True)
    second = make_client(e2e=True)
    with pytest.raises(ChatError) as refused:
        second.login("ALICE")
    assert refused.value.code == "name_taken"
    second.login("carol")
    lines = (home / IDENTITIES_FILE).read_text(encoding="utf-8").splitlines()
    assert sorted(line.split()[1] for line in lines) == ["alice", "carol"]

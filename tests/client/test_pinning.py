"""Identity pinning (trust on first use), against real servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.signing import SigningKey

from socketlab.client import ChatClient, ChatError
from socketlab.protocol import IdentityError, PinStore, fingerprint


def restart_with(make_server, old, identity: SigningKey):
    """Stop ``old`` and start a server with ``identity`` on the same host:port."""
    _host, port = old.address
    old.stop()
    return make_server(port=port, identity=identity)


def test_first_use_records_then_known(make_server, home: Path) -> None:
    key = SigningKey.generate()
    server = make_server(identity=key)
    with ChatClient(*server.address) as first:
        first.connect()
        assert first.pin_status == "new"
    assert (home / "known_servers").exists()
    with ChatClient(*server.address) as again:
        again.connect()
        assert again.pin_status == "known"
        assert again.server_fingerprint == fingerprint(bytes(key.verify_key))


def test_a_different_identity_on_the_same_address_is_refused(make_server) -> None:
    old_key, new_key = SigningKey.generate(), SigningKey.generate()
    server = make_server(identity=old_key)
    with ChatClient(*server.address) as client:
        client.connect()
    impostor = restart_with(make_server, server, new_key)
    client = ChatClient(*impostor.address)
    with pytest.raises(IdentityError) as refused:
        client.connect()
    old_fp, new_fp = fingerprint(bytes(old_key.verify_key)), fingerprint(bytes(new_key.verify_key))
    assert refused.value.code == "identity_changed"
    assert (refused.value.known, refused.value.offered) == (old_fp, new_fp)
    assert old_fp in str(refused.value) and new_fp in str(refused.value)
    with pytest.raises(ChatError) as closed:
        client.login("alice")  # nothing is left open to talk on
    assert closed.value.code == "not_connected"


def test_no_verify_skips_the_check_and_records_nothing(make_server, home: Path) -> None:
    server = make_server()
    PinStore().check(*server.address, bytes(SigningKey.generate().verify_key))
    pins_before = (home / "known_servers").read_text()
    with ChatClient(*server.address, verify=False) as client:
        client.connect()
        assert client.pin_status is None
        assert client.server_fingerprint is not None
        client.login("mallory-lab")
    assert (home / "known_servers").read_text() == pins_before


def test_an_explicit_pin_store_is_used(make_server, tmp_path: Path, home: Path) -> None:
    server = make_server()
    store = PinStore(tmp_path / "class-pins")
    with ChatClient(*server.address, pins=store) as client:
        client.connect()
    assert (tmp_path / "class-pins").exists()
    assert not (home / "known_servers").exists()

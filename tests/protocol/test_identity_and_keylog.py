"""Identity pinning (TOFU) and the key log."""

import sys

import pytest
from nacl.signing import SigningKey

from socketlab.protocol import (
    IdentityError,
    KeyLogError,
    KeyLogWriter,
    PinStore,
    fingerprint,
    keylog_from_env,
    load_or_create_identity,
    read_keylog,
    socketlab_home,
)

POSIX = sys.platform != "win32"


def test_home_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SOCKETLAB_HOME", str(tmp_path))
    assert socketlab_home() == tmp_path
    assert PinStore().path.parent == tmp_path


def test_fingerprint_is_short_grouped_and_stable():
    fp = fingerprint(bytes(32))
    assert fp.startswith("SHA256:") and len(fp.split()) == 8
    assert fp == fingerprint(bytes(32)) != fingerprint(bytes(31) + b"\x01")


def test_first_use_pins_then_same_key_is_known(tmp_path):
    pins = PinStore(tmp_path / "known")
    assert pins.check("127.0.0.1", 7777, b"A" * 32) == "new"
    assert PinStore(tmp_path / "known").check("127.0.0.1", 7777, b"A" * 32) == "known"
    assert pins.check("127.0.0.1", 7778, b"B" * 32) == "new"  # pins are per host:port


def test_changed_identity_is_refused_showing_both_fingerprints(tmp_path):
    pins = PinStore(tmp_path / "known")
    pins.check("h", 1, b"A" * 32)
    with pytest.raises(IdentityError) as err:
        pins.check("h", 1, b"B" * 32)
    assert err.value.code == "identity_changed"
    assert err.value.known == fingerprint(b"A" * 32)
    assert err.value.offered == fingerprint(b"B" * 32)
    assert err.value.known in str(err.value) and err.value.offered in str(err.value)
    assert "--forget-server h:1" in str(err.value)
    assert pins.forget("h", 1) and not pins.forget("h", 1)
    assert pins.check("h", 1, b"B" * 32) == "new"


def test_identity_is_created_once_and_private(tmp_path):
    path = tmp_path / "id.key"
    first = load_or_create_identity(path)
    assert isinstance(first, SigningKey)
    assert bytes(load_or_create_identity(path)) == bytes(first)
    if POSIX:
        assert path.stat().st_mode & 0o777 == 0o600


def test_key_log_lines_read_back(tmp_path):
    path = tmp_path / "keys.log"
    writer = KeyLogWriter(path)
    writer.write(b"\x01" * 32, b"\x02" * 32)
    writer.write(b"\x03" * 32, b"\x04" * 32)
    assert path.read_text().splitlines()[0] == "SOCKETLAB_BOX " + "01" * 32 + " " + "02" * 32
    assert read_keylog(path) == {b"\x01" * 32: b"\x02" * 32, b"\x03" * 32: b"\x04" * 32}
    if POSIX:
        assert path.stat().st_mode & 0o777 == 0o600


def test_key_log_only_when_asked(monkeypatch, tmp_path):
    monkeypatch.delenv("SOCKETLAB_KEYLOG", raising=False)
    assert keylog_from_env(None) is None
    monkeypatch.setenv("SOCKETLAB_KEYLOG", str(tmp_path / "env.log"))
    assert keylog_from_env(None).path == tmp_path / "env.log"
    assert keylog_from_env(tmp_path / "arg.log").path == tmp_path / "arg.log"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("SOCKETLAB_BOX 00 11\n", 1),
        ("# comment\n\nCLIENT_RANDOM " + "00" * 32 + " " + "11" * 32 + "\n", 3),
        ("SOCKETLAB_BOX " + "zz" * 32 + " " + "11" * 32 + "\n", 1),
    ],
)
def test_malformed_key_log_names_its_line(tmp_path, text, line):
    path = tmp_path / "bad.log"
    path.write_text(text)
    with pytest.raises(KeyLogError) as err:
        read_keylog(path)
    assert err.value.code == "bad_keylog" and err.value.line_no == line
    assert f"line {line}" in str(err.value)

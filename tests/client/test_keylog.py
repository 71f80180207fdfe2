"""The key log is written only when asked, one private line per session."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from socketlab.client import ChatClient
from socketlab.protocol import KEYLOG_LABEL, read_keylog


def one_session(server, **kwargs: object) -> None:
    with ChatClient(*server.address, **kwargs) as client:
        client.connect()
        client.login("alice")


def test_no_key_log_unless_asked(server, tmp_path: Path) -> None:
    one_session(server)
    written = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["known_servers"]


def test_env_variable_appends_one_line_per_session(
    server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys" / "socketlab.keylog"
    monkeypatch.setenv("SOCKETLAB_KEYLOG", str(path))
    one_session(server)
    one_session(server)
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(line.startswith(KEYLOG_LABEL + " ") for line in lines)
    assert len(read_keylog(path)) == 2  # two sessions, two different client keys
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_argument_wins_over_env(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCKETLAB_KEYLOG", str(tmp_path / "from-env"))
    one_session(server, keylog=tmp_path / "from-arg")
    assert len(read_keylog(tmp_path / "from-arg")) == 1
    assert not (tmp_path / "from-env").exists()


def test_plaintext_sessions_have_no_key(make_server, tmp_path: Path) -> None:
    server = make_server(allow_plaintext=True)
    one_session(server, mode="plain", keylog=tmp_path / "k")
    assert not (tmp_path / "k").exists()

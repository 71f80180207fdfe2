"""Step 4: the key log line, in the format the inspector reads."""

import os
import sys

from nacl.public import PrivateKey

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import keylog_line, read_keylog


def test_keylog_line_format(secure_module):
    """keylog_line() is "SOCKETLAB_BOX <client key hex> <session key hex>" and a newline"""
    client_key, key = bytes(PrivateKey.generate().public_key), os.urandom(32)
    got = harness.call_with_timeout(secure_module.keylog_line, client_key, key, timeout=2)
    expected = keylog_line(client_key, key)
    assert got == expected, _(
        "keylog_line() gave {got!r}; expected {expected!r}: the label, the client's public "
        "key, the session key, in hex, with a newline — README step 4"
    ).format(got=got, expected=expected)


def test_write_keylog_appends(secure_module, tmp_path, monkeypatch):
    """write_keylog() appends one line per session to $SOCKETLAB_KEYLOG, readable by its owner only"""
    path = tmp_path / "keys.txt"
    monkeypatch.setenv("SOCKETLAB_KEYLOG", str(path))
    sessions = {bytes(PrivateKey.generate().public_key): os.urandom(32) for _time in range(2)}
    for client_key, key in sessions.items():
        secure_module.write_keylog(client_key, key)
    assert read_keylog(path) == sessions, _(
        "after two sessions the key log holds {text!r}: one line per session, "
        "appended — README step 4").format(text=path.read_text())
    if sys.platform != "win32":
        assert path.stat().st_mode & 0o077 == 0, _(
            "the key log must be readable by its owner only")
    monkeypatch.delenv("SOCKETLAB_KEYLOG")
    secure_module.write_keylog(*next(iter(sessions.items())))
    assert len(path.read_text().splitlines()) == 2, _(
        "without $SOCKETLAB_KEYLOG nothing is written")

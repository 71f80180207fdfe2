"""``socketlab server``: where it listens, its fingerprint, a clean stop, a clear refusal."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from socketlab.protocol import Error, Say, fingerprint, load_or_create_identity, read_keylog
from tests.server.server_helpers import RawClient

REPO = Path(__file__).resolve().parents[2]


def run_server(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if k != "SOCKETLAB_KEYLOG"}
    environ.update(SOCKETLAB_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1", **env)
    return subprocess.Popen(
        [sys.executable, "-m", "socketlab", "server", "--port", "0", *args],
        cwd=REPO,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_until(proc: subprocess.Popen[str], pattern: str, timeout: float = 10.0) -> re.Match[str]:
    """The first output line matching ``pattern`` (the server logs to stderr, merged here)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(seen)}")


@pytest.mark.skipif(
    sys.platform == "win32", reason="SIGTERM cannot be sent to a process on Windows"
)
@pytest.mark.parametrize(
    ("keylog_env", "engine", "nagle"), [(False, "threads", False), (True, "events", True)]
)
def test_it_listens_shows_its_fingerprint_and_stops_on_sigterm(
    tmp_path: Path, keylog_env: bool, engine: str, nagle: bool
) -> None:
    keylog = tmp_path / "env-keys.log"
    proc = run_server(
        tmp_path,
        "--engine",
        engine,
        *(["--nagle"] if nagle else []),
        **({"SOCKETLAB_KEYLOG": str(keylog)} if keylog_env else {}),
    )
    try:
        found = read_until(
            proc, r"listening on 127\.0\.0\.1:(\d+) \(.*; engine (\w+)(; Nagle on)?\)"
        )
        port, shown_engine = int(found.group(1)), found.group(2)
        assert shown_engine == engine
        assert bool(found.group(3)) == nagle
        shown = read_until(proc, r"identity (SHA256:[0-9a-f ]+?)  \(").group(1)
        identity = load_or_create_identity(tmp_path / "home" / "server_identity.key")
        assert shown == fingerprint(bytes(identity.verify_key))

        client = RawClient(("127.0.0.1", port))
        hello = client.handshake()
        assert hello.identity == bytes(identity.verify_key)
        client.login("alice")
        proc.send_signal(signal.SIGTERM)
        assert [m.code for m in client.expect_closed() if isinstance(m, Error)] == ["shutting_down"]
        client.close()
        assert proc.wait(10) == 0
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()
    if keylog_env:
        assert read_keylog(keylog) == {client.conn.client_key: client.conn.session_key}
    else:
        assert not keylog.exists()


def test_a_port_in_use_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "socketlab", "server", "--port", str(port)],
            cwd=REPO,
            env={**os.environ, "SOCKETLAB_HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "Traceback" not in result.stderr


def test_flood_options_reach_the_server(tmp_path: Path) -> None:
    """--flood-rate/--flood-burst: 10 quick lines (fine by default) get a tight server's
    rate_limited, then excess_flood, and the log says who was dropped and why."""
    proc = run_server(tmp_path, "--flood-rate", "20", "--flood-burst", "1")
    try:
        port = int(read_until(proc, r"listening on 127\.0\.0\.1:(\d+)").group(1))
        client = RawClient(("127.0.0.1", port))
        client.handshake()
        client.login("alice")  # the one token of the burst
        for i in range(10):
            client.send(Say(f"line {i}"))
        codes = [m.code for m in client.expect_closed() if isinstance(m, Error)]
        client.close()
        assert codes == ["rate_limited", "excess_flood"]
        read_until(proc, r"alice left \(excess_flood")
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()

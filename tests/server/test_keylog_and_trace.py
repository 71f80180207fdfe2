"""The key log is written only when asked; the trace file follows the documented schema."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from socketlab.protocol import Message, Say, read_keylog
from socketlab.server import ChatServer, EventServer
from tests.server.server_helpers import RawClient

TRACE_STATES = {"recv", "handling", "sending", "queue_wait", "lock_wait", "exit"}


def test_the_key_log_has_one_line_per_box_session(make_server, connect, tmp_path: Path) -> None:
    keylog = tmp_path / "keys.log"
    server = make_server(keylog=keylog, allow_plaintext=True)
    alice, bob = connect(server, "alice"), connect(server, "bob")
    connect(server, "plainpat", mode="plain")
    bob.send(Say("sync"))  # every hello has been handled once this comes back
    bob.wait_for(lambda m: isinstance(m, Message) and m.text == "sync")
    assert read_keylog(keylog) == {
        alice.conn.client_key: alice.conn.session_key,
        bob.conn.client_key: bob.conn.session_key,
    }
    if os.name == "posix":
        assert keylog.stat().st_mode & 0o077 == 0  # owner only


def test_no_key_log_unless_asked(make_server, connect, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    server = make_server()
    assert server.keylog is None
    connect(server, "alice").send(Say("hello"))
    assert list(tmp_path.iterdir()) == []


def test_the_trace_file_follows_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "server.trace"
    with ChatServer(trace=path) as server:
        clients = []
        for name in ("alice", "bob"):
            client = RawClient(server.address)
            client.handshake()
            client.login(name)
            clients.append(client)
        clients[0].send(Say("traced"))
        clients[1].wait_for(lambda m: isinstance(m, Message) and m.text == "traced")
    for client in clients:
        client.close()

    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for record in records:
        assert set(record) <= {"t", "proc", "thread", "state", "detail"}
        assert isinstance(record["t"], float) and math.isfinite(record["t"])
        assert record["proc"] == "server"
        assert record["state"] in TRACE_STATES
        assert isinstance(record.get("detail", ""), str)
    last_state = {r["thread"]: r["state"] for r in sorted(records, key=lambda r: r["t"])}
    for thread in ("accept", "reader-alice", "writer-alice", "reader-bob", "writer-bob"):
        assert last_state[thread] == "exit", thread
    states_of_alice = {r["state"] for r in records if r["thread"] == "reader-alice"}
    assert {"recv", "handling", "lock_wait", "sending"} <= states_of_alice
    assert "queue_wait" in {r["state"] for r in records if r["thread"] == "writer-alice"}


def test_the_event_engine_traces_one_row(tmp_path: Path) -> None:
    """The lesson of the timeline: the event engine serves everyone from one thread."""
    path = tmp_path / "events.trace"
    with EventServer(trace=path) as server:
        clients = []
        for name in ("alice", "bob"):
            client = RawClient(server.address)
            client.handshake()
            client.login(name)
            clients.append(client)
        clients[0].send(Say("traced"))
        clients[1].wait_for(lambda m: isinstance(m, Message) and m.text == "traced")
    for client in clients:
        client.close()
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert {r["thread"] for r in records} == {"events"}
    assert all(r["state"] in TRACE_STATES for r in records)
    assert {"recv", "handling", "sending"} <= {r["state"] for r in records}
    assert max(records, key=lambda r: r["t"])["state"] == "exit"

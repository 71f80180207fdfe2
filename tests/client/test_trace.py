"""--trace on the client: its threads' activity, in the format the inspector reads."""

from __future__ import annotations

from pathlib import Path

from socketlab.client import ChatClient
from socketlab.inspector.trace_file import read_trace
from socketlab.protocol import Message


def test_trace_records_the_receive_thread_and_sends(server, tmp_path: Path, wait) -> None:
    path = tmp_path / "client.trace"
    with ChatClient(*server.address, trace=path) as client:
        client.connect()
        client.login("alice")
        client.say("traced")
        wait(client, lambda e: isinstance(e, Message))
    records = read_trace(path)
    assert {r.proc for r in records} == {"client:alice"}
    receive = [r.state for r in records if r.thread == "receive"]
    assert receive[0] == "recv" and receive[-1] == "exit" and "handling" in receive
    sends = [r.detail for r in records if r.state == "sending"]
    assert sends == ["say", "bye"]

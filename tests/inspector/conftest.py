"""Fixtures shared by the inspector tests."""

import dataclasses
from pathlib import Path

import pytest
from nacl.public import Box, PrivateKey

from socketlab.inspector.events import Closed, Connection, Data, Event, Opened
from socketlab.inspector.synth import write_pcap
from socketlab.protocol import keylog_line
from socketlab.protocol.vectors import CLIENT_EPHEMERAL, SERVER_EPHEMERAL, known_answer_vectors

VECTOR_CONN = Connection(("127.0.0.1", 50123), ("127.0.0.1", 7777), 0)


def box_session_vectors():
    """The known-answer box session, handshake to batch (the vectors after it are
    codec tests and other sessions)."""
    vectors = known_answer_vectors()
    names = [v.name for v in vectors]
    return vectors[: names.index("batch") + 1]


def vector_events():
    """The known-answer session as stream events, as a capture would give them."""
    events = [Opened(VECTOR_CONN, 1.0, True)]
    offsets = {"c2s": 0, "s2c": 0}
    for i, vector in enumerate(box_session_vectors()):
        events.append(Data(VECTOR_CONN, vector.direction, offsets[vector.direction],
                           vector.frame, 1.0 + i / 100))
        offsets[vector.direction] += len(vector.frame)
    events.append(Closed(VECTOR_CONN, "fin", 2.0))
    return events


def class_sessions(count: int) -> list[list[Event]]:
    """``count`` copies of the vector session, on ports of both parities; every third
    is still open when the capture ends; then an echo of raw bytes on another server port."""
    sessions = []
    for i in range(count):
        conn = Connection(("127.0.0.1", 50_000 + 3 * i), ("127.0.0.1", 7777), i)
        events = [dataclasses.replace(e, conn=conn) for e in vector_events()]
        sessions.append(events[:-1] if i % 3 == 0 else events)
    echo = Connection(("127.0.0.1", 51_001), ("127.0.0.1", 9000), count)
    sessions.append([Opened(echo, 1.0, True), Data(echo, "c2s", 0, b"hello\n", 1.0),
                     Data(echo, "s2c", 0, b"hello\n", 1.0), Closed(echo, "fin", 1.0)])
    return sessions


def interleaved(sessions: list[list[Event]]) -> list[Event]:
    """The sessions' events frame by frame, in turn, with fixed timestamps."""
    events = []
    for step in range(max(map(len, sessions))):
        for n, session in enumerate(sessions):
            if step < len(session):
                events.append(dataclasses.replace(session[step], ts=1.0 + step / 10 + n / 1000))
    return events


@pytest.fixture(scope="session")
def vector_keylog(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "vectors.keys"
    path.write_text(vector_keylog_text())
    return path


def vector_keylog_text() -> str:
    """The key-log line of the known-answer session."""
    client = PrivateKey(CLIENT_EPHEMERAL)
    key = Box(client, PrivateKey(SERVER_EPHEMERAL).public_key).shared_key()
    return keylog_line(bytes(client.public_key), key)


@pytest.fixture(scope="session")
def demo_pcap(tmp_path_factory) -> Path:
    """A pcap of the known-answer session (built without capture rights)."""
    path = tmp_path_factory.mktemp("pcap") / "vectors.pcap"
    write_pcap(path, vector_events())
    return path

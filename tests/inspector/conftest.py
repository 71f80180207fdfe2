"""Fixtures shared by the inspector tests."""

from pathlib import Path

import pytest
from nacl.public import Box, PrivateKey

from socketlab.inspector.events import Closed, Connection, Data, Opened
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

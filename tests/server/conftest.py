"""Fixtures: servers on free ports (each test runs against both engines), and raw
clients that are closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from socketlab.server import ENGINES, ChatServer
from tests.server.server_helpers import RawClient


@pytest.fixture(params=sorted(ENGINES, reverse=True))  # threads first: the one the labs teach
def engine(request: pytest.FixtureRequest) -> str:
    """``threads`` or ``events``: every test that starts a server runs against each."""
    name: str = request.param
    return name


@pytest.fixture
def make_server(engine: str) -> Iterator[Callable[..., ChatServer]]:
    """``make_server(**options)``: a real server of ``engine`` on 127.0.0.1 (a free port
    unless ``port=`` is given); every one is stopped at the end of the test."""
    servers: list[ChatServer] = []

    def make(port: int = 0, **options: Any) -> ChatServer:
        server = ENGINES[engine]("127.0.0.1", port, **options)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def connect() -> Iterator[Callable[..., RawClient]]:
    """``connect(server, name=None, mode="box")``: a client, handshaken and logged in if named."""
    clients: list[RawClient] = []

    def make(server: ChatServer, name: str | None = None, *, mode: str = "box") -> RawClient:
        client = RawClient(server.address, mode=mode)
        clients.append(client)
        client.handshake()
        if name is not None:
            client.login(name)
        return client

    yield make
    for client in clients:
        client.close()

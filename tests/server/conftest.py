"""Fixtures: servers on free ports, and raw clients that are closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from server import ChatServer
from tests.server.server_helpers import RawClient


@pytest.fixture
def make_server() -> Iterator[Callable[..., ChatServer]]:
    """Start ``ChatServer(**options)`` on a free port; every one is stopped at the end."""
    servers: list[ChatServer] = []

    def make(**options: Any) -> ChatServer:
        server = ChatServer("127.0.0.1", 0, **options)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., ChatServer]) -> ChatServer:
    return make_server()


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

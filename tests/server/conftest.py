"""Fixtures: servers on free ports, and raw clients that are closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from socketlab.server import ChatServer
from tests.server.server_helpers import RawClient


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

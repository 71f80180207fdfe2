"""Fixtures for the client tests: an isolated home, real servers, event waiting."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator

import pytest

from socketlab.client import ChatClient
from socketlab.client.chat_client import Event

TIMEOUT = 10.0


@pytest.fixture
def make_client(server: object) -> Iterator[Callable[..., ChatClient]]:
    """Connected clients of ``server``, logged in when given a name; closed at the end."""
    clients: list[ChatClient] = []

    def connect(name: str | None = None, **kwargs: object) -> ChatClient:
        host, port = server.address  # type: ignore[attr-defined]
        client = ChatClient(host, port, timeout=TIMEOUT, **kwargs)  # type: ignore[arg-type]
        clients.append(client)
        client.connect()
        if name is not None:
            client.login(name)
        return client

    yield connect
    for client in clients:
        client.close()


def wait_for(client: ChatClient, match: Callable[[Event], bool], timeout: float = TIMEOUT) -> Event:
    """The first event on ``client.events`` that ``match``es, skipping others (bounded)."""
    deadline = time.monotonic() + timeout
    seen: list[Event] = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = client.events.get(timeout=left)
        except queue.Empty:
            break
        if match(event):
            return event
        seen.append(event)
    pytest.fail(f"no matching event within {timeout} s; saw {seen}")


@pytest.fixture
def wait() -> Callable[..., Event]:
    return wait_for

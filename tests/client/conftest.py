"""Fixtures for the client tests: an isolated home, real servers (the kit's, and the
labs' servers from before end-to-end whispers), event waiting."""

from __future__ import annotations

import contextlib
import functools
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from socketlab.client import ChatClient
from socketlab.client.chat_client import Event
from socketlab.labs import harness

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


LABS = Path(__file__).resolve().parents[2] / "labs"
# The labs' own servers from before end-to-end whispers: strict decoders (protocol §2).
# Lab 06's is not among them: its random nonces are refused by the kit (bad_nonce).
SERVERS_WITHOUT_E2E = ["07-nonces", "08-identity", "09-slow-clients"]


def _forget_lab_modules() -> None:
    """Drop the labs' modules (chat_server, secure, identity ...): each lab has its own."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and LABS in Path(file).resolve().parents:
            del sys.modules[name]


@contextlib.contextmanager
def serving_lab(lab: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    """Lab ``lab``'s solution server ("07-nonces" ...), loaded as the lab's checks load it
    and serving in a thread on a listener of ours; yields its address."""
    monkeypatch.setenv("SOCKETLAB_LAB_TARGET", str(LABS / lab / "solution"))
    monkeypatch.setattr(sys, "path", list(sys.path))  # harness.load puts the lab first
    _forget_lab_modules()
    module = harness.load("chat_server.py")
    serve = functools.partial(module.serve, identity=SigningKey.generate())
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        with contextlib.suppress(OSError):  # the listener shut down at the end
            serve(listener)

    thread = threading.Thread(target=run, name=f"lab-{lab}-server", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes accept() (Linux; elsewhere: daemon)
        listener.close()
        thread.join(TIMEOUT)
        _forget_lab_modules()


@pytest.fixture
def lab_server(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, int]]:
    """``serving_lab(request.param)``: parametrize with the lab's folder name."""
    with serving_lab(request.param, monkeypatch) as address:
        yield address

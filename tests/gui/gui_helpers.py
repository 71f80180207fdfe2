"""Helpers to drive a real Tk window and real chat clients in bounded time."""

from __future__ import annotations

import queue
import time
import tkinter as tk
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from socketlab.client.chat_client import ChatClient
from socketlab.client.gui import ChatApp, Settings
from socketlab.protocol import PinStore
from socketlab.server.app import ChatServer


def pump(root: tk.Misc, until: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    """Run the Tk loop until ``until()`` is true; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        root.update()
        if until():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def settle(root: tk.Misc, seconds: float) -> None:
    """Run the Tk loop for ``seconds`` (to show that something does NOT happen)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        root.update()
        time.sleep(0.005)


@contextmanager
def impostor_of_a_pinned_server() -> Iterator[tuple[ChatServer, ChatServer]]:
    """(first, impostor): a first server's identity is pinned in the default pin store,
    then, stopped, it gives its place to a running impostor with another key."""
    with ChatServer("127.0.0.1", 0) as first:
        host, port = first.address
        pinner = ChatClient(host, port, pins=PinStore(), timeout=5.0)
        pinner.connect()  # first use: pins the first server's identity
        pinner.close()
    with ChatServer(host, port) as impostor:
        yield first, impostor


def start_app(root: tk.Tk, server: ChatServer, name: str, **settings: object) -> ChatApp:
    """A GUI client logged in to ``server`` as ``name``."""
    host, port = server.address
    app = ChatApp(
        root, Settings(host=host, port=port, name=name, timeout=5.0, **settings), connect_now=True
    )
    pump(root, lambda: app.client is not None, f"{name} to log in")
    return app


def headless(server: ChatServer, name: str) -> ChatClient:
    host, port = server.address
    client = ChatClient(host, port, pins=PinStore(), timeout=5.0)
    client.connect()
    client.login(name)
    return client


def next_event(
    client: ChatClient, match: Callable[[object], bool], what: str, timeout: float = 5.0
) -> object:
    """The first event on ``client``'s queue that matches (earlier ones are dropped)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        try:
            event = client.events.get(timeout=left)
        except queue.Empty:
            continue
        if match(event):
            return event

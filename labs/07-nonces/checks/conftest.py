"""Lab 07's fixtures: the student's channel and server, the kit's channel and client as oracles.

The kit's ``SecureChannel`` (``socketlab.protocol``) follows docs/protocol.md
section 5 exactly: frames it seals are what a correct peer sends, and a frame
it opens was sealed right. The kit's ``ChatClient`` checks every nonce the
student's server seals, and the inspector's proxy does the attacks.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from nacl.signing import SigningKey
from nacl.utils import random

from socketlab.client import ChatClient
from socketlab.client.chat_client import ChatError
from socketlab.client.events import Disconnected
from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import Error, Left, Message, PinStore, ProtocolError

SERVE_THREAD = "student-serve"
WAIT = 3.0  # how long a check waits for the server: only a wrong answer makes it wait this long


@pytest.fixture
def secure() -> ModuleType:
    """The student's secure.py, freshly imported."""
    return harness.load("secure.py")


@pytest.fixture
def key() -> bytes:
    """A fresh 32-byte session key."""
    return random(32)


def refusal(call: Callable[[], Any], step: str) -> str | None:
    """The code of the ProtocolError (the student's class) that ``call()`` raises; None if
    it returns. Anything else it raises (a TODO not written, a crash) fails the check,
    pointing at ``step`` (``N_("README step 2")``, translated here)."""
    try:
        call()
    except Exception as error:  # noqa: BLE001 - sorted out below, in the student's words
        code = getattr(error, "code", None)
        if type(error).__name__ == "ProtocolError" and isinstance(code, str):
            return code
        where = harness.student_location(error.__traceback__)
        raise AssertionError(f"{harness.describe(error)}" + (f" ({where})" if where else "")
                             + f" — {_(step)}") from None
    return None


def kit_code(call: Callable[[], Any]) -> str | None:
    """The code of the kit's ProtocolError that ``call()`` raises; None if it returns."""
    try:
        call()
    except ProtocolError as error:
        return error.code
    return None


@pytest.fixture
def start_server() -> Iterator[Callable[..., tuple[str, int]]]:
    """``start_server(channel=None)``: the student's serve() on a fresh listener with a
    fresh identity (``channel``: the name of the channel class in secure.py); its address.

    At the end the threads serving clients are given (together) 2 s to finish,
    so what they raise on the way out is reported in this check, not the next.
    """
    before = set(threading.enumerate())
    with contextlib.ExitStack() as stack:
        def start(channel: str | None = None) -> tuple[str, int]:
            module = harness.load("chat_server.py")
            options: dict[str, Any] = {"identity": SigningKey.generate()}
            if channel is not None:
                options["channel_class"] = getattr(module, channel)
            serve = functools.partial(module.serve, **options)
            return stack.enter_context(harness.student_server(serve, name=SERVE_THREAD))

        yield start
    deadline = time.monotonic() + 2
    for thread in set(threading.enumerate()) - before:
        if thread.name != SERVE_THREAD and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture
def chat_server(start_server) -> tuple[str, int]:
    """The student's chat server with its own SecureChannel."""
    return start_server()


class KitUser:
    """The kit's ChatClient, logged in: what a real user of the chat sees."""

    def __init__(self, address: tuple[str, int], name: str, pins: Path) -> None:
        self.name = name
        self.client = ChatClient(*address, pins=PinStore(pins), timeout=WAIT)

    def login(self) -> None:
        """Connect and log in; a refusal fails the check with the server's side of it."""
        try:
            self.client.connect()
            self.client.login(self.name)
        except ChatError as error:
            # The server hung up: if one of its threads died, that is why, and it is
            # reported once the server's hang_up() is done, which waits for us to close.
            self.client.close()
            harness.eventually(lambda: harness.first_thread_exception() is not None, 0.5)
            raise AssertionError(harness.why(_(
                "the kit's client could not log in as {name}: {code}: "
                "{message} (it opens every frame your server seals: README steps 1-4)"
            ).format(name=self.name, code=error.code, message=error.message))) from None


    def next_event(self, timeout: float = WAIT) -> Any | None:
        try:
            return self.client.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def until_left(self, who: str) -> tuple[str | None, list[Message]]:
        """The reason ``who`` left with (None: not within WAIT), and what ``who`` said before."""
        said: list[Message] = []
        deadline = time.monotonic() + WAIT
        while (left := deadline - time.monotonic()) > 0:
            event = self.next_event(left)
            if isinstance(event, Message) and event.sender == who:
                said.append(event)
            elif isinstance(event, Left) and event.name == who:
                return event.reason, said
            elif event is None or isinstance(event, Disconnected):
                break
        return None, said

    def until_end(self) -> tuple[list[str], bool]:
        """The error codes this user got, and whether its connection ended within WAIT."""
        codes: list[str] = []
        deadline = time.monotonic() + WAIT
        while (left := deadline - time.monotonic()) > 0:
            event = self.next_event(left)
            if isinstance(event, Error):
                codes.append(event.code)
            elif isinstance(event, Disconnected):
                return codes, True
            elif event is None:
                break
        return codes, False

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def kit_user(tmp_path: Path) -> Iterator[Callable[[tuple[str, int], str], KitUser]]:
    """``kit_user(address, name)``: the kit's ChatClient logged in as ``name`` (pins in tmp)."""
    users: list[KitUser] = []

    def make(address: tuple[str, int], name: str) -> KitUser:
        user = KitUser(address, name, tmp_path / "known_servers")
        users.append(user)
        user.login()
        return user

    yield make
    for user in users:
        user.close()

"""Suite-wide rules: what may skip on a laptop must fail under CI.

Mark a test ``@pytest.mark.needs_root`` (a live capture) or
``@pytest.mark.needs_tool("tshark")``. On a student's laptop a missing
requirement skips the test with the reason; under CI (``CI=true``) the same
test fails instead, so nothing that matters is silently skipped there.

``display`` is one private Xvfb for the whole session (the Tk tests, and the
labs' meta-tests that run a student's Tk code): it sets ``$DISPLAY``, so child
processes find it too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from socketlab.server import ChatServer
from tests.ci_rules import skip_or_fail
from tools.xvfb import Xvfb, XvfbUnavailable


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_root: needs capture rights (root / CAP_NET_RAW)")
    config.addinivalue_line("markers", "needs_tool(name): needs a program on PATH")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_root") and hasattr(os, "geteuid") and os.geteuid() != 0:
        skip_or_fail("needs capture rights: run as root (sudo) or grant CAP_NET_RAW")
    for marker in item.iter_markers("needs_tool"):
        for tool in marker.args:
            if shutil.which(tool) is None:
                skip_or_fail(f"needs {tool!r} on PATH (apt-get install {tool})")


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """The X display name (e.g. ":3") of the session's Xvfb, also in ``$DISPLAY``."""
    xvfb = Xvfb("1280x800x24")
    try:
        name = xvfb.start()
    except XvfbUnavailable as exc:
        skip_or_fail(str(exc))
    try:
        yield name
    finally:
        xvfb.stop()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pins and keys go to a fresh folder, never the user's; no key log unless asked;
    English whatever the machine's locale (a test switches to Korean itself)."""
    home = tmp_path / "home"
    monkeypatch.setenv("SOCKETLAB_HOME", str(home))
    monkeypatch.delenv("SOCKETLAB_KEYLOG", raising=False)
    monkeypatch.setenv("SOCKETLAB_LANG", "en")
    return home


@pytest.fixture
def make_server() -> Iterator[Callable[..., ChatServer]]:
    """``make_server(**options)``: a real ChatServer on 127.0.0.1 (a free port unless
    ``port=`` is given); every one is stopped at the end of the test."""
    servers: list[ChatServer] = []

    def make(port: int = 0, **options: Any) -> ChatServer:
        server = ChatServer("127.0.0.1", port, **options)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., ChatServer], request: pytest.FixtureRequest) -> ChatServer:
    """A real ChatServer; a test may pass it options with
    ``@pytest.mark.parametrize("server", [{...}], indirect=True)``."""
    return make_server(**getattr(request, "param", {}))

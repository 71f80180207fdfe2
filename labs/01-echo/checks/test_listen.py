"""Step 1: open_listener() gives a socket that clients can connect to."""

import socket

from socketlab.labs import harness


def test_listener_accepts_connections():
    """open_listener() returns a listening socket that clients can connect to"""
    module = harness.load("echo_server.py")
    listener = module.open_listener("127.0.0.1", 0)
    assert isinstance(listener, socket.socket), (
        f"open_listener() returned {listener!r}, not a socket: end it with 'return listener'")
    with listener:
        host, port = listener.getsockname()[:2]
        assert port != 0, "the socket has no port yet: call bind((host, port)) — README step 1"
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as error:
            raise AssertionError(
                f"connecting to {host}:{port} failed ({error}): did you call listen()?") from None


def test_listener_reuses_the_address():
    """open_listener() sets SO_REUSEADDR, so a restarted server can listen again at once"""
    module = harness.load("echo_server.py")
    with module.open_listener("127.0.0.1", 0) as listener:
        reuse = listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
    assert reuse, ("SO_REUSEADDR is not set: add listener.setsockopt(socket.SOL_SOCKET, "
                   "socket.SO_REUSEADDR, 1) before bind() — README step 1")

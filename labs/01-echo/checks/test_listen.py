"""Step 1: open_listener() gives a socket that clients can connect to."""

import socket

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_listener_accepts_connections():
    """open_listener() returns a listening socket that clients can connect to"""
    module = harness.load("echo_server.py")
    listener = module.open_listener("127.0.0.1", 0)
    assert isinstance(listener, socket.socket), _(
        "open_listener() returned {listener!r}, not a socket: end it with 'return listener'"
    ).format(listener=listener)
    with listener:
        host, port = listener.getsockname()[:2]
        assert port != 0, _("the socket has no port yet: call bind((host, port)) — README step 1")
        assert host == "127.0.0.1", _(
            "open_listener('127.0.0.1', 0) listens on {host}, not 127.0.0.1: bind((host, port)) "
            "with the host it was given — '' or '0.0.0.0' opens your server to every network "
            "this computer is on — README step 1").format(host=host)
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as error:
            raise AssertionError(_(
                "connecting to {host}:{port} failed ({error}): did you call listen()?"
            ).format(host=host, port=port, error=error)) from None


def test_restart_on_the_same_port():
    """a server restarted at once on the same port can listen again (SO_REUSEADDR before bind)"""
    module = harness.load("echo_server.py")
    with module.open_listener("127.0.0.1", 0) as first:
        port = first.getsockname()[1]
        client = harness.connect(("127.0.0.1", port))
        conn, _address = first.accept()
        conn.close()  # the server closes first: its side of the connection waits in TIME_WAIT
        harness.closed_by_peer(client, timeout=2)
        client.close()
    try:
        again = module.open_listener("127.0.0.1", port)
    except OSError as error:
        if _still_listening(port):
            raise AssertionError(_(
                "the server was stopped and started again on port {port}, and open_listener() "
                "failed: {error}. Something still listens on that port although your listener "
                "was closed: a copy of your program (os.fork()) or a listening socket that was "
                "never closed holds it — SO_REUSEADDR cannot help with that"
            ).format(port=port, error=error)) from None
        raise AssertionError(_(
            "the server was stopped after a connection and started again on port {port}, and "
            "open_listener() failed: {error}. The old connection still holds the port for a "
            "minute (TIME_WAIT): set SO_REUSEADDR with setsockopt() BEFORE bind() — after "
            "bind() it comes too late — README step 1").format(port=port, error=error)) from None
    again.close()


def _still_listening(port: int) -> bool:
    """Whether a connect() to the port succeeds: a listener holds it, not TIME_WAIT."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True

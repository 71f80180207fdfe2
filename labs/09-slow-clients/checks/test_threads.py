"""Step 4, in the server: every client's two threads end when it leaves."""

import threading

from conftest import WAIT

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_no_thread_is_left_behind(server_threads, peers):
    """5 clients log in and leave one by one: each one's threads end within 3 s"""
    clients = [peers(f"user{n}", f"user{n}") for n in range(5)]
    for n, client in enumerate(clients):
        for _joined in range(4 - n):  # joined, for everyone after it: then its writer is idle
            client.next_chat()
    started = server_threads()
    assert len(started) >= 10, harness.why(_(
        "5 logged-in clients, and the server runs {count} threads for them "
        "({names}): each needs its reader thread and its writer thread "
        "(Client.start()) — README step 3").format(count=len(started), names=", ".join(started)))
    for client in clients:
        port = client.sock.getsockname()[1]  # the server names the client's threads after it

        def its_threads(port: int = port) -> list[str]:
            return [t.name for t in threading.enumerate() if t.name.endswith(f"-{port}")]

        client.close()
        gone = harness.eventually(lambda: not its_threads(), WAIT)
        assert gone, harness.why(_(
            "{client} left, and 3 s later its threads still run "
            "({names}): close() must stop the writer (set closing AND "
            "wake it with self.lock.notify()), or every client that ever came leaves a "
            "thread behind — README step 4").format(
            client=client.label, names=", ".join(its_threads())))
    assert harness.eventually(lambda: not server_threads(), WAIT), harness.why(_(
        "every client left, and these threads still run: {names}").format(
        names=", ".join(server_threads())))

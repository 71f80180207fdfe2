"""Step 4, in the server: every client's two threads end when it leaves."""

import threading

from conftest import WAIT

from socketlab.labs import harness


def test_no_thread_is_left_behind(server_threads, peers):
    """5 clients log in and leave one by one: each one's threads end within 3 s"""
    clients = [peers(f"user{n}", f"user{n}") for n in range(5)]
    for n, client in enumerate(clients):
        for _ in range(4 - n):  # joined, for everyone after it: then its writer is idle
            client.next_chat()
    started = server_threads()
    assert len(started) >= 10, harness.why(
        f"5 logged-in clients, and the server runs {len(started)} threads for them "
        f"({', '.join(started)}): each needs its reader thread and its writer thread "
        "(Client.start()) — README step 3")
    for client in clients:
        port = client.sock.getsockname()[1]  # the server names the client's threads after it

        def its_threads(port: int = port) -> list[str]:
            return [t.name for t in threading.enumerate() if t.name.endswith(f"-{port}")]

        client.close()
        gone = harness.eventually(lambda: not its_threads(), WAIT)
        assert gone, harness.why(
            f"{client.label} left, and 3 s later its threads still run "
            f"({', '.join(its_threads())}): close() must stop the writer (set closing AND "
            "wake it with self.lock.notify()), or every client that ever came leaves a "
            "thread behind — README step 4")
    assert harness.eventually(lambda: not server_threads(), WAIT), harness.why(
        f"every client left, and these threads still run: {', '.join(server_threads())}")

"""Step 5: every client's two threads end when it leaves."""

from conftest import WAIT

from socketlab.labs import harness


def test_no_thread_is_left_behind(server_threads, peers):
    """5 clients log in and leave: every thread the server started for them ends within 3 s"""
    clients = [peers(f"user{n}", f"user{n}") for n in range(5)]
    started = server_threads()
    assert len(started) >= 10, harness.why(
        f"5 logged-in clients, and the server runs {len(started)} threads for them "
        f"({', '.join(started)}): each needs its reader thread and its writer thread "
        "(Client.start()) — README step 3")
    for client in clients:
        client.close()
    gone = harness.eventually(lambda: not server_threads(), WAIT)
    assert gone, harness.why(
        f"5 clients left, and {len(server_threads())} threads are still running 3 s later "
        f"({', '.join(server_threads())}): close() must stop the writer (set closing and wake "
        "it), or every client that ever came leaves a thread behind — README step 4")

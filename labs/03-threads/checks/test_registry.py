"""Steps 1 and 2: Room.join() and Room.leave() keep the registry right, under the lock."""

import threading

from conftest import members

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_join_adds_the_client(room, pairs):
    """join() adds a client to room.clients"""
    first, _client = pairs()
    second, _client = pairs()
    harness.call_with_timeout(room.join, first, timeout=2)
    harness.call_with_timeout(room.join, second, timeout=2)
    assert members(room) == [first, second], _(
        "after join(first) and join(second), room.clients is {clients!r}: append each "
        "joining socket to self.clients — README step 1").format(clients=members(room))


def test_leave_removes_the_client(room, pairs):
    """leave() removes that client and no other; leaving twice does no harm"""
    first, _client = pairs()
    second, _client = pairs()
    room.join(first)
    room.join(second)
    harness.call_with_timeout(room.leave, first, timeout=2)
    assert members(room) == [second], _(
        "after leave(first), room.clients is {clients!r} instead of [second]: remove "
        "the leaving socket from self.clients — README step 2").format(clients=members(room))
    try:
        harness.call_with_timeout(room.leave, first, timeout=2)
    except ValueError as error:
        raise AssertionError(_(
            "leaving a second time raised ValueError ({error}): a client may leave twice (a "
            "reset and a close, say) — remove it only if it is still there — README step 2"
        ).format(error=error)) from None
    assert members(room) == [second], _(
        "a second leave(first) left room.clients as {clients!r}").format(clients=members(room))


def test_join_and_leave_take_the_lock(room, pairs):
    """join() and leave() wait while another thread holds room.lock (it guards the registry)"""
    conn, _client = pairs()
    for action in (room.join, room.leave):
        done = threading.Event()

        def act(action=action, done=done):
            action(conn)
            done.set()

        with room.lock:  # the checks hold the lock: nobody may touch room.clients now
            harness.run_in_thread(act, name=f"student-{action.__name__}")
            finished_early = done.wait(0.2)
        assert not finished_early, harness.why(_(
            "{name}() changed room.clients while another thread held room.lock: "
            "every thread that touches the registry must hold the lock (`with self.lock:`), or "
            "two threads changing it at once can lose a client — README steps 1 and 2"
        ).format(name=action.__name__))
        assert done.wait(2), harness.why(_(
            "{name}() did not finish within 2 s after room.lock was free again"
        ).format(name=action.__name__))
    assert members(room) == [], _("after join and leave, room.clients is {clients!r}").format(
        clients=members(room))


class CountingLock:
    """``room.lock`` as the check sees it: a real lock that counts the threads waiting for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = threading.Lock()
        self.waiting = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        with self._count:
            self.waiting += 1
        try:
            return self._lock.acquire(blocking, timeout)
        finally:
            with self._count:
                self.waiting -= 1

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def test_two_threads_leave_with_one_connection(room, pairs):
    """two threads leaving with the same connection at once: one removes it, neither fails"""
    conn, _client = pairs()
    room.join(conn)
    room.lock = CountingLock()
    errors: list[str] = []

    def leave() -> None:
        try:
            room.leave(conn)
        except Exception as error:  # noqa: BLE001 - reported below, in the student's words
            errors.append(harness.describe(error))

    with room.lock:  # both threads get as far as the lock; then both go on at once
        leavers = [harness.run_in_thread(leave, name=f"student-leave-{n}") for n in (1, 2)]
        harness.eventually(lambda: room.lock.waiting == 2, 2)
    for thread in leavers:
        thread.join(2)
    assert not errors, _(
        "two threads left with the same connection at once (a reset and a close, say), and "
        "one failed: {error}. leave() looked whether conn was in the room before taking "
        "the lock, so both saw it there: test and remove inside one `with self.lock:` — "
        "README step 2").format(error=errors[0])
    assert members(room) == [], _("after two leaves, room.clients is {clients!r}").format(
        clients=members(room))


def test_fifty_clients_join_and_leave_at_once(room, pairs):
    """50 threads join at once, then 25 leave at once: exactly the other 25 stay in the room"""
    conns = [pairs()[0] for _number in range(50)]
    start = threading.Barrier(50, timeout=5)
    errors: list[str] = []

    def join_then_maybe_leave(number: int) -> None:
        try:
            start.wait()
            room.join(conns[number])
            start.wait()  # all have joined: now half of them leave, at once
            if number % 2:
                room.leave(conns[number])
        except Exception as error:  # noqa: BLE001 - reported below, in the student's words
            errors.append(harness.describe(error))
            start.abort()

    threads = [threading.Thread(target=join_then_maybe_leave, args=(n,), daemon=True)
               for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert not errors, errors[0]
    left = members(room)
    assert sorted(map(id, left)) == sorted(id(c) for c in conns[0::2]), _(
        "after 50 joins and 25 leaves, room.clients holds {count} clients, not the 25 that "
        "stayed — README steps 1 and 2").format(count=len(left))

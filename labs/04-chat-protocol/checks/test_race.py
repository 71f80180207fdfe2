"""Step 5: the name race — 50 clients ask for one name at the same moment; exactly one gets it.

A race is rare by itself: the gap between "is the name free?" and "take it"
is a few microseconds. So this check widens it, the same way every time:
it gives the server a ChatRoom whose ``name_in_use()`` pauses 5 ms after
looking, and whose lock pauses 5 ms after each release (so a waiting thread
gets in). A login that holds ``room.lock`` across the check and the add
only gets slower; one that lets go in between lets other logins find the
name free too — in every run, not once in a while.
"""

import contextlib
import json
import threading
import time

import pytest

from socketlab.labs import harness
from socketlab.labs.harness import _

CLIENTS = 50
PAUSE = 0.005
ROUNDS = 5  # a round counts once two logins met at the lock; the first nearly always does


class WindowLock:
    """``room.lock`` as the check sees it: who holds it, who waits, and a pause after release."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._count = threading.Lock()  # guards waiting
        self.waiting = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(False):
            self._owner = threading.get_ident()
            return True
        if not blocking:
            return False
        with self._count:
            self.waiting += 1
        try:
            got = self._lock.acquire(True, timeout)
        finally:
            with self._count:
                self.waiting -= 1
        if got:
            self._owner = threading.get_ident()
        return got

    def release(self) -> None:
        self._owner = None
        self._lock.release()
        time.sleep(PAUSE)  # let go, then pause: whoever waits for the lock gets it now

    def locked(self) -> bool:
        return self._lock.locked()

    def held(self) -> bool:
        return self._owner == threading.get_ident()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class Probe:
    def __init__(self) -> None:
        self.checks = 0
        self.unlocked: list[str] = []
        self.met = False  # a rival was waiting at the lock when the first check of a round ended
        self.first = True


@pytest.fixture
def race(server_module, start_server):
    """The student's server with a ChatRoom that widens the race window.

    Yields (address, probe, clients): the check keeps its clients in ``clients``,
    closed only after the check, so nobody leaves while it runs."""
    probe = Probe()
    base = server_module.ChatRoom

    class RaceRoom(base):
        def __init__(self) -> None:
            super().__init__()
            self.lock = WindowLock()

        def name_in_use(self, key: str) -> bool:
            probe.checks += 1
            if not self.lock.held():
                probe.unlocked.append("name_in_use")
            result = super().name_in_use(key)
            time.sleep(PAUSE)  # the moment between looking and taking, made long
            if probe.first:
                probe.first = False
                probe.met = self.lock.waiting > 0
            return result

        def add_user(self, key: str, client: object) -> None:
            if not self.lock.held():
                probe.unlocked.append("add_user")
            super().add_user(key, client)

    server_module.ChatRoom = RaceRoom
    clients: list = []
    yield start_server(server_module), probe, clients
    for client in clients:
        client.close()


def _round(address, client_class, name: str,
           everyone: list) -> tuple[list[dict | None], list[str]]:
    """One round: CLIENTS new clients say hello, then all ask for ``name`` at once.

    Returns the answers, and what was wrong with any that broke the protocol.

    The clients stay connected until the check is over (``everyone`` keeps them),
    so nobody leaves while it runs: a round is logins and nothing else."""
    clients = [client_class(address, _("racer {number}").format(number=n)) for n in range(CLIENTS)]
    everyone += clients
    for client in clients:
        client.hello()
    start = threading.Barrier(CLIENTS)
    answers: list[dict | None] = [None] * CLIENTS
    problems: list[str] = []

    def race_one(n: int) -> None:
        start.wait(5)
        clients[n].send({"type": "login", "name": name})
        try:
            answers[n] = clients[n].recv(timeout=5)
        except AssertionError as error:  # the answer broke the protocol: say so below
            problems.append(str(error))
            with contextlib.suppress(ValueError, IndexError):  # still count it as what it was
                answers[n] = json.loads(clients[n].bodies[-1])

    threads = [threading.Thread(target=race_one, args=(n,), daemon=True) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return answers, problems


def test_one_name_one_winner(race, client_class):
    """50 simultaneous logins with one name: exactly one welcome, 49 name_taken"""
    address, probe, everyone = race
    for number in range(1, ROUNDS + 1):
        probe.first = True
        answers, problems = _round(address, client_class, f"racer{number}", everyone)
        assert probe.checks, harness.why(_(
            "login() never called room.name_in_use(): check whether the name is free with "
            "room.name_in_use(name_key(name)) and take it with room.add_user() — README step 5"))
        kinds = [a.get("type") if a else None for a in answers]
        winners = kinds.count("welcome")
        refused = sum(1 for a in answers if a and a.get("type") == "error"
                      and a.get("code") == "name_taken")
        unlocked = (_("login() calls room.{method}() without holding room.lock, so ").format(
            method=probe.unlocked[0]) if probe.unlocked else "")
        assert winners <= 1, harness.why(_(
            "{clients} clients asked for the name 'racer{number}' at the same moment and "
            "{winners} got welcome: {unlocked}two logins found the name free before either "
            "took it — hold room.lock across name_in_use() AND add_user(): one `with "
            "room.lock:` block, never two — README step 5").format(
                clients=CLIENTS, number=number, winners=winners, unlocked=unlocked))
        assert not unlocked, harness.why(_(
            "{unlocked}two logins at the same moment can both find the name free (this time "
            "they did not, by luck) — check and add inside one `with room.lock:` — README step 5"
        ).format(unlocked=unlocked))
        # The race's effect first; a malformed answer (say, a welcome listing a user whose
        # name was not set yet) is often only a symptom of it.
        assert not problems, problems[0]
        assert winners == 1 and refused == CLIENTS - 1, harness.why(_(
            "of {clients} clients asking for one name, {winners} got welcome and {refused} got "
            "error name_taken (all answers: {kinds}); expected 1 "
            "and {others} — README step 5").format(
                clients=CLIENTS, winners=winners, refused=refused,
                kinds=sorted({str(k) for k in kinds}), others=CLIENTS - 1))
        if probe.met:
            return
    raise AssertionError(_(
        "in {rounds} rounds no two logins met at room.lock, so the race was never run "
        "(a very busy computer?): run the check again").format(rounds=ROUNDS))


"""Step 1: the receive thread puts every message on the queue, and CLOSED at the end."""

import queue
import threading
import time
from types import ModuleType

from conftest import WAIT, Users

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.server import ChatServer


class ReceiveSide:
    """The window as its receive thread may use it: the connection and the queue, nothing else."""

    def __init__(self, connection: object) -> None:
        self.connection = connection
        self.events: queue.Queue = queue.Queue()

    def __getattr__(self, name: str) -> object:
        raise AttributeError(_(
            "the receive thread used self.{name}: it may use only self.connection and "
            "self.events — widgets, and handle() or show() that touch them, belong to the main "
            "thread: put each message on self.events, and poll() shows it (README step 1)"
        ).format(name=name))


def _start_receive_loop(gui_module: ModuleType, connection: object) -> tuple[ReceiveSide, threading.Thread]:
    """The student's receive_loop in a thread of its own, with only what it may use."""
    window = ReceiveSide(connection)
    thread = threading.Thread(target=gui_module.ChatWindow.receive_loop, args=(window,),
                              name="receive", daemon=True)
    thread.start()
    return window, thread


def _take(events: queue.Queue, count: int) -> list:
    """Up to ``count`` events, waiting at most WAIT for each (not at all once the thread died)."""
    taken: list = []
    deadline = time.monotonic() + WAIT
    while len(taken) < count and time.monotonic() < deadline:
        try:
            taken.append(events.get(timeout=0.05))
            deadline = time.monotonic() + WAIT
        except queue.Empty:
            if harness.first_thread_exception():
                break
    return taken


def test_every_message_goes_on_the_queue(server: ChatServer, users: Users,
                                         gui_module: ModuleType, protocol_module: ModuleType) -> None:
    """The receive thread puts every message from the server on self.events, in order"""
    connection = protocol_module.connect(*server.address, "alice", timeout=WAIT)
    window, thread = _start_receive_loop(gui_module, connection)
    try:
        bob = users.join("bob")
        bob.say("hello alice")
        bob.close()
        got = _take(window.events, 3)
        kinds = [message.get("type") if isinstance(message, dict) else message for message in got]
        assert kinds == ["joined", "message", "left"], harness.why(_(
            "expected the messages joined, message, left on self.events, got {kinds} "
            "within {wait:.0f} s — receive_loop must put each message from "
            "self.connection.receive() on self.events, as it is (README step 1)"
        ).format(kinds=kinds or _("nothing"), wait=WAIT))
        assert got[1]["text"] == "hello alice", _(
            "the message came with the wrong text: {message}").format(message=got[1])
        assert thread.is_alive(), _(
            "receive_loop returned while the connection was still open: it must keep "
            "receiving until receive() returns None (README step 1)")
    finally:
        connection.close()
        thread.join(WAIT)


def test_closed_comes_last(server: ChatServer, gui_module: ModuleType, protocol_module: ModuleType,
                           hanging_up_server: tuple[tuple[str, int], threading.Event]) -> None:
    """When the connection ends, the receive thread puts CLOSED on the queue and stops"""
    address, hang_up = hanging_up_server
    ways = [(_("the server hung up (receive() returned None)"), address, hang_up.set),
            (_("the window had closed the connection (receive() raised OSError)"),
             server.address, None)]
    for how, where, hang_up_now in ways:
        connection = protocol_module.connect(*where, "alice", timeout=WAIT)
        if hang_up_now is None:
            connection.close()  # before the thread starts: its first receive() raises
        window, thread = _start_receive_loop(gui_module, connection)
        try:
            if hang_up_now is not None:
                hang_up_now()
            thread.join(WAIT)
            got = list(_drain(window.events))
            assert got and got[-1] is gui_module.CLOSED, harness.why(_(
                "{how}: expected CLOSED as the last event on self.events, got "
                "{got} — catch OSError, and put CLOSED in a finally: block, so "
                "the window learns of the end whatever it was (README step 1)"
            ).format(how=how, got=got or _("nothing")))
            assert not thread.is_alive(), harness.why(_(
                "{how}, but receive_loop was still running {wait:.0f} s later: stop when "
                "receive() returns None or raises OSError (README step 1)"
            ).format(how=how, wait=WAIT))
        finally:
            connection.close()
            harness.forget_thread_exceptions()  # an OSError a student let through is reported above


def test_garbage_ends_the_loop_quietly(gui_module: ModuleType, protocol_module: ModuleType,
                                       garbling_server: tuple[str, int]) -> None:
    """A server that sends something that is not a message: CLOSED comes last, and no crash"""
    connection = protocol_module.connect(*garbling_server, "alice", timeout=WAIT)
    window, thread = _start_receive_loop(gui_module, connection)
    try:
        thread.join(WAIT)
        got = list(_drain(window.events))
        crash = harness.first_thread_exception()
        assert crash is None, _("{error}\nso: {message}").format(error=crash, message=_(
            "the server sent a frame that is not JSON, and receive() raised "
            "ProtocolError — catch it like OSError: the connection is over either way "
            "(README step 1)"))
        assert got and got[-1] is gui_module.CLOSED, _(
            "the server sent a frame that is not JSON: expected CLOSED as the last event on "
            "self.events, got {got} (README step 1)").format(got=got or _("nothing"))
    finally:
        connection.close()


def _drain(events: queue.Queue):
    while True:
        try:
            yield events.get_nowait()
        except queue.Empty:
            return

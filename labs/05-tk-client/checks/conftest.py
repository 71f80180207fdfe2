"""Lab 05's fixtures: the kit's real server, the student's real Tk window, other users.

The checks drive the window in this process, from the main thread, the way
a user would (typing, clicking) with ``event_generate``/``invoke`` and
``root.update()``. Other users are the kit's own headless client.
"""

import gc
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, ModuleType, TracebackType
from typing import Any

import pytest

from socketlab.client.chat_client import ChatClient
from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.labs.language import N_
from socketlab.protocol import ServerHello, Welcome, encode_frame, encode_message
from socketlab.server import ChatServer, FloodLimits

try:
    import tkinter as tk
except ModuleNotFoundError:  # say what to install, not only what is missing
    from socketlab.client.tk_missing import TK_MISSING

    raise ModuleNotFoundError(TK_MISSING, name="tkinter") from None

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
WAIT = 3.0  # seconds: only a wrong answer waits this long
FROZEN_S = 2.0  # the main thread away from Tk's loop this long: the window froze
_no_display: list[str] = []  # why no window could be opened, once known
TK_OFF_MAIN = "main thread is not in main loop"  # what tkinter raises in another thread
OFF_MAIN_THREAD = N_("so: a widget was touched from a thread other than the main one — Tk is not "
                   "thread-safe, so only the main thread may touch widgets: the receive thread "
                   "only puts messages on self.events, and poll() shows them (README steps 1 "
                   "and 3)")


@pytest.fixture
def root() -> Iterator[tk.Tk]:
    """A Tk root window on this computer's display; without one, one clear line."""
    try:
        window = tk.Tk()
    except tk.TclError as error:
        reason = _("no display to open a window on ({error}): run the checks on your desktop, "
                   "or start a virtual display first: Xvfb :99 & export DISPLAY=:99"
                   ).format(error=error)
        if _no_display:  # said in full once; the next checks only point at it
            reason = _("no display (see above)")
        _no_display.append(reason)
        if IN_CI:
            pytest.fail(_("required under CI: {reason}").format(reason=reason), pytrace=False)
        pytest.skip(reason)
    errors: list[str] = []

    def report(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        """Tk's own handler prints a callback's exception and goes on; the checks say it."""
        where = harness.student_location(tb)
        errors.append(harness.describe(error) + (f" ({where})" if where else ""))

    window.callback_errors = errors  # type: ignore[attr-defined]
    window.report_callback_exception = report  # type: ignore[method-assign]
    yield window
    try:
        window.destroy()
    except tk.TclError:
        pass  # the student's code already destroyed it (/quit)
    del window
    # Widgets form reference cycles. Freed later by whichever thread the GC runs
    # in, the Tcl interpreter would be deleted from the wrong thread, and Tcl
    # aborts the process. Free them here, on the main thread.
    gc.collect()


@pytest.fixture
def server() -> Iterator[ChatServer]:
    """The kit's real server, plain sessions allowed, no flood control (floods are checked)."""
    with ChatServer("127.0.0.1", 0, allow_plaintext=True, flood=FloodLimits(rate=0)) as chat:
        yield chat


SERVE = """
import sys
from socketlab.server import ChatServer, FloodLimits
with ChatServer("127.0.0.1", 0, allow_plaintext=True, flood=FloodLimits(rate=0)) as server:
    print(server.address[1], flush=True)
    sys.stdin.read()  # until the checks close our stdin
"""


@pytest.fixture
def server_process() -> Iterator[tuple[str, int]]:
    """The same server in a process of its own, as in real use: its threads then do not
    compete with the window for this process's GIL while they relay a flood."""
    child = subprocess.Popen([sys.executable, "-c", SERVE], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = child.stdout.readline().strip() if child.stdout else ""
        if not port.isdigit():
            child.kill()
            _output, errors = child.communicate(timeout=WAIT)
            pytest.fail(_("the kit's server did not start: {errors}").format(
                errors=errors.strip()[-300:]))
        yield "127.0.0.1", int(port)
    finally:
        if child.stdin:
            child.stdin.close()
        try:
            child.wait(WAIT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@pytest.fixture
def gui_module() -> ModuleType:
    return harness.load("chat_gui.py")


@pytest.fixture
def protocol_module(gui_module: ModuleType) -> ModuleType:
    """The student's chat_protocol, as chat_gui imported it."""
    return sys.modules["chat_protocol"]


@contextmanager
def one_connection_server(then: bytes | None,
                          hang_up: threading.Event) -> Iterator[tuple[str, int]]:
    """A one-connection server of the checks' own: it logs the client in as alice; once
    ``hang_up`` is set it sends ``then``, or hangs up (a clean close, FIN) if ``then`` is
    None, and reads until the client closes too. Yields its address."""
    listener = socket.create_server(("127.0.0.1", 0))
    greeting = b"".join(encode_frame(encode_message(message)) for message in (
        ServerHello(mode="plain"), Welcome(name="alice", users=("alice",))))

    def serve() -> None:
        with listener:
            conn, _address = listener.accept()
        with conn:
            conn.sendall(greeting)
            hang_up.wait(WAIT)
            if then is None:
                conn.shutdown(socket.SHUT_WR)
            else:
                conn.sendall(then)
            conn.settimeout(WAIT)
            try:
                while conn.recv(65536):
                    pass  # the client's hello and login, until it closes too
            except OSError:
                pass

    thread = harness.checker_thread(serve, name="one-connection-server")
    yield listener.getsockname()
    hang_up.set()
    thread.join(WAIT)


@pytest.fixture
def hanging_up_server() -> Iterator[tuple[tuple[str, int], threading.Event]]:
    """``one_connection_server`` that hangs up when the check sets the event it yields."""
    hang_up = threading.Event()
    with one_connection_server(None, hang_up) as address:
        yield address, hang_up


@pytest.fixture
def garbling_server() -> Iterator[tuple[str, int]]:
    """``one_connection_server`` that sends, right after the welcome, a frame that is not a
    message (not JSON)."""
    hang_up = threading.Event()
    hang_up.set()
    with one_connection_server(encode_frame(b"this is not JSON"), hang_up) as address:
        yield address


class Users:
    """Headless users of the kit's client; all closed at the end of the check."""

    def __init__(self, server: ChatServer) -> None:
        self.server = server
        self.clients: list[ChatClient] = []

    def join(self, name: str) -> ChatClient:
        client = ChatClient(*self.server.address, mode="plain", timeout=WAIT)
        client.connect()
        client.login(name)
        self.clients.append(client)
        return client

    def close_all(self) -> None:
        for client in self.clients:
            client.close()


@pytest.fixture
def users(server: ChatServer) -> Iterator[Users]:
    crowd = Users(server)
    yield crowd
    crowd.close_all()


def next_event(client: ChatClient, match: Callable[[Any], bool],
               timeout: float = WAIT) -> Any | None:
    """The first event on ``client``'s queue that matches, or None after ``timeout``."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = client.events.get(timeout=left)
        except queue.Empty:
            return None
        if match(event):
            return event
    return None


@pytest.fixture
def expect() -> Callable[..., Any]:
    """``expect(client, match, timeout=3)``: the event a headless user gets, or None."""
    return next_event


class Gui:
    """The student's window, driven from the main thread the way a user would.

    A watchdog thread looks after the main thread: if the Tk loop does not come
    back for FROZEN_S (the window froze: a get() or a recv() waiting on the main
    thread), it notes where the student's code was, then ends the connection
    and queues CLOSED until the main thread is free again, so the check can
    fail with that place instead of hanging.
    """

    def __init__(self, root: tk.Tk, window: Any) -> None:
        self.root = root
        self.window = window
        self.frozen_at: str | None = None
        self.beat = time.monotonic()  # the main loop's last sign of life
        self.busy = False  # the main thread is inside Tk's loop (a check's update or mainloop)
        self._stop = threading.Event()
        self._guard = threading.Thread(target=self._watch, name="freeze-watchdog", daemon=True)
        self._guard.start()

    def _watch(self) -> None:
        main = threading.main_thread().ident
        while not self._stop.wait(0.05):
            if not self.busy or time.monotonic() - self.beat < FROZEN_S:
                continue
            if self.frozen_at is None:
                frame = sys._current_frames().get(main or -1)
                self.frozen_at = (harness.student_location_of_frame(frame)
                                  or _("outside your code"))
            try:
                self.window.connection.close()
            except OSError:
                pass
            self.window.events.put(None)

    def stop(self) -> None:
        self._stop.set()
        self._guard.join()

    def frozen_message(self) -> str:
        return _("the window froze: the main thread did not come back to Tk's loop for more "
                 "than {seconds:.0f} s (it was at {where}) — it must never wait for "
                 "the network: only the receive thread calls receive(), and poll() takes "
                 "events with get_nowait() (README steps 1 and 3)"
                 ).format(seconds=FROZEN_S, where=self.frozen_at)

    def call(self, function: Callable[[], object]) -> None:
        """``function()`` on the main thread, watched; fails the check if the window froze,
        or at once, with the cause, when another thread touched Tk (whatever the check is)."""
        self.beat, self.busy = time.monotonic(), True
        try:
            function()
        finally:
            self.busy = False
        if self.frozen_at:
            raise AssertionError(self.frozen_message())
        crash = harness.first_thread_exception()
        if crash and TK_OFF_MAIN in crash:
            raise AssertionError(f"{crash}\n{_(OFF_MAIN_THREAD)}")
        errors = getattr(self.root, "callback_errors", [])
        if errors:
            raise AssertionError(_("in a Tk callback, {error}").format(error=errors[0]))

    def update(self) -> None:
        """One round of Tk's loop, watched."""
        self.call(self.root.update)

    def pump(self, until: Callable[[], object], timeout: float = WAIT) -> bool:
        """Run the Tk loop until ``until()`` is true (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return bool(until())
            self.update()
            if until():
                return True
            time.sleep(0.005)
        return False

    def alive(self) -> bool:
        try:
            return bool(self.root.winfo_exists())
        except tk.TclError:
            return False

    def log(self) -> str:
        return self.window.log.get("1.0", "end")

    def log_lines(self) -> list[str]:
        return self.window.log.get("1.0", "end-1c").rstrip("\n").splitlines()

    def user_list(self) -> list[str]:
        return list(self.window.users.get(0, "end"))

    def type_and_send(self, line: str, *, press_enter: bool = False) -> None:
        """Type ``line`` into the entry and press Send (or Enter)."""
        entry = self.window.entry
        entry.delete(0, "end")
        entry.insert(0, line)
        self.update()
        if press_enter:
            entry.focus_force()
            self.update()
            entry.event_generate("<Return>")
        else:
            self.window.send_button.invoke()
        if self.alive():
            self.update()

    def double_click(self, name: str) -> None:
        """Two quick clicks on ``name`` in the user list."""
        users = self.window.users
        index = list(users.get(0, "end")).index(name)
        users.see(index)
        self.update()
        x, y, _width, height = users.bbox(index)
        for _click in range(2):
            users.event_generate("<ButtonPress-1>", x=x + 5, y=y + height // 2)
            users.event_generate("<ButtonRelease-1>", x=x + 5, y=y + height // 2)
        self.update()


@pytest.fixture
def open_window(root: tk.Tk, server: ChatServer, gui_module: ModuleType,
                protocol_module: ModuleType) -> Iterator[Callable[..., Gui]]:
    """``open_window(name, address=server)``: the student's ChatWindow, logged in as ``name``.

    At the end the connection is closed and the student's threads are waited
    for before the window is destroyed (Tk must die on the main thread).
    """
    before = set(threading.enumerate())
    connections: list[Any] = []
    guis: list[Gui] = []

    def open_(name: str, address: tuple[str, int] | None = None) -> Gui:
        connection = protocol_module.connect(*(address or server.address), name, timeout=WAIT)
        connections.append(connection)
        window = gui_module.ChatWindow(root, connection)
        for attr in ("log", "users", "entry", "send_button"):
            assert hasattr(window, attr), _(
                "ChatWindow has no self.{attr}: the checks find the widgets by these names "
                "(log, users, entry, send_button) — keep them as the starter has them"
            ).format(attr=attr)
        guis.append(Gui(root, window))
        return guis[-1]

    yield open_
    for gui in guis:
        gui.stop()
    for connection in connections:
        connection.close()
    for thread in set(threading.enumerate()) - before:
        if thread.daemon and thread.name != "MainThread":
            thread.join(WAIT)


@pytest.fixture
def window(open_window: Callable[..., Gui]) -> Gui:
    """The student's window, logged in as alice."""
    return open_window("alice")


class TkFromOtherThreads:
    """Records every call into tkinter made by a thread other than the main one.

    Installed with ``threading.setprofile`` before the student's window starts
    its threads, so each new thread reports every function call to ``_seen``;
    a call whose code lives in the tkinter package (or a C call on the Tcl
    interpreter itself) from a non-main thread is a widget touched off the
    main thread. It records from the first such call: nothing is left to chance.
    """

    TKINTER = str(Path(tk.__file__).parent)

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()
        self._on = False
        self._main = threading.main_thread().ident

    def __enter__(self) -> "TkFromOtherThreads":
        self._on = True
        threading.setprofile(self._seen)
        return self

    def __exit__(self, *exc_info: object) -> None:
        threading.setprofile(None)  # type: ignore[arg-type]
        self._on = False

    def _seen(self, frame: FrameType, event: str, arg: Any) -> None:
        # get_ident(), not current_thread(): while a thread ends, the latter would
        # make up a "dummy" thread object for it.
        if not self._on or threading.get_ident() == self._main:
            return
        if event == "call" and frame.f_code.co_filename.startswith(self.TKINTER):
            what = _("tkinter's {function}()").format(function=frame.f_code.co_name)
        elif event == "c_call" and type(getattr(arg, "__self__", None)).__name__ == "tkapp":
            what = _("Tcl's {function}()").format(function=arg.__name__)
        else:
            return
        names = {thread.ident: thread.name for thread in threading.enumerate()}
        thread = names.get(threading.get_ident(), "?")
        where = harness.student_location_of_frame(frame)
        record = (_("the thread {thread!r} called {what} from {where}") if where
                  else _("the thread {thread!r} called {what}")).format(
                      thread=thread, what=what, where=where)
        with self._lock:
            if record not in self.calls:
                self.calls.append(record)


@pytest.fixture
def tk_watch() -> Iterator[TkFromOtherThreads]:
    with TkFromOtherThreads() as watch:
        yield watch

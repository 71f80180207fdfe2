"""Helpers for lab checks: load the student's code, run it, talk to it, explain failures.

Checks may use the kit as their oracle; the student's code never imports it.
The runner says which folder to check in ``$SOCKETLAB_LAB_TARGET`` (the
student's ``work/NN-…``, the starter, or the solution).
"""

from __future__ import annotations

import builtins
import importlib.util
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, ModuleType, TracebackType
from typing import Any

from socketlab.i18n import Catalog

from .language import RUNNER, lab_catalog

_thread_errors: list[str] = []
_retired: set[threading.Thread] = set()  # threads the checks ended (closing their listener)
_checkers: set[threading.Thread] = set()  # the checks' own threads: never the student's errors
_errors_lock = threading.Lock()
_current_check: str | None = None  # the check running now (its pytest node id)
_OWNER = "_socketlab_check"  # the attribute on a thread: the check that started it
_words: Catalog = RUNNER  # the checked lab's table of words (use_lab), else the runner's


def use_lab(lab_folder: Path) -> None:
    """Speak the words of the lab in ``lab_folder`` (its ``locale/``): set once per run."""
    global _words  # noqa: PLW0603 - one lab per check run
    _words = lab_catalog(lab_folder)


def _(message: str) -> str:
    """``message`` in the student's language: checks mark their hints and sentences with
    it (``_("got {n}").format(n=n)``: the English is the key, so never an f-string)."""
    return _words.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """``singular`` or ``plural`` for ``count``, in the student's language."""
    return _words.ngettext(singular, plural, count)


def target() -> Path:
    """The folder whose code is being checked."""
    return Path(os.environ.get("SOCKETLAB_LAB_TARGET", ".")).resolve()


class StudentCodeError(AssertionError):
    """The student's file cannot be used at all (missing, or it fails on import)."""


def load(filename: str) -> ModuleType:
    """Import ``filename`` (e.g. ``"echo_server.py"``) from the target, fresh each time.

    Fresh, so that one check's module state cannot leak into the next; the
    target folder goes first on ``sys.path`` so the student's own modules
    import each other as they would when run by hand.
    """
    path = target() / filename
    if not path.is_file():
        raise StudentCodeError(_("there is no {file} in {folder}").format(file=filename,
                                                                           folder=target()))
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    for name in [n for n, m in sys.modules.items()
                 if (file := getattr(m, "__file__", None)) and Path(file).parent == path.parent]:
        del sys.modules[name]
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        where = student_location(exc.__traceback__) or filename
        raise StudentCodeError(_("importing {file} failed: {kind}: {error} ({where})").format(
            file=filename, kind=type(exc).__name__, error=exc, where=where)) from exc
    return module


def student_location(tb: TracebackType | None) -> str | None:
    """``"echo_server.py line 14"``: the innermost frame in the student's folder."""
    return _innermost_student(traceback.extract_tb(tb))


def student_location_of_frame(frame: FrameType | None) -> str | None:
    """The same for a running thread's current ``frame`` (``sys._current_frames()``)."""
    return _innermost_student(traceback.extract_stack(frame)) if frame else None


def _innermost_student(frames: traceback.StackSummary) -> str | None:
    root = target()
    found = None
    for frame in frames:  # outermost first: the last match is the innermost
        path = Path(frame.filename)
        if path.is_relative_to(root):
            found = f"{path.relative_to(root)} line {frame.lineno}"
    return found


def describe(error: BaseException) -> str:
    """A student's exception in words: a TODO left is "not written yet", not a crash."""
    if isinstance(error, NotImplementedError) and str(error).startswith("TODO"):
        return _("not written yet: {error}").format(error=error)
    return _("your code raised {kind}: {error}").format(kind=_kind(type(error)), error=error)


def _kind(cls: type[BaseException]) -> str:
    """An exception class by the name a student can look up.

    A library's class that shadows a builtin name (PyNaCl's RuntimeError, a CryptoError)
    is named with its module and its library's family, or it reads like Python's own.
    """
    if cls.__module__ == "builtins" or not hasattr(builtins, cls.__name__):
        return cls.__name__
    family = [base.__name__ for base in cls.__mro__[1:] if base.__module__ == cls.__module__]
    named = f"{cls.__module__}.{cls.__qualname__}"
    return _("{name} (a {family})").format(name=named, family=family[0]) if family else named


def install() -> None:
    """In a check run: tag every thread with the check it was started in, and keep what
    the student's threads raise (``threading.excepthook``).

    A thread started by another thread belongs to that thread's check, so a
    server thread a check left running, accepting a client in a later check,
    is still charged to the check that started it — never to a later one.
    """
    original = threading.Thread.start

    def start(self: threading.Thread) -> None:
        parent = getattr(threading.current_thread(), _OWNER, None)
        setattr(self, _OWNER, parent or _current_check)
        original(self)

    threading.Thread.start = start  # type: ignore[method-assign]
    threading.excepthook = record_thread_exception


def begin_check(check: str) -> None:
    """A check starts: errors of threads from earlier checks are no longer charged to anyone."""
    global _current_check  # noqa: PLW0603 - one check at a time in a check run
    with _errors_lock:
        _current_check = check
        _thread_errors.clear()


def record_thread_exception(args: threading.ExceptHookArgs) -> None:
    """``threading.excepthook`` during checks: keep what a student's thread raised.

    Only the errors of the check that started the thread count: a thread left
    from an earlier check (reading a socket that check closed) is not the
    student's fault now. The checks' own threads never count.
    """
    if args.exc_type is SystemExit or args.thread in _retired or args.thread in _checkers:
        return
    if args.thread is not None and getattr(args.thread, _OWNER, _current_check) != _current_check:
        return
    where = student_location(args.exc_traceback)
    text = describe(args.exc_value) if args.exc_value else args.exc_type.__name__
    name = args.thread.name if args.thread else "a thread"
    with _errors_lock:
        _thread_errors.append(
            (_("the thread {name!r} stopped: {error} ({where})") if where else
             _("the thread {name!r} stopped: {error}")).format(name=name, error=text, where=where)
        )


def forget_thread_exceptions() -> None:
    with _errors_lock:
        _thread_errors.clear()


def first_thread_exception() -> str | None:
    with _errors_lock:
        return _thread_errors[0] if _thread_errors else None


def run_in_thread(function: Callable[..., Any], *args: Any, name: str) -> threading.Thread:
    """Start the student's ``function(*args)`` in a daemon thread (the child process ends it)."""
    thread = threading.Thread(target=function, args=args, name=name, daemon=True)
    thread.start()
    return thread


def checker_thread(function: Callable[..., Any], *args: Any, name: str) -> threading.Thread:
    """Start one of the checks' own threads (a reference server, a flood of messages).

    What it raises is the checks' business (typically the student's side went
    away), never reported as "your code": the check's own assertions say what
    went wrong.
    """
    thread = threading.Thread(target=function, args=args, name=name, daemon=True)
    with _errors_lock:
        _checkers.add(thread)
    thread.start()
    return thread


def connect(address: tuple[str, int], timeout: float = 3.0,
            rcvbuf: int | None = None) -> socket.socket:
    """A connection to ``address``, retried until ``timeout``: readiness without a sleep.

    ``rcvbuf`` shrinks the receive buffer (before connecting, so the window is
    small): a client that reads slowly then really makes the server wait.
    """
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise AssertionError(
                    _("nothing accepted a connection on {host}:{port} within {timeout:.0f} s "
                      "— is the server listening?").format(host=address[0], port=address[1],
                                                          timeout=timeout)
                ) from None
            time.sleep(0.02)
        else:
            return sock


def _slices(timeout: float) -> Iterator[None]:
    """Yield until ``timeout`` passes, or at once stop when a student's thread has died:
    a server that crashed will not answer, and waiting for it only slows the check."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and first_thread_exception() is None:
        yield


def recv_exactly(sock: socket.socket, size: int, timeout: float = 3.0) -> bytes:
    """Exactly ``size`` bytes, or whatever came before the peer closed or ``timeout`` passed."""
    data = bytearray()
    sock.settimeout(0.1)
    for _slice in _slices(timeout):
        try:
            chunk = sock.recv(min(65536, size - len(data)))
        except TimeoutError:
            continue
        except OSError:
            break
        if not chunk:
            break
        data += chunk
        if len(data) >= size:
            break
    return bytes(data)


def closed_by_peer(sock: socket.socket, timeout: float = 3.0) -> bool:
    """True when the peer closes the connection within ``timeout`` (data before it is dropped)."""
    sock.settimeout(0.1)
    for _slice in _slices(timeout):
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def eventually(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def why(message: str) -> str:
    """``message``, after what a student's thread raised during this check (the likely cause)."""
    error = first_thread_exception()
    if not error:
        return message
    return _("{error}\nso: {message}").format(error=error, message=message)


@contextmanager
def listening_socket(sndbuf: int | None = None) -> Iterator[socket.socket]:
    """A listener of the harness's own on 127.0.0.1, port 0.

    ``sndbuf`` shrinks the send buffer of the sockets it accepts (they inherit it).
    """
    listener = socket.create_server(("127.0.0.1", 0))
    if sndbuf:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    try:
        yield listener
    finally:
        listener.close()


@contextmanager
def student_server(serve: Callable[[socket.socket], Any], *, sndbuf: int | None = None,
                   name: str = "student-serve") -> Iterator[tuple[str, int]]:
    """The student's ``serve(listener)`` in a thread, on a listener of the checks' own.

    Yields the address to connect to. At the end the listener is closed; what
    that does to the student's thread (an error from ``accept``) is the
    checks' doing, so it is not reported against the student.
    """
    with listening_socket(sndbuf) as listener:
        thread = run_in_thread(serve, listener, name=name)
        try:
            yield listener.getsockname()
        finally:
            with _errors_lock:
                _retired.add(thread)


def call_with_timeout(function: Callable[..., Any], *args: Any, timeout: float) -> Any:
    """``function(*args)`` run in a thread; its result, or its exception re-raised here.

    A student's function that never returns (an endless loop, a recv() that
    waits forever) fails the check with where it was stuck, instead of
    hanging the whole run.
    """
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome["value"] = function(*args)
        except BaseException as error:  # noqa: BLE001 - handed to the caller, who reports it
            outcome["error"] = error

    thread = threading.Thread(target=call, name=f"student-{function.__name__}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        frame = sys._current_frames().get(thread.ident or -1)
        stuck = student_location_of_frame(frame)
        raise AssertionError(
            (_("{function}() did not return within {timeout:.0f} s (it was at {where})")
             if stuck else _("{function}() did not return within {timeout:.0f} s")).format(
                function=function.__name__, timeout=timeout, where=stuck))
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")

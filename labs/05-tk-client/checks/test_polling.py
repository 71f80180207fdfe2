"""Steps 2 and 3: the main thread takes the queue's events with after(), a slice at a time."""

import threading
import time
from collections.abc import Callable

from conftest import WAIT, Gui, Users

from socketlab.labs.harness import _


def _record_handled(gui: Gui) -> list[tuple[dict, bool]]:
    """Replace the window's handle() by a recorder: (message, called on the main thread?)."""
    handled: list[tuple[dict, bool]] = []
    gui.window.handle = lambda message: handled.append(
        (message, threading.current_thread() is threading.main_thread()))
    return handled


def test_messages_reach_handle_on_the_main_thread(window: Gui, users: Users) -> None:
    """The window starts the receive thread and, with after(), hands each message to handle()"""
    handled = _record_handled(window)
    bob = users.join("bob")
    bob.say("are you there?")
    seen = window.pump(lambda: any(m.get("text") == "are you there?" for m, _main in handled))
    assert seen, _(
        "bob said 'are you there?', but handle() was not called with it within {wait:.0f} s — "
        "start the receive thread and schedule poll() with self.root.after() in __init__ "
        "(README step 2), and call self.handle(event) for each event in poll() (step 3)"
    ).format(wait=WAIT)
    assert all(on_main for _message, on_main in handled), _(
        "handle() was called from another thread: only poll(), on the main thread, may call it "
        "(README step 3)")


def test_poll_never_waits(window: Gui) -> None:
    """poll() returns at once when nothing is queued: it never waits for a message"""
    window.pump(lambda: False, timeout=0.2)  # whatever was queued at login is handled
    waits = []
    for _time in range(5):  # a wait happens every time; a busy machine's delay does not
        started = time.monotonic()
        window.call(window.window.poll)
        waits.append(time.monotonic() - started)
    assert min(waits) < 0.05, _(
        "with nothing queued, poll() waited {wait:.2f} s or more, each of 5 times: all "
        "that time the window was frozen — take events with self.events.get_nowait() and "
        "stop at queue.Empty (README step 3)").format(wait=min(waits))


def test_a_backlog_is_shown_in_slices(window: Gui, gui_module) -> None:
    """1,000 waiting messages are shown a slice (BATCH) per poll, so Tk redraws in between"""
    window.pump(lambda: False, timeout=0.2)
    handled = _record_handled(window)
    total = 1000
    for i in range(total):
        window.window.events.put({"type": "message", "from": "bob", "text": f"line {i}", "ts": 0})
    window.call(window.window.poll)
    in_one_poll = len(handled)
    assert 0 < in_one_poll <= 500 and in_one_poll < total, (
        _("one poll() handled {handled} of {total} waiting messages: nothing — poll() must "
          "handle what is queued (README step 3)") if not in_one_poll
        else _("one poll() handled {handled} of {total} waiting messages: while it runs the "
               "window cannot redraw or answer a click — handle at most BATCH (e.g. 100) per "
               "poll, then let after() call poll() again (README step 3)")
    ).format(handled=in_one_poll, total=total)
    assert window.pump(lambda: len(handled) == total), _(
        "after the first slice, only {handled} of {total} messages were handled within "
        "{wait:.0f} s — poll() must schedule itself again with after() (README step 3)"
    ).format(handled=len(handled), total=total, wait=WAIT)
    assert [m["text"] for m, _main in handled] == [f"line {i}" for i in range(total)], _(
        "the messages were handled out of order (README step 3)")


def test_one_bad_message_does_not_stop_polling(window: Gui) -> None:
    """A message handle() cannot show does not stop the window's updates for good"""
    window.pump(lambda: False, timeout=0.2)
    handled: list[dict] = []

    def handle(message: dict) -> None:
        if message.get("text") == "bad":
            raise ValueError("a message this window cannot show (the check's own handle())")
        handled.append(message)

    window.window.handle = handle
    for text in ("bad", "good"):
        window.window.events.put({"type": "message", "from": "bob", "text": text, "ts": 0})
    deadline = time.monotonic() + WAIT
    while not handled and time.monotonic() < deadline:
        window.root.update()  # not window.update(): the check's own ValueError is expected
        time.sleep(0.005)
    window.root.callback_errors.clear()
    assert handled, _(
        "handle() raised on one message, and nothing after it was shown: the window went "
        "deaf for good — schedule the next poll with self.root.after() in a finally: block, so "
        "one message handle() cannot show does not stop the updates (README step 3)")


def test_closed_shows_disconnected_and_stops_polling(
        open_window: Callable[..., Gui],
        hanging_up_server: tuple[tuple[str, int], threading.Event]) -> None:
    """When the server hangs up, the log says disconnected and poll() stops scheduling itself"""
    address, hang_up = hanging_up_server
    window = open_window("alice", address)
    hang_up.set()
    why = _("the server hung up, and the log did not say 'disconnected' within {wait:.0f} s — "
            "at CLOSED, poll() shows '*** disconnected' and stops (README step 3)"
            ).format(wait=WAIT)
    try:
        shown = window.pump(lambda: "disconnected" in window.log())
    except AssertionError as error:  # e.g. CLOSED handed to handle() as if it were a message
        raise AssertionError(_("{error}\nso: {message}").format(error=error, message=why)
                             ) from None
    assert shown, why
    polls = [0]
    original = window.window.poll

    def counted() -> None:
        polls[0] += 1
        original()

    window.window.poll = counted  # what poll() schedules from now on is counted
    window.pump(lambda: False, timeout=0.5)
    assert polls[0] <= 1, _(
        "after CLOSED, poll() still ran {polls} times in 0.5 s: the connection is over — "
        "at CLOSED, stop: no more self.root.after() (README step 3)").format(polls=polls[0])

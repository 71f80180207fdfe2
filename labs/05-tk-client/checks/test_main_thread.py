"""Only the main thread touches Tk: the receive thread hands everything over through the queue."""

from collections.abc import Callable

from conftest import WAIT, Gui, TkFromOtherThreads, Users

from socketlab.labs.harness import _


def test_widgets_touched_only_from_the_main_thread(tk_watch: TkFromOtherThreads,
                                                   open_window: Callable[[str], Gui],
                                                   users: Users) -> None:
    """A whole session (messages, joins, leaves, an error, the end) touches Tk only from the main thread"""
    window = open_window("alice")
    bob = users.join("bob")
    bob.say("one")
    bob.whisper("alice", "two")
    users.join("carol")
    bob.close()
    window.window.connection.send({"type": "whisper", "to": "nobody", "text": "three"})

    def off_main_or(condition: Callable[[], bool]) -> Callable[[], bool]:
        return lambda: bool(tk_watch.calls) or condition()

    window.pump(off_main_or(lambda: "bob left" in window.log() and "nobody" in window.log()))
    window.window.connection.close()  # the end of the session: the receive thread's last act
    window.pump(off_main_or(lambda: "disconnected" in window.log()), timeout=1.0)
    assert not tk_watch.calls, _(
        "{call}: Tk is not thread-safe, so only the main thread may touch "
        "widgets — one touched from another thread may work for a while, then crash or freeze "
        "the window at random — the "
        "receive thread may only put messages on self.events; poll() shows them "
        "(README steps 1 and 3)").format(call=tk_watch.calls[0])
    assert "bob: one" in window.log() and "bob left" in window.log(), _(
        "the session did not reach the log within {wait:.0f} s (README steps 3–5)"
    ).format(wait=WAIT)

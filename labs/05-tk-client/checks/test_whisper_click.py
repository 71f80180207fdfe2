"""Step 6: a double-click on a name starts a whisper."""

from conftest import WAIT, Gui, Users

from socketlab.labs.harness import _


def test_double_click_fills_the_whisper(window: Gui, users: Users) -> None:
    """A double-click on a name in the user list puts "/w NAME " in the entry"""
    users.join("bob")
    users.join("carol")
    assert window.pump(lambda: "carol" in window.user_list()), _(
        "bob and carol joined but the list is {users} after {wait:.0f} s "
        "(README step 5)").format(users=window.user_list(), wait=WAIT)
    window.window.entry.insert(0, "half a sentence")
    window.double_click("bob")
    entry = window.window.entry
    assert entry.get() == "/w bob ", _(
        "after a double-click on bob the entry holds {entry!r}, expected '/w bob ' — "
        "in on_user_double_click, take the name at self.users.nearest(event.y), empty the "
        "entry and insert '/w NAME ' (README step 6)").format(entry=entry.get())
    window.double_click("carol")
    assert entry.get() == "/w carol ", _(
        "a double-click on carol gave {entry!r}: use the name under the mouse "
        "(README step 6)").format(entry=entry.get())

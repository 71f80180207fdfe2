"""Step 5: the user list follows who joins and leaves."""

from conftest import WAIT, Gui, Users

from socketlab.labs.harness import _


def test_user_list_follows_joined_and_left(window: Gui, users: Users) -> None:
    """The user list gains a name when someone joins and loses it when they leave"""
    assert window.user_list() == ["alice"], _(
        "right after login the list should hold only alice, it holds {users}"
    ).format(users=window.user_list())
    bob = users.join("bob")
    users.join("carol")
    assert window.pump(lambda: window.user_list() == ["alice", "bob", "carol"]), _(
        "bob and carol joined, but the user list is {users} after {wait:.0f} s — "
        "on 'joined', insert the name at the end of self.users (README step 5)"
    ).format(users=window.user_list(), wait=WAIT)
    assert "bob joined" in window.log(), _("bob joined: say so in the log too (README step 5)")
    bob.close()
    assert window.pump(lambda: window.user_list() == ["alice", "carol"]), _(
        "bob left, but the user list is {users} after {wait:.0f} s — on 'left', "
        "delete that name from self.users (find its index in self.users.get(0, 'end')) "
        "(README step 5)").format(users=window.user_list(), wait=WAIT)
    assert "bob left" in window.log(), _("bob left: say so in the log too (README step 5)")


def test_users_answer_replaces_the_list(window: Gui, users: Users) -> None:
    """The answer to /who (a 'users' message) replaces the whole list and shows the names"""
    users.join("bob")
    window.pump(lambda: "bob" in window.user_list(), timeout=1.0)
    window.window.users.insert("end", "ghost")  # a name the list got wrong somehow
    window.window.connection.send({"type": "who"})
    assert window.pump(lambda: window.user_list() == ["alice", "bob"]), _(
        "after the server's 'users' answer (alice, bob) the list is {users} — "
        "on 'users', empty self.users and insert every name (README step 5)"
    ).format(users=window.user_list())
    shown = window.log_lines()[-1]
    assert "alice" in shown and "bob" in shown, _(
        "show the names of a 'users' answer in the log too; its last line is {shown!r} "
        "(README step 5)").format(shown=shown)

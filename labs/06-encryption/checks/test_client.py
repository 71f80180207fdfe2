"""Step 8: ChatSession.connect() does the client's side of the handshake and logs in."""

from conftest import WAIT
from nacl.public import PrivateKey

from socketlab.labs import harness
from socketlab.labs.harness import _


def connect_to(client_module, address, name="alice"):
    return harness.call_with_timeout(client_module.ChatSession.connect, *address, name, timeout=5)


def welcome_script(replies: dict):
    """A server of the checks' own: the kit's handshake, then welcome, then answers per type."""
    def script(side):
        side.handshake()
        login = side.recv()
        assert login is not None and login.get("type") == "login", _(
            "after server_hello your client sent {login}, expected a sealed login — README step 8"
        ).format(login=login)
        side.send({"type": "welcome", "name": login["name"], "users": ["zed", login["name"]]})
        while (msg := side.recv()) is not None:
            for reply in replies.get(msg["type"], ()):
                side.send({**reply, "text": msg.get("text", "")} if "text" in reply else reply)
    return script


def test_connect_and_chat(client_module, kit_server):
    """connect() logs in through the box handshake; say() and receive() work sealed"""
    server = kit_server(welcome_script({"say": [{"type": "message", "from": "alice", "text": "",
                                                 "ts": 1}]}))
    try:
        session = connect_to(client_module, server.address)
    except client_module.ProtocolError as error:
        raise AssertionError(_("connect() raised ProtocolError {error}{problem}").format(
            error=error, problem=server.problem())) from None
    try:
        assert (session.name, session.users) == ("alice", ["zed", "alice"]), _(
            "after welcome the session has name {name!r} and users {users!r}: "
            "keep them from the welcome message — README step 8"
        ).format(name=session.name, users=session.users)
        session.say("over the sealed channel")
        msg = session.receive(WAIT)
        assert msg is not None and msg.get("text") == "over the sealed channel", _(
            "said a text, and received {msg}{problem} — README step 8"
        ).format(msg=msg, problem=server.problem())
    finally:
        session.close()


def refused_with(client_module, server, what: str) -> str:
    """The code of the ProtocolError connect() raised when the server did ``what``; fails the
    check if it returned or raised something else."""
    try:
        session = connect_to(client_module, server.address)
    except client_module.ProtocolError as error:
        return str(error.code)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - any other exception is the student's to see
        where = harness.student_location(error.__traceback__)
        raise AssertionError(_(
            "{what}, and connect() raised {kind}: {error}{where}: it must raise ProtocolError "
            "with the server's code — session.expect(kind, timeout) does that for an error "
            "— README step 8"
        ).format(what=what, kind=type(error).__name__, error=error,
                 where=f" ({where})" if where else "")) from None
    session.close()
    raise AssertionError(_("{what}, and connect() returned a session{problem}").format(
        what=what, problem=server.problem()))


def test_refusals_raise_the_servers_code(client_module, kit_server):
    """a refused login (name_taken) and a refused hello (server_full) raise ProtocolError with that code"""
    def taken(side):
        side.handshake()
        side.recv()
        side.send({"type": "error", "code": "name_taken", "message": "alice is taken"})
        side.recv()

    def full(side):
        side.body()
        side.send_plain({"type": "error", "code": "server_full", "message": "come back later"})

    for script, code, when in ((taken, "name_taken", _("the login")),
                               (full, "server_full", _("the hello"))):
        got = refused_with(client_module, kit_server(script),
                           _("the server answered {when} with error {code}").format(
                               when=when, code=code))
        assert got == code, _(
            "the server answered {when} with error {code}; connect() raised ProtocolError "
            "{got!r}: raise ProtocolError with the server's code — README step 8"
        ).format(when=when, code=code, got=got)


def test_low_order_server_key_refused(client_module, kit_server):
    """a server_hello with a low-order key makes connect() raise ProtocolError bad_key"""
    def evil(side):
        side.body()
        signature = PrivateKey.generate()  # never checked in this lab: any 64 bytes do
        side.send_plain({"type": "server_hello", "version": 1, "mode": "box",
                         "key": bytes(32).hex(), "identity": bytes(signature.public_key).hex(),
                         "signature": "00" * 64})
        side.body()

    got = refused_with(client_module, kit_server(evil), _("the server's key was all zeros"))
    assert got == "bad_key", _(
        "the server's key was all zeros and connect() raised {got!r}: session_key() refuses it "
        "with bad_key — README steps 1 and 8").format(got=got)


def test_your_client_with_your_server(client_module, chat_server):
    """two of your ChatSessions chat through your server: say and whisper arrive"""
    alice = connect_to(client_module, chat_server, "alice")
    try:
        bob = connect_to(client_module, chat_server, "bob")
        try:
            joined = alice.receive(WAIT)
            assert joined is not None and joined["type"] == "joined", _(
                "alice got {msg}").format(msg=joined)
            bob.say("hi alice")
            said = alice.receive(WAIT)
            assert said is not None and said.get("text") == "hi alice", _(
                "alice got {msg}").format(msg=said)
            alice.whisper("bob", "psst")
            seen = []  # bob may have been told joined{alice} too: whether is the server's race
            while len(seen) < 5 and (msg := bob.receive(WAIT)) is not None:
                seen.append(msg)
                if msg.get("to") == "bob" and msg.get("text") == "psst":
                    break
            assert seen and seen[-1].get("text") == "psst", _(
                "bob got {seen}, expected alice's whisper").format(seen=seen)
        finally:
            bob.close()
    finally:
        alice.close()

"""Step 7: with the server's own key log, the capture shows the whisper only as ciphertext.

Your server and your clients, through the inspector's proxy, which records
every byte. The server writes its key log ($SOCKETLAB_KEYLOG): with it, every
sealed frame opens — and still the whisper's text is nowhere in them.
"""

import json

from conftest import server_keys, transport_bodies
from nacl.signing import SigningKey

from socketlab.inspector.decode import Frame
from socketlab.inspector.keylog_file import KeyLogFile
from socketlab.inspector.pipeline import decode_events
from socketlab.inspector.proxy import Proxy
from socketlab.labs import harness
from socketlab.labs.harness import _

SECRET = "the treasure is under the old oak"


def messages_until(session, kind: str, limit: int = 20) -> list[dict]:
    """What session.receive() gives, up to the first message of type ``kind`` (bounded)."""
    seen: list[dict] = []
    for _attempt in range(limit):
        msg = harness.call_with_timeout(lambda: session.receive(2), timeout=5)
        if msg is None:
            break
        seen.append(msg)
        if msg.get("type") in (kind, "closed"):
            break
    return seen


def test_server_key_log_does_not_reveal_the_whisper(server_module, start_server, open_session,
                                                     tmp_path, monkeypatch):
    """with the server's key log the capture shows the whisper only as e2e ciphertext; bob reads it, carol never gets it"""
    keylog = tmp_path / "server.keylog"
    monkeypatch.setenv("SOCKETLAB_KEYLOG", str(keylog))
    server = start_server(server_module)
    with Proxy("127.0.0.1", 0, server) as proxy:
        alice = open_session(proxy.address, "alice", tmp_path / "alice")
        bob = open_session(proxy.address, "bob", tmp_path / "bob")
        carol = open_session(proxy.address, "carol", tmp_path / "carol")
        harness.call_with_timeout(lambda: alice.whisper("bob", SECRET), timeout=5)
        alice.say("after the whisper")
        bob_saw = messages_until(bob, "e2e_message")
        alice_saw = messages_until(alice, "e2e_message")
        carol_saw = messages_until(carol, "message")
        for session in (alice, bob, carol):
            session.close()
    bodies, missing = transport_bodies(proxy.events(), server_keys(keylog))
    assert bodies and not missing, harness.why(_(
        "the server's key log ({keylog}) had no line for {missing} of the 3 sessions: "
        "the given handshake writes SOCKETLAB_BOX lines with write_keylog — did you change it?"
    ).format(keylog=keylog.name, missing=missing))
    readable = [(way, body.decode("utf-8", "replace")) for way, body in bodies
                if SECRET.encode() in body]
    assert not readable, harness.why(_(
        "with the SERVER's key log the capture shows the whisper's text: {text} ({direction}). "
        "A whisper the server can read is not end-to-end: your client must send e2e_whisper "
        "sealed to bob's key, never a plain whisper — README step 10").format(
            text=readable[0][1][:200], direction=readable[0][0]))
    kinds = [(way, json.loads(body).get("type")) for way, body in bodies if body.startswith(b"{")]
    assert ("c2s", "e2e_whisper") in kinds and ("s2c", "e2e_message") in kinds, harness.why(_(
        "the capture holds {kinds}: expected alice's e2e_whisper and the server's "
        "e2e_message — README steps 5 and 10").format(kinds=sorted(set(kinds))))
    got = [m for m in bob_saw if m.get("type") == "e2e_message"]
    assert got and got[0].get("text") == SECRET and got[0].get("from") == "alice", harness.why(_(
        "bob's client received {seen}: he should read alice's whisper ({secret!r}). "
        "Sealed to the recipient's key with your own secret, it opens with his secret and your "
        "key — README steps 6 and 10").format(seen=bob_saw, secret=SECRET))
    copy = [m for m in alice_saw if m.get("type") in ("e2e_message", "e2e_refused")]
    assert copy and copy[0].get("text") == SECRET, harness.why(_(
        "alice's client received {seen} for her own copy of the whisper: it opens "
        "with HER secret and BOB's key (the one she looked up), since Box(a, B) = Box(b, A) — "
        "README step 11").format(seen=copy or alice_saw))
    leaked = [m for m in carol_saw if SECRET in json.dumps(m, ensure_ascii=False)]
    assert not leaked and carol_saw and carol_saw[-1].get("type") == "message", harness.why(_(
        "carol received {seen}: she must not get alice's whisper to bob at all").format(
            seen=carol_saw))


def test_substituted_key_is_caught(server_module, start_server, open_session, tmp_path):
    """alice pinned bob's fingerprint (compared in person); whispering to him works, through your server"""
    server = start_server(server_module)
    bob_identity = SigningKey.generate()
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "user_identity.key").write_text(bytes(bob_identity).hex() + "\n")
    (tmp_path / "alice").mkdir()
    pin = f"{server[0]}:{server[1]} bob {bytes(bob_identity.verify_key).hex()}\n"
    (tmp_path / "alice" / "known_users").write_text(pin)
    alice = open_session(server, "alice", tmp_path / "alice")
    bob = open_session(server, "bob", tmp_path / "bob")
    try:
        harness.call_with_timeout(lambda: alice.whisper("bob", SECRET), timeout=5)
    except Exception as error:  # noqa: BLE001 - the student's code: any exception is the hint
        raise AssertionError(harness.why(_(
            "alice, who has bob's real identity pinned, could not whisper to him: {error}. Your "
            "server must hand out the key, identity and signature bob sent at login, unchanged; "
            "a server that puts in a key of its own (to read the whispers) is exactly what the "
            "pin catches — README step 4").format(error=harness.describe(error)))) from None
    got = [m for m in messages_until(bob, "e2e_message") if m.get("type") == "e2e_message"]
    assert got and got[0].get("text") == SECRET and got[0].get("trust") == "new", harness.why(_(
        "bob received {got}: alice's whisper, first contact with alice — README step 11"
    ).format(got=got))
    alice.close()
    bob.close()


def test_inspector_server_view_and_recipient_view(server_module, start_server, open_session,
                                                  tmp_path, monkeypatch):
    """the inspector shows the whisper as ciphertext with the server's key log, and opens it with bob's"""
    server_log, bob_log = tmp_path / "server.keylog", tmp_path / "bob.keylog"
    monkeypatch.setenv("SOCKETLAB_KEYLOG", str(server_log))
    server = start_server(server_module)
    with Proxy("127.0.0.1", 0, server) as proxy:
        alice = open_session(proxy.address, "alice", tmp_path / "alice")
        bob = open_session(proxy.address, "bob", tmp_path / "bob", keylog=str(bob_log))
        harness.call_with_timeout(lambda: alice.whisper("bob", SECRET), timeout=5)
        messages_until(bob, "e2e_message")
        alice.close()
        bob.close()
    events = proxy.events()
    server_view = [item for item in decode_events(events, KeyLogFile(server_log))
                   if isinstance(item, Frame)]
    shown = [f for f in server_view if SECRET in f.note or any(SECRET.encode() in b
                                                               for b in f.bodies)]
    e2e = [f for f in server_view if f.label in ("e2e_whisper", "e2e_message")]
    assert e2e and not shown, harness.why(_(
        "the inspector, with your server's key log, decoded {decoded}; the whisper's text "
        "showed in {shown}: with the server's keys an e2e whisper must stay ciphertext — "
        "README step 10").format(decoded=[f.label for f in server_view],
                                 shown=[f.label for f in shown]))
    bob_view = [item for item in decode_events(events, KeyLogFile(bob_log))
                if isinstance(item, Frame)]
    opened = [f for f in bob_view if f.label == "e2e_message" and SECRET in f.note]
    assert opened, harness.why(_(
        "with bob's client key log ({keylog}: his session key and his SOCKETLAB_E2E line, "
        "written by the given ChatSession.connect) the inspector should open alice's whisper "
        "to him; it showed {shown}").format(
            keylog=bob_log.name, shown=[(f.label, f.note[:80]) for f in bob_view if f.label]))

"""The key log your server writes lets the inspector decrypt the session (socketlab read --keylog)."""

from socketlab.inspector.decode import Frame
from socketlab.inspector.pipeline import decode_events
from socketlab.inspector.proxy import Proxy
from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import SocketlabError, read_keylog


def decoded(events, keys) -> dict[str, list[Frame]]:
    frames = [item for item in decode_events(events, keys) if isinstance(item, Frame)]
    return {way: [f for f in frames if f.direction == way] for way in ("c2s", "s2c")}


def test_key_log_decrypts_it_in_the_inspector(chat_server, join, keylog):
    """with your server's key log the inspector shows every sealed frame decrypted; without it, none"""
    with Proxy("127.0.0.1", 0, chat_server) as proxy:
        alice = join("alice", proxy.address)
        alice.send({"type": "say", "text": "seen by the inspector"})
        alice.expect("message", _("alice's own say comes back to her"))
        alice.send({"type": "bye"})
        alice.closed()
    try:
        keys = read_keylog(keylog)
    except (OSError, SocketlabError) as error:
        raise AssertionError(harness.why(_(
            "the inspector could not read the key log {keylog}: {error} — README steps 4 and 5"
        ).format(keylog=keylog, error=error))) from None
    frames = decoded(proxy.events(), keys)
    labels = {way: [f.label for f in frames[way]] for way in frames}
    expected = {"c2s": ["hello", "login", "say", "bye"],
                "s2c": ["server_hello", "welcome", "message"]}
    assert labels == expected, harness.why(_(
        "with the key log {text!r} the inspector read {labels} "
        "({notes}); expected {expected}: "
        "each line is SOCKETLAB_BOX, the CLIENT's public key (as in its hello), the session key "
        "— README step 4").format(
            text=keylog.read_text(), labels=labels, expected=expected,
            notes=[f.note for way in frames for f in frames[way] if f.note][:2]))
    assert all(f.kind == "sealed" for way in frames for f in frames[way][1:]), \
        _("every frame after the handshake must be sealed")
    said = frames["s2c"][2].messages[0]
    assert getattr(said, "text", None) == "seen by the inspector", said
    blind = decoded(proxy.events(), None)
    assert all(not f.messages for way in blind for f in blind[way][1:]), \
        _("without the key log the inspector must not read a sealed frame")

"""Steps 5-7 together: what someone sniffing the connection sees — nothing readable."""

from socketlab.inspector.events import Data
from socketlab.inspector.proxy import Proxy
from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import FrameDecoder

# What a sniffer must not find after the handshake: message texts, names, JSON, error codes
# (5 bytes or more, so that random ciphertext cannot contain one by chance).
SECRETS = [b"ZEBRA-CROSSING", b"OKAPI-WHISPER", b"alice", b"carol", b'"type"', b"welcome",
           b"joined", b"no_such_user", b"users", b"message"]


def frames_on_the_wire(events) -> dict[tuple[int, str], list[bytes]]:
    """Every frame body the proxy relayed, per connection and direction, in order."""
    streams: dict[tuple[int, str], bytes] = {}
    numbers: dict[object, int] = {}  # each connection, numbered 1, 2, … as it first appears
    for event in events:
        if isinstance(event, Data):
            key = (numbers.setdefault(event.conn, len(numbers) + 1), event.direction)
            streams[key] = streams.get(key, b"") + event.data
    return {key: FrameDecoder().feed(data) for key, data in streams.items()}


def test_nothing_readable_on_the_wire(chat_server, join):
    """a sniffer of a whole session sees no text, no name, no JSON after the handshake"""
    with Proxy("127.0.0.1", 0, chat_server) as proxy:
        alice = join("alice", proxy.address)
        carol = join("carol", proxy.address)
        alice.expect("joined", _("carol logged in after alice"))
        alice.send({"type": "say", "text": "ZEBRA-CROSSING"})
        carol.expect("message", _("alice said something"))
        alice.send({"type": "whisper", "to": "carol", "text": "OKAPI-WHISPER"})
        carol.expect("message", _("alice whispered to carol"))
        alice.expect("message", _("alice gets her own say back"))
        alice.expect("message", _("alice gets her own whisper back"))
        carol.send({"type": "whisper", "to": "nobody", "text": "hello?"})
        carol.expect_error("no_such_user", _("a whisper to nobody"))
        carol.send({"type": "who"})
        carol.expect("users", _("carol asked who"))
        carol.send({"type": "bye"})
        alice.expect("left", _("carol said bye"))
    for (number, direction), bodies in sorted(frames_on_the_wire(proxy.events()).items()):
        way = _("client → server") if direction == "c2s" else _("server → client")
        for index, body in enumerate(bodies[1:], start=2):  # the first frame is the handshake
            found = [s.decode() for s in SECRETS if s in body]
            assert not found, harness.why(_(
                "connection {number}, {way}, frame {index} carries {found} readable: "
                "{body!r} — every frame after server_hello goes through Client.send(), "
                "which seals it — README step 7").format(
                    number=number, way=way, index=index, found=found, body=body[:80]))
            assert len(body) >= 24 + 16 + 4, harness.why(_(
                "connection {number}, {way}, frame {index} is {size} bytes: too short to be "
                "sealed (nonce 24 + MAC 16 + an inner frame) — README step 7").format(
                    number=number, way=way, index=index, size=len(body)))


def test_same_message_twice_looks_different(join):
    """the same answer sent twice (who, who) looks different on the wire: a fresh nonce each time"""
    bob = join("bob")
    answers = []
    for _time in range(2):
        bob.send({"type": "who"})
        bob.expect("users", _("bob asked who"))
        answers.append(bob.received[-1][0])
    first, second = answers
    assert first[:24] != second[:24], harness.why(_(
        "two sealed frames had the same nonce {nonce}: a nonce is used once — "
        "a fresh nacl.utils.random(24) in every seal(), not one per channel or a constant "
        "— README step 2").format(nonce=first[:24].hex()))
    assert first[24:] != second[24:], harness.why(_(
        "the same message sealed twice gave the same bytes: a sniffer sees when you repeat "
        "yourself — README step 2"))

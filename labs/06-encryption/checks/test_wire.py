"""Steps 5-7 together: what someone sniffing the connection sees — nothing readable."""

from socketlab.inspector.events import Data
from socketlab.inspector.proxy import Proxy
from socketlab.labs import harness
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
        alice.expect("joined", "carol logged in after alice")
        alice.send({"type": "say", "text": "ZEBRA-CROSSING"})
        carol.expect("message", "alice said something")
        alice.send({"type": "whisper", "to": "carol", "text": "OKAPI-WHISPER"})
        carol.expect("message", "alice whispered to carol")
        for what in ("her own say", "her own whisper"):
            alice.expect("message", f"alice gets {what} back")
        carol.send({"type": "whisper", "to": "nobody", "text": "hello?"})
        carol.expect_error("no_such_user", "a whisper to nobody")
        carol.send({"type": "who"})
        carol.expect("users", "carol asked who")
        carol.send({"type": "bye"})
        alice.expect("left", "carol said bye")
    for (number, direction), bodies in sorted(frames_on_the_wire(proxy.events()).items()):
        way = "client → server" if direction == "c2s" else "server → client"
        for index, body in enumerate(bodies[1:], start=2):  # the first frame is the handshake
            found = [s.decode() for s in SECRETS if s in body]
            assert not found, harness.why(
                f"connection {number}, {way}, frame {index} carries {found} readable: "
                f"{body[:80]!r} — every frame after server_hello goes through Client.send(), "
                "which seals it — README step 7")
            assert len(body) >= 24 + 16 + 4, harness.why(
                f"connection {number}, {way}, frame {index} is {len(body)} bytes: too short to be "
                "sealed (nonce 24 + MAC 16 + an inner frame) — README step 7")


def test_same_message_twice_looks_different(join):
    """the same answer sent twice (who, who) looks different on the wire: a fresh nonce each time"""
    bob = join("bob")
    answers = []
    for _ in range(2):
        bob.send({"type": "who"})
        bob.expect("users", "bob asked who")
        answers.append(bob.received[-1][0])
    first, second = answers
    assert first[:24] != second[:24], harness.why(
        f"two sealed frames had the same nonce {first[:24].hex()}: a nonce is used once — "
        "a fresh nacl.utils.random(24) in every seal(), not one per channel or a constant "
        "— README step 2")
    assert first[24:] != second[24:], harness.why(
        "the same message sealed twice gave the same bytes: a sniffer sees when you repeat "
        "yourself — README step 2")

"""Both ends of the handshake, over an in-memory link (no sockets)."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from socketlab.protocol import (
    MAX_FRAME,
    ClientConnection,
    Error,
    FrameDecoder,
    Hello,
    IdentityError,
    LocalProtocolError,
    ProtocolError,
    Say,
    SecureChannel,
    ServerConnection,
    ServerHello,
    Welcome,
    encode_frame,
    encode_message,
    frame_message,
)

IDENTITY = SigningKey(bytes(range(32)))


def handshake(mode="box", allow_plaintext=False, cut=None):
    client = ClientConnection(mode)
    server = ServerConnection(IDENTITY, allow_plaintext=allow_plaintext)
    hello = client.hello()
    pieces = [hello] if cut is None else [hello[i : i + cut] for i in range(0, len(hello), cut)]
    got = [m for piece in pieces for m in server.receive_data(piece)]
    assert [type(m) for m in got] == [Hello]
    reply = server.data_to_send()
    assert [type(m) for m in client.receive_data(reply)] == [ServerHello]
    return client, server


@pytest.mark.parametrize("cut", [None, 1, 7])
def test_box_handshake_agrees_on_a_key_however_cut(cut):
    client, server = handshake(cut=cut)
    assert client.established and server.established
    assert client.session_key == server.session_key and len(client.session_key) == 32
    assert client.server_identity == bytes(IDENTITY.verify_key)
    assert server.client_key == client.client_key


def test_messages_flow_sealed_after_handshake():
    client, server = handshake()
    wire = client.send(Say("secret words"))
    assert b"secret" not in wire
    assert server.receive_data(wire) == [Say("secret words")]
    assert client.receive_data(server.send(Welcome("a", ("a",)))) == [Welcome("a", ("a",))]


def test_plain_session_when_allowed_is_readable():
    client, server = handshake("plain", allow_plaintext=True)
    wire = client.send(Say("in the clear"))
    assert b"in the clear" in wire
    assert server.receive_data(wire) == [Say("in the clear")]


def test_plaintext_is_refused_by_default_and_the_refusal_reaches_the_client():
    client = ClientConnection("plain")
    server = ServerConnection(IDENTITY)
    with pytest.raises(ProtocolError) as err:
        server.receive_data(client.hello())
    assert err.value.code == "plaintext_refused"
    refusal = server.send(Error(err.value.code, err.value.message))
    assert client.receive_data(refusal)[0].code == "plaintext_refused"


def test_substituted_server_key_fails_the_signature():
    """A man in the middle swaps in its own ephemeral key but cannot sign it."""
    client = ClientConnection("box")
    server = ServerConnection(IDENTITY)
    server.receive_data(client.hello())
    server.data_to_send()
    genuine_identity = bytes(IDENTITY.verify_key)
    forged = ServerHello(
        "box",
        key=bytes(PrivateKey.generate().public_key),
        identity=genuine_identity,
        signature=IDENTITY.sign(b"something else").signature,
    )
    with pytest.raises(IdentityError) as err:
        client.receive_data(encode_frame(encode_message(forged)))
    assert err.value.code == "bad_signature"
    assert not client.established


def test_other_version_and_out_of_order_first_frames():
    server = ServerConnection(IDENTITY)
    with pytest.raises(ProtocolError) as err:
        server.receive_data(encode_frame(encode_message(Hello("box", bytes(32), version=2))))
    assert err.value.code == "bad_version"
    with pytest.raises(ProtocolError) as err:
        ServerConnection(IDENTITY).receive_data(encode_frame(encode_message(Say("hi"))))
    assert err.value.code == "unexpected_message"


def test_client_cannot_send_before_the_handshake():
    with pytest.raises(LocalProtocolError):
        ClientConnection().send(Say("too early"))


def test_injected_keys_make_the_handshake_reproducible():
    def run():
        client = ClientConnection(ephemeral=PrivateKey(bytes(range(1, 33))))
        server = ServerConnection(IDENTITY, ephemeral=PrivateKey(bytes(range(2, 34))))
        server.receive_data(client.hello())
        return server.data_to_send()

    assert run() == run()


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_random_bytes_at_the_server_raise_only_protocol_errors(data):
    server = ServerConnection(IDENTITY, allow_plaintext=True)
    try:
        server.receive_data(data)
        server.receive_data(b"")
    except ProtocolError:
        pass


def test_a_batch_is_sealed_in_as_few_frames_as_fit_and_read_back_in_order():
    client, server = handshake()
    bodies = [encode_message(Say(f"line {i} " + "x" * 1000)) for i in range(150)]
    wire = server.send_bodies(bodies)
    frames = FrameDecoder().feed(wire)
    assert 2 <= len(frames) <= 4  # ~150 KB of messages in 64 KiB frames
    assert client.receive_data(wire) == [Say(f"line {i} " + "x" * 1000) for i in range(150)]


@settings(max_examples=40, deadline=None)
@given(bodies=st.lists(st.binary(min_size=1, max_size=30_000), min_size=1, max_size=8))
@example(bodies=[b"x" * 30_000] * 3)  # more than one sealed frame holds
@example(bodies=[b"y" * (MAX_FRAME - 44)])  # exactly one frame's worth
def test_frames_made_once_are_sealed_as_seal_then_frame_would_seal_them(bodies):
    # A broadcast frames its message once for every recipient (send_frames): each
    # sealed frame must be encode_frame(seal(plaintext)), in order, within MAX_FRAME.
    _, server = handshake()
    reference = SecureChannel(server.session_key, "server")
    reader = SecureChannel(server.session_key, "client")
    wire = server.send_frames([encode_frame(body) for body in bodies])
    plaintexts = []
    for sealed in FrameDecoder().feed(wire):
        plaintexts.append(reader.open(sealed))
        assert reference.seal(plaintexts[-1]) == sealed
    assert b"".join(plaintexts) == b"".join(encode_frame(body) for body in bodies)
    assert server.send_frames([]) == b""


def test_a_message_framed_once_reads_back_on_each_connection():
    frame = frame_message(Say("to everyone"))
    assert frame == encode_frame(encode_message(Say("to everyone")))
    pairs = [handshake(), handshake(), handshake("plain", allow_plaintext=True)]
    wires = [server.send_frames([frame, frame]) for _, server in pairs]
    assert len(set(wires)) == 3  # sealed per connection: no two alike
    for (client, _), wire in zip(pairs, wires, strict=True):
        assert client.receive_data(wire) == [Say("to everyone")] * 2


def test_sealed_frames_with_no_or_cut_inner_frames_are_refused():
    for plaintext, code in ((b"", "frame_empty"), (b"\x00\x00\x00\x09{}", "frame_truncated")):
        client, server = handshake()
        # The server's first sealed frame, made by hand: counter 0, server direction.
        forged = SecureChannel(server.session_key, "server").seal(plaintext)
        with pytest.raises(ProtocolError) as err:
            client.receive_data(encode_frame(forged))
        assert err.value.code == code

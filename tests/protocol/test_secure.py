"""The secure channel refuses replayed, reordered, reflected and tampered frames."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.public import Box, PrivateKey

from socketlab.protocol import NONCE_SIZE, ProtocolError, SecureChannel, make_nonce, parse_sealed


@pytest.fixture
def pair():
    a, b = PrivateKey.generate(), PrivateKey.generate()
    key = Box(a, b.public_key).shared_key()
    return SecureChannel(key, "client"), SecureChannel(key, "server")


def code_of(channel, data):
    with pytest.raises(ProtocolError) as err:
        channel.open(data)
    return err.value.code


def test_frames_open_in_order_both_ways(pair):
    client, server = pair
    for i in range(3):
        assert server.open(client.seal(b"up %d" % i)) == b"up %d" % i
        assert client.open(server.seal(b"down %d" % i)) == b"down %d" % i


def test_sealed_is_pynacl_box_output_with_our_nonce(pair):
    client, _ = pair
    sealed = client.seal(b"hi")
    assert sealed[:NONCE_SIZE] == make_nonce("client", 0) == b"C" + bytes(15) + bytes(8)
    assert len(sealed) == NONCE_SIZE + 16 + 2
    parts = parse_sealed(sealed)
    assert (parts.direction, parts.counter, len(parts.mac)) == ("client", 0, 16)


def test_replayed_frame_is_refused(pair):
    client, server = pair
    first = client.seal(b"pay alice 10")
    server.open(first)
    assert code_of(server, first) == "replayed"


def test_reordered_frame_is_refused(pair):
    client, server = pair
    client.seal(b"first")
    second = client.seal(b"second")
    assert code_of(server, second) == "reordered"


def test_reflected_frame_is_refused(pair):
    client, _ = pair
    own = client.seal(b"mine")
    assert code_of(client, own) == "reflected"


@pytest.mark.parametrize("where", [0, 10, 23, 24, 39, 40, -1])
def test_any_flipped_bit_is_refused(pair, where):
    client, server = pair
    sealed = bytearray(client.seal(b"hello world"))
    sealed[where] ^= 0x01
    assert code_of(server, bytes(sealed)) == "decrypt_failed"


def test_wrong_key_and_short_frames_fail_to_decrypt(pair):
    client, _ = pair
    stranger = SecureChannel(bytes(32), "server")
    assert code_of(stranger, client.seal(b"x")) == "decrypt_failed"
    assert code_of(stranger, b"\x00" * 39) == "decrypt_failed"


def test_counter_only_advances_on_success(pair):
    client, server = pair
    good = client.seal(b"ok")
    code_of(server, good[:-1] + bytes([good[-1] ^ 1]))
    assert server.open(good) == b"ok"


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_protocol_errors(data):
    try:
        SecureChannel(bytes(range(32)), "server").open(data)
    except ProtocolError:
        pass


@given(
    st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=20), st.integers(50, 2000)
)
def test_batches_unbatch_to_the_same_bodies(bodies, limit):
    from socketlab.protocol.secure import batch_bodies, unbatch

    if max(len(b) for b in bodies) + 4 > limit:
        return
    batches = batch_bodies(bodies, limit)
    assert all(len(batch) <= limit for batch in batches)
    assert [body for batch in batches for body in unbatch(batch)] == bodies


@given(st.binary(max_size=300))
def test_unbatch_of_random_bytes_raises_only_protocol_errors(data):
    from socketlab.protocol.secure import unbatch

    try:
        unbatch(data)
    except ProtocolError:
        pass

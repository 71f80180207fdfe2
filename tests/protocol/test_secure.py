"""The secure channel refuses replayed, reordered, reflected and tampered frames."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.bindings import crypto_box_easy_afternm
from nacl.public import Box, PrivateKey

from socketlab.protocol import (
    NONCE_SIZE,
    LocalProtocolError,
    ProtocolError,
    SecureChannel,
    make_nonce,
    parse_sealed,
)


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


def test_counter_2_64_minus_1_is_the_last_frame(pair):
    client, server = pair
    client.sent = server.received = 2**64 - 1
    last = client.seal(b"last")
    assert parse_sealed(last).counter == 2**64 - 1
    assert server.open(last) == b"last"
    with pytest.raises(LocalProtocolError) as err:
        client.seal(b"one too many")  # would need counter 2^64: a nonce reused after wrap
    assert err.value.code == "counter_exhausted"


def test_a_direction_byte_that_is_neither_is_bad_nonce_after_the_mac(pair):
    """Checked in order: length, MAC (the nonce is authenticated), then layout, direction,
    counter; so a forged direction byte is decrypt_failed, an authentic odd one bad_nonce."""
    client, server = pair
    forged = bytearray(client.seal(b"x"))
    forged[0] = ord("X")
    assert code_of(server, bytes(forged)) == "decrypt_failed"
    nonce = b"X" + bytes(23)
    odd = nonce + crypto_box_easy_afternm(b"x", nonce, client.shared_key)
    assert code_of(server, odd) == "bad_nonce"


@given(st.binary(min_size=1, max_size=3000))
def test_seal_and_open_are_pynacls_public_box(body):
    """The channel calls libsodium through PyNaCl's private cffi module: its frames are
    still exactly what PyNaCl's public binding seals, and it opens what that binding
    seals, whatever the length (a tampered byte anywhere is refused)."""
    key = bytes(range(32))
    client, server = SecureChannel(key, "client"), SecureChannel(key, "server")
    nonce = make_nonce("client", 0)
    public = nonce + crypto_box_easy_afternm(body, nonce, key)
    assert client.seal(body) == public
    assert server.open(public) == body
    tampered = bytearray(public)
    tampered[len(public) // 2] ^= 1
    assert code_of(SecureChannel(key, "server"), bytes(tampered)) == "decrypt_failed"

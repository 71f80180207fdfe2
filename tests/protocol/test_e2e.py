"""End-to-end whispers: the login bundle, the box, the receiver's four checks, user pins
and the e2e key-log lines."""

import dataclasses
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_box_easy
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from socketlab.protocol import (
    Bundle,
    E2EError,
    E2EKeys,
    E2EMessage,
    KeyLogError,
    KeyLogWriter,
    UserKey,
    UserPinStore,
    accept_user_key,
    decode_message,
    encode_message,
    fingerprint,
    open_box,
    open_e2e_message,
    parse_e2e_keylog,
    parse_keylog,
    read_e2e_keylog,
    read_keylog,
    seal_whisper,
    sign_bundle,
    verify_bundle,
)
from socketlab.protocol.e2e import E2E_CONTEXT, inner_body, parse_inner

POSIX = sys.platform != "win32"
HOST, PORT = "127.0.0.1", 7777


def user(seed: int) -> E2EKeys:
    return E2EKeys(SigningKey(bytes([seed]) * 32), PrivateKey(bytes([seed + 1]) * 32))


ALICE, BOB, MALLORY = user(1), user(3), user(5)


def relay(whisper, sender_name: str, sender: E2EKeys, to_name: str, ts: int = 1) -> E2EMessage:
    """What an honest server sends for ``whisper``: the box untouched, the sender's bundle."""
    bundle = sender.bundle(sender_name)
    return E2EMessage(sender_name, to_name, ts, bundle.key, bundle.identity, bundle.signature,
                      whisper.nonce, whisper.box)


def lookup(keys: E2EKeys, name: str, pins=None):
    bundle = keys.bundle(name)
    return accept_user_key(UserKey(name, bundle.key, bundle.identity, bundle.signature),
                           pins, HOST, PORT)


# -- the bundle -------------------------------------------------------------------------


def test_the_bundle_signs_the_key_and_the_name_with_the_user_identity():
    bundle = ALICE.bundle("Émile")
    assert bundle == sign_bundle(ALICE.identity, ALICE.public, "Émile")
    SigningKey(bytes([1]) * 32).verify_key.verify(
        E2E_CONTEXT + ALICE.public + "Émile".encode(), bundle.signature)
    verify_bundle("Émile", bundle)
    login = ALICE.login("Émile")
    assert Bundle.of_login(login) == bundle
    assert decode_message(encode_message(login)) == login


@pytest.mark.parametrize("forgery", ["other name", "other key", "other identity", "bad bits"])
def test_a_bundle_the_server_changed_fails_its_signature(forgery):
    bundle = ALICE.bundle("alice")
    forged = {
        # Alice's real bundle handed out as Bob's: the name is signed too.
        "other name": ("bob", bundle),
        # The server's own key under Alice's identity and signature.
        "other key": ("alice", dataclasses.replace(bundle, key=MALLORY.public)),
        # Mallory's identity with Alice's signature.
        "other identity": ("alice", dataclasses.replace(
            bundle, identity=MALLORY.bundle("x").identity)),
        "bad bits": ("alice", dataclasses.replace(
            bundle, signature=bytes([bundle.signature[0] ^ 1]) + bundle.signature[1:])),
    }[forgery]
    with pytest.raises(E2EError) as err:
        verify_bundle(*forged)
    assert err.value.code == "bad_signature"


def test_a_low_order_e2e_key_is_bad_key_even_when_signed():
    low_order = bytes(32)
    bundle = sign_bundle(ALICE.identity, low_order, "alice")
    with pytest.raises(E2EError) as err:
        verify_bundle("alice", bundle)
    assert err.value.code == "bad_key"


def test_each_session_gets_a_fresh_e2e_key_under_one_identity():
    identity = SigningKey.generate()
    one, two = E2EKeys(identity), E2EKeys(identity)
    assert one.public != two.public
    assert one.bundle("a").identity == two.bundle("a").identity


# -- the box ----------------------------------------------------------------------------


def test_the_box_is_crypto_box_of_the_compact_inner_json():
    nonce = bytes(range(24))
    whisper = seal_whisper(ALICE.secret, BOB.public, "alice", "bob", "psst", nonce=nonce)
    inner = b'{"from":"alice","to":"bob","text":"psst"}'
    assert inner_body("alice", "bob", "psst") == inner
    assert whisper.box == crypto_box_easy(inner, nonce, BOB.public, ALICE.secret_bytes)
    assert len(whisper.box) == 16 + len(inner)
    assert whisper.to == "bob" and whisper.nonce == nonce


def test_the_nonce_is_random_unless_given():
    one = seal_whisper(ALICE.secret, BOB.public, "alice", "bob", "psst")
    two = seal_whisper(ALICE.secret, BOB.public, "alice", "bob", "psst")
    assert one.nonce != two.nonce and one.box != two.box


names = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd")),
                min_size=1, max_size=20)
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                max_size=2000).filter(lambda t: not any(0x202A <= ord(c) <= 0x202E
                                                        or 0x2066 <= ord(c) <= 0x2069 for c in t))


@settings(max_examples=60)
@given(names, names, texts)
def test_any_whisper_opens_for_the_recipient_and_for_the_sender(sender, to, text):
    whisper = seal_whisper(ALICE.secret, BOB.public, sender, to, text)
    assert decode_message(encode_message(whisper)) == whisper  # any text fits the box limit
    expected = parse_inner(inner_body(sender, to, text))
    assert (expected.sender, expected.to, expected.text) == (sender, to, text)
    assert open_box(BOB.secret, ALICE.public, whisper.nonce, whisper.box) == expected
    assert open_box(ALICE.secret, BOB.public, whisper.nonce, whisper.box) == expected


def test_a_third_party_or_a_flipped_bit_cannot_open_it():
    whisper = seal_whisper(ALICE.secret, BOB.public, "alice", "bob", "psst")
    for secret, peer, box in (
        (MALLORY.secret, ALICE.public, whisper.box),
        (BOB.secret, MALLORY.public, whisper.box),
        (BOB.secret, ALICE.public, whisper.box[:-1] + bytes([whisper.box[-1] ^ 1])),
    ):
        with pytest.raises(E2EError) as err:
            open_box(secret, peer, whisper.nonce, box)
        assert err.value.code == "e2e_decrypt_failed"


@pytest.mark.parametrize("inner", [
    b"", b"[]", b'{"from":"a","to":"b"}', b'{"from":"a","to":"b","text":"x","ts":1}',
    b'{"from":"a b","to":"b","text":"x"}', b'{"from":"a","to":"b","text":""}',
    b'{"from":"a","to":"b","text":"\\u001b[2J"}', b'{"from":"a","to":"b","text":"x","text":"y"}',
])
def test_an_inner_that_is_not_a_whisper_is_refused(inner):
    nonce = bytes(24)
    box = crypto_box_easy(inner, nonce, BOB.public, ALICE.secret_bytes)
    with pytest.raises(E2EError) as err:
        open_box(BOB.secret, ALICE.public, nonce, box)
    assert err.value.code == "e2e_bad_inner"


# -- the receiver's four checks ---------------------------------------------------------


def test_the_recipient_verifies_pins_opens_and_checks_the_names(tmp_path):
    pins = UserPinStore(tmp_path / "known_users")
    bob_peer = lookup(BOB, "Bob")
    whisper = seal_whisper(ALICE.secret, bob_peer.key, "alice", bob_peer.name, "psst")
    msg = relay(whisper, "alice", ALICE, "Bob")
    opened = open_e2e_message(msg, BOB, pins=pins, host=HOST, port=PORT)
    assert (opened.sender, opened.to, opened.text, opened.ts) == ("alice", "Bob", "psst", 1)
    assert opened.peer.name == "alice" and opened.peer.pin == "new"
    assert opened.peer.fingerprint == fingerprint(bytes(ALICE.identity.verify_key))
    again = open_e2e_message(msg, BOB, pins=pins, host=HOST, port=PORT)
    assert again.peer.pin == "known"


def test_the_sender_opens_its_own_copy_with_the_key_it_looked_up():
    bob_peer = lookup(BOB, "bob")
    whisper = seal_whisper(ALICE.secret, bob_peer.key, "alice", "bob", "psst")
    msg = relay(whisper, "alice", ALICE, "bob")
    opened = open_e2e_message(msg, ALICE, pins=None, host=HOST, port=PORT, recipient=bob_peer)
    assert opened.text == "psst" and opened.peer == bob_peer
    with pytest.raises(E2EError) as err:
        open_e2e_message(msg, ALICE, pins=None, host=HOST, port=PORT)
    assert err.value.code == "e2e_no_peer_key"


def test_a_whisper_to_oneself_opens_without_a_lookup():
    whisper = seal_whisper(ALICE.secret, ALICE.public, "alice", "alice", "note to self")
    msg = relay(whisper, "alice", ALICE, "alice")
    assert open_e2e_message(msg, ALICE, pins=None, host=HOST, port=PORT).text == "note to self"


def test_a_redirected_or_reflected_whisper_is_refused_never_shown():
    # Alice whispers to Bob; the server tells Bob it came from alice to carol (redirect),
    # and reflects Bob's own whisper to Alice back to Bob as if Alice had sent it.
    to_bob = seal_whisper(ALICE.secret, BOB.public, "alice", "bob", "psst")
    redirected = relay(to_bob, "alice", ALICE, "carol")
    with pytest.raises(E2EError) as err:
        open_e2e_message(redirected, BOB, pins=None, host=HOST, port=PORT)
    assert err.value.code == "e2e_misrouted" and "psst" not in str(err.value)
    from_bob = seal_whisper(BOB.secret, ALICE.public, "bob", "alice", "hi alice")
    reflected = relay(from_bob, "alice", ALICE, "bob")
    with pytest.raises(E2EError) as err:
        open_e2e_message(reflected, BOB, pins=None, host=HOST, port=PORT)
    assert err.value.code == "e2e_misrouted" and "hi alice" not in str(err.value)


def test_a_substituted_sender_key_fails_before_anything_is_opened():
    whisper = seal_whisper(MALLORY.secret, BOB.public, "alice", "bob", "send money")
    msg = dataclasses.replace(relay(whisper, "alice", ALICE, "bob"), key=MALLORY.public)
    with pytest.raises(E2EError) as err:
        open_e2e_message(msg, BOB, pins=None, host=HOST, port=PORT)
    assert err.value.code == "bad_signature"


def test_a_new_identity_for_a_pinned_user_opens_marked_changed_with_both_fingerprints(tmp_path):
    pins = UserPinStore(tmp_path / "known_users")
    lookup(ALICE, "alice", pins)  # first contact pins Alice's identity
    # The server (or a new computer) presents another identity for "alice".
    impostor = seal_whisper(MALLORY.secret, BOB.public, "alice", "bob", "hi, it's me")
    opened = open_e2e_message(relay(impostor, "alice", MALLORY, "bob"), BOB, pins=pins,
                              host=HOST, port=PORT)
    assert opened.peer.pin == "changed"
    assert opened.peer.known_fingerprint == fingerprint(bytes(ALICE.identity.verify_key))
    assert opened.peer.fingerprint == fingerprint(bytes(MALLORY.identity.verify_key))
    assert lookup(ALICE, "ALICE", pins).pin == "known"  # the pin is per name key, kept


# -- user pins --------------------------------------------------------------------------


def test_user_pins_file_format_per_server_and_name_key(tmp_path):
    pins = UserPinStore(tmp_path / "known_users")
    assert pins.check("127.0.0.1", 7777, "Alice", b"A" * 32) == "new"
    assert pins.check("localhost", 7777, "alice", b"B" * 32) == "new"
    assert UserPinStore(tmp_path / "known_users").check("127.0.0.1", 7777, "ALICE", b"A" * 32) \
        == "known"
    assert (tmp_path / "known_users").read_text().splitlines() == [
        f"127.0.0.1:7777 alice {'41' * 32}", f"localhost:7777 alice {'42' * 32}"]
    if POSIX:
        assert (tmp_path / "known_users").stat().st_mode & 0o777 == 0o600
    assert pins.forget("localhost", 7777, "Alice") and not pins.forget("localhost", 7777, "x")
    assert pins.check("localhost", 7777, "alice", b"C" * 32) == "new"


def test_user_pins_home_default(monkeypatch, tmp_path):
    monkeypatch.setenv("SOCKETLAB_HOME", str(tmp_path))
    assert UserPinStore().path == tmp_path / "known_users"


# -- the key log ------------------------------------------------------------------------


def test_e2e_key_log_lines_are_written_read_back_and_kept_apart(tmp_path):
    path = tmp_path / "client.log"
    writer = KeyLogWriter(path)
    writer.write(b"\x01" * 32, b"\x02" * 32)
    writer.write_e2e(ALICE.public, ALICE.secret_bytes)
    assert path.read_text().splitlines()[1] == \
        f"SOCKETLAB_E2E {ALICE.public.hex()} {ALICE.secret_bytes.hex()}"
    assert read_keylog(path) == {b"\x01" * 32: b"\x02" * 32}
    assert read_e2e_keylog(path) == {ALICE.public: ALICE.secret_bytes}
    if POSIX:
        assert path.stat().st_mode & 0o777 == 0o600


def test_an_e2e_line_whose_secret_is_not_its_public_keys_names_its_line():
    text = f"# c\nSOCKETLAB_E2E {ALICE.public.hex()} {BOB.secret_bytes.hex()}\n"
    for parse in (parse_keylog, parse_e2e_keylog):
        with pytest.raises(KeyLogError) as err:
            parse(text)
        assert err.value.line_no == 2

"""Step 1: the server signs each handshake with its identity."""

from conftest import student_server_joined
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from socketlab.client import ChatClient, ChatError
from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import IdentityError, Message, PinStore

# docs/protocol.md section 10: the fixed keys, and the signature in the server_hello vector.
VECTOR_IDENTITY = SigningKey(bytes(range(201, 233)))
VECTOR_CLIENT_KEY = bytes(PrivateKey(bytes(range(1, 33))).public_key)
VECTOR_SERVER_KEY = bytes(PrivateKey(bytes(range(101, 133))).public_key)
VECTOR_SIGNATURE = bytes.fromhex(
    "8ba8ab2976295df762e1a3a3baad9ba0446a17b2ae9808083ead2af1dc424e1c"
    "44c6b396077320cbfb4638e1c57a3ee51b08e648d897991b2c8f73ebb154c900")


def test_sign_hello_vector(identity_module):
    """sign_hello with the keys of docs/protocol.md §10 makes §10's signature, byte for byte"""
    got = harness.call_with_timeout(identity_module.sign_hello, VECTOR_IDENTITY,
                                    VECTOR_CLIENT_KEY, VECTOR_SERVER_KEY, timeout=3)
    assert isinstance(got, bytes) and len(got) == 64, (
        _("sign_hello returned {size} bytes").format(size=len(got)) if isinstance(got, bytes) else
        _("sign_hello returned {got!r:.80}").format(got=got)) + _(
        ": the signature is 64 bytes — keep only "
        ".signature of what identity.sign() returns (it is followed by the data) — README step 1")
    assert got == VECTOR_SIGNATURE, _(
        "sign_hello signed something else: got {got}…, expected "
        "{expected}… (the server_hello vector of §10). Sign exactly "
        "HELLO_CONTEXT + client_key + server_key, in that order, the raw 32-byte keys — "
        "README step 1").format(got=got.hex()[:32], expected=VECTOR_SIGNATURE.hex()[:32])


def test_kit_client_accepts_your_server(tmp_path):
    """the kit's ChatClient checks your server's signature, pins it, logs in and chats"""
    module = harness.load("chat_server.py")
    identity = SigningKey.generate()
    with student_server_joined(lambda listener: module.serve(listener, identity)) as address:
        client = ChatClient(*address, pins=PinStore(tmp_path / "known_servers"), timeout=3,
                            e2e=False)
        try:
            try:
                client.connect()
                client.login("kit")
            except (IdentityError, ChatError) as error:
                raise AssertionError(harness.why(_(
                    "the kit's client refused your server: {code}: {message}. "
                    "server_hello's signature must verify over HELLO_CONTEXT + the client's "
                    "key + your server's key — README step 1"
                ).format(code=error.code, message=error.message))) from None
            assert client.pin_status == "new", _("the kit's client pinned: {status}").format(
                status=client.pin_status)
            client.say("signed and sealed")
            said = client.events.get(timeout=3)
            assert isinstance(said, Message) and said.text == "signed and sealed", harness.why(_(
                "the kit's client said 'signed and sealed' and got back {said}").format(said=said))
        finally:
            client.close()

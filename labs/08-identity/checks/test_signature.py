"""Step 2: the client checks the server's signature over both keys of the handshake."""

from conftest import code_of, refusal, server_hello_for
from nacl.signing import SigningKey

from socketlab.labs.harness import _
from socketlab.protocol import ClientConnection


def _handshake() -> tuple[bytes, dict]:
    """Our hello's key, and an honest server_hello for it made by the kit's ServerConnection."""
    client = ClientConnection("box")
    hello = client.hello()
    assert client.client_key is not None
    return client.client_key, server_hello_for(hello, SigningKey.generate())


def test_good_signature_accepted(identity_module):
    """a server_hello signed by its identity (the kit's server makes it) is accepted"""
    client_key, hello = _handshake()
    error = refusal(lambda: identity_module.verify_hello(
        hello["identity"], client_key, hello["key"], hello["signature"]), "verify_hello")
    assert error is None, _(
        "verify_hello refused an honest server_hello: {code}: {error}. "
        "Verify HELLO_CONTEXT + client_key + server_key (ours first, the raw bytes) with "
        "VerifyKey(identity) — README step 2").format(code=code_of(error), error=error)


def test_swapped_key_refused(identity_module):
    """a server_hello whose key was swapped, or signed by another identity, is refused: bad_signature"""
    client_key, hello = _handshake()
    other = server_hello_for(ClientConnection("box").hello(), SigningKey.generate())
    forgeries = {
        _("the server's key swapped for a man in the middle's"):
            (hello["identity"], client_key, other["key"], hello["signature"]),
        _("our own key swapped (the server signed someone else's hello)"):
            (hello["identity"], other["key"], hello["key"], hello["signature"]),
        _("another identity presented with the real signature"):
            (other["identity"], client_key, hello["key"], hello["signature"]),
    }
    for what, args in forgeries.items():
        error = refusal(lambda args=args: identity_module.verify_hello(*args), "verify_hello")
        assert error is not None, _(
            "verify_hello accepted a forged server_hello ({what}): a man in the middle "
            "would read everything. Verify the signature over HELLO_CONTEXT + client_key + "
            "server_key — README step 2").format(what=what)
        assert code_of(error) == "bad_signature", _(
            "verify_hello refused a forgery ({what}) with {code}: {error}; "
            "expected ProtocolError('bad_signature', ...) — catch BadSignatureError — README step 2"
        ).format(what=what, code=code_of(error), error=error)

"""identity.py (given): the server's long-term key, and the signature over each handshake."""

import sys

import pytest
from nacl.public import PrivateKey

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import signed_transcript


@pytest.mark.given
def test_identity_kept_and_signature_verifies(tmp_path):
    """the identity is made once, kept readable by its owner only, and signs the two keys as §4 says"""
    module = harness.load("identity.py")
    path = tmp_path / "server_identity.key"
    identity = module.load_or_create_identity(path)
    assert module.load_or_create_identity(path).verify_key == identity.verify_key, \
        _("a second start must load the same identity")
    if sys.platform != "win32":
        assert path.stat().st_mode & 0o077 == 0, _(
            "the identity file must be readable by its owner only")
    client_key, server_key = (bytes(PrivateKey.generate().public_key) for _key in range(2))
    signature = module.sign_hello(identity, client_key, server_key)
    identity.verify_key.verify(signed_transcript(client_key, server_key), signature)

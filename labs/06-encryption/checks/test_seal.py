"""Step 2: seal() puts one inner frame under a fresh random nonce."""

import os

from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import SocketlabError
from socketlab.protocol.secure import open_any_nonce


def test_kit_opens_what_you_seal(secure_module):
    """what seal() makes is nonce (24) + MAC (16) + ciphertext, and the kit opens it"""
    key = os.urandom(32)
    channel = secure_module.SecureChannel(key, "client")
    body = b'{"type":"say","text":"hi"}'
    sealed = harness.call_with_timeout(channel.seal, body, timeout=2)
    size = 24 + 16 + 4 + len(body)
    assert isinstance(sealed, bytes) and len(sealed) == size, _(
        "seal() of a {length}-byte body gave {got}"
        " bytes; expected {size}: 24 nonce + 16 MAC + the inner frame (its 4-byte length, "
        "then the body: HEADER.pack(len(body)) + body) — README step 2"
    ).format(length=len(body), size=size,
             got=len(sealed) if isinstance(sealed, bytes) else repr(sealed))
    try:
        inner = open_any_nonce(key, sealed)
    except SocketlabError as error:
        raise AssertionError(_(
            "the kit could not open what seal() made ({code}): the nonce comes first, "
            "then what crypto_box_easy_afternm(plaintext, nonce, key) returns — README step 2"
        ).format(code=error.code)) from None
    assert inner == [body], _(
        "inside the sealed frame the kit found {inner!r}, expected one inner frame holding "
        "{body!r} (HEADER.pack(len(body)) + body) — README step 2").format(inner=inner, body=body)


def test_same_body_sealed_twice_differs(secure_module):
    """the same body sealed twice gives two different nonces and ciphertexts"""
    channel = secure_module.SecureChannel(os.urandom(32), "server")
    first, second = (channel.seal(b'{"type":"who"}') for _time in range(2))
    assert first[:24] != second[:24] and first[24:] != second[24:], _(
        "seal() used the same nonce twice, so the same message looks the same on the wire (and "
        "two messages under one nonce leak their XOR): a fresh nacl.utils.random(24) per call "
        "— README step 2")

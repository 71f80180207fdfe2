"""Step 0 (given): lab 06's random nonces let the proxy's replay through: a message said twice."""

import pytest

from socketlab.i18n import N_
from socketlab.inspector.proxy import Proxy
from socketlab.labs import harness
from socketlab.labs.harness import _

STEP = N_("README step 0")


@pytest.mark.given
def test_replay_works_against_random_nonces(start_server):
    """with lab 06's RandomNonceChannel, a replayed say reaches bob twice (the attack works)"""
    server = start_server("RandomNonceChannel")
    chat_client = harness.load("chat_client.py")
    random_nonces = chat_client.RandomNonceChannel
    bob = chat_client.ChatSession.connect(*server, "bob", channel_class=random_nonces)
    try:
        with Proxy(target=server, tamper="replay", frame=2) as proxy:
            alice = chat_client.ChatSession.connect(*proxy.address, "alice",
                                                    channel_class=random_nonces)
            try:
                alice.say("pay bob 10 euros")
                said = []
                while (msg := bob.receive(1.0)) is not None:
                    if msg.get("type") == "message":
                        said.append(msg["text"])
                    if len(said) == 2:
                        break
            finally:
                alice.close()
    finally:
        bob.close()
    assert said == ["pay bob 10 euros"] * 2, harness.why(_(
        "bob got {said}: with random nonces the replayed frame decrypts again and the server "
        "says it twice — the starter's RandomNonceChannel and --random-nonces are given code "
        "({step})").format(said=said, step=_(STEP)))


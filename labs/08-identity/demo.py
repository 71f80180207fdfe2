"""What ``socketlab lab sniff 08`` runs: the man-in-the-middle attack, and its failure.

Three clients of yours meet your server at one address (a port of the demo's
own, in front of the server). First an honest relay listens there: alice's
first contact pins the server's identity. Then ``socketlab proxy --mitm``
takes over the port: bob, run with verify=False, chats through it and the
proxy reads every word; alice, who pinned the real identity, is refused.
The capture shows what reached the server: three sessions, the last two the
proxy's own, and the last one with no login at all.
"""

import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nacl.signing import SigningKey

from socketlab.inspector.events import Intercepted
from socketlab.inspector.proxy import Proxy
from socketlab.labs import harness

AS = "socketlab"  # box sessions: the key log (your server writes it) decrypts them


def start(target: Path) -> tuple[tuple[str, int], Callable[[], None]]:
    """The student's ``serve()`` with a fresh identity on a listener of our own."""
    module = harness.load("chat_server.py")
    listener = socket.create_server(("127.0.0.1", 0))
    identity = SigningKey.generate()
    harness.run_in_thread(module.serve, listener, identity, name="chat-server")
    return listener.getsockname(), listener.close


def run_clients(target: Path, address: tuple[str, int]) -> None:
    """alice pins through an honest relay; bob (verify=False) is read by the mitm; alice is refused."""
    client = harness.load("chat_client.py")
    with tempfile.TemporaryDirectory(prefix="socketlab-lab08-") as folder:
        home = Path(folder)
        with Proxy("127.0.0.1", 0, address) as honest:
            port = honest.address[1]
            alice = client.ChatSession.connect("127.0.0.1", port, "alice", home=home)
            print(f"1. alice's first contact with 127.0.0.1:{port}: pinned {alice.fingerprint}")
            alice.say("hello, real server")
            alice.receive(3)
            alice.close()
        # The attacker takes over the address (the honest relay is gone).
        with Proxy("127.0.0.1", port, address, mitm=True) as mitm:
            print(f"   the man in the middle now listens on 127.0.0.1:{port}, as "
                  f"{mitm.mitm_fingerprint}")
            bob = client.ChatSession.connect("127.0.0.1", port, "bob", verify=False, home=home)
            bob.say("my password is hunter2")
            bob.receive(3)
            bob.close()
            read = [e.message for e in mitm.events()
                    if isinstance(e, Intercepted) and e.direction == "c2s"]
            print(f"2. bob (verify=False) met {bob.fingerprint} and chatted; the proxy read: "
                  + ", ".join(type(m).__name__.lower() + (f" {m.text!r}" if hasattr(m, "text")
                                                          else "") for m in read))
            time.sleep(0.05)  # apart, so each session shows on its own
            try:
                client.ChatSession.connect("127.0.0.1", port, "alice", home=home)
            except Exception as error:  # noqa: BLE001 - the refusal is what the demo shows
                print(f"3. alice again, pinned: refused ({getattr(error, 'code', error)}):")
                print("   " + str(getattr(error, "message", error)).replace("\n", "\n   "))
            else:
                print("3. alice again, pinned: she got in — the pin check is missing (README step 6)")

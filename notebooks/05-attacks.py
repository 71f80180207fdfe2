# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Attacks
#
# Encryption alone is not security. This notebook attacks a real socketlab
# server, on your machine, four ways:
#
# 1. a **man in the middle** against a client started with `--no-verify`;
# 2. the same attack against a client that **pinned** the server's identity;
# 3. **replaying** a sealed frame the attacker cannot read;
# 4. **reflecting** a server's frame back to the server.
#
# For each, **predict** whether it works before you run the cell. The
# attacker is the inspector's proxy (`socketlab proxy --mitm`) for the first
# two, and a hand-made client built from `socketlab.protocol` for the others;
# at the end the proxy's tamper modes do the same to a real client's session.

# %%
import socket
import tempfile
import threading
import time
from pathlib import Path

from socketlab.client import ChatClient
from socketlab.client.chat_client import ChatError
from socketlab.client.events import Disconnected
from socketlab.inspector.events import Data, Intercepted
from socketlab.inspector.proxy import Proxy
from socketlab.protocol import (
    ClientConnection,
    Error,
    FrameDecoder,
    IdentityError,
    Left,
    Login,
    Message,
    PinStore,
    ProtocolError,
    Say,
    SecureChannel,
    Welcome,
    encode_frame,
    parse_sealed,
)
from socketlab.server import ChatServer

threads_before = set(threading.enumerate())  # the last cell checks we leave none behind
work = Path(tempfile.mkdtemp(prefix="socketlab-nb05-"))
pins = PinStore(work / "known_servers")  # not your real ~/.socketlab
server = ChatServer("127.0.0.1", 0)
server.start()
print("the real server's fingerprint:", server.fingerprint)
started = []  # everything to close in the last cell


def join(address, name, **options):
    chat = ChatClient(*address, pins=pins, **options)
    started.append(chat)
    chat.connect()
    chat.login(name)
    return chat


def events_until(chat, match, timeout=10.0):
    """The client's events up to and including the first that ``match`` accepts."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen.append(chat.events.get(timeout=max(0.01, deadline - time.monotonic())))
        if match(seen[-1]):
            return seen
    raise TimeoutError("the expected event did not come")


def wait_for(chat, match, timeout=10.0):
    return events_until(chat, match, timeout)[-1]


# %% [markdown]
# ## 1. A man in the middle, and a client that does not check
#
# The attacking proxy sits where the clients think the server is. It answers
# each `hello` with its **own** ephemeral key (signed by its own identity),
# opens its own session to the real server, and re-seals every message in
# both directions: it holds both session keys.
#
# **Predict:** Alice and Bob use `verify=False` (`socketlab client
# --no-verify`). Does their chat still work? Can the attacker read it?

# %%
attacker = Proxy("127.0.0.1", 0, server.address, mitm=True)
attacker.start()
started.append(attacker)
alice = join(attacker.address, "alice", verify=False)
bob = join(attacker.address, "bob", verify=False)
alice.say("the password is swordfish")
got = wait_for(bob, lambda e: isinstance(e, Message))
loot = [e.message for e in attacker.events() if isinstance(e, Intercepted)]
print("bob got:", got.text)
print("alice saw the fingerprint", alice.server_fingerprint)
print("the attacker read:", [m for m in loot if isinstance(m, (Login, Say))])
assert got.text == "the password is swordfish"  # the chat works ...
assert Say("the password is swordfish") in loot  # ... and the attacker read every word
assert alice.server_fingerprint == attacker.mitm_fingerprint != server.fingerprint
wire = b"".join(e.data for e in attacker.events() if isinstance(e, Data))
assert b"swordfish" not in wire  # still ciphertext on the wire: only the attacker reads it

# %% [markdown]
# Everything *looked* encrypted, and was: to the attacker. The only visible
# difference was the server's fingerprint, and nobody looked at it.
#
# ## 2. The same attack against a client that pinned the server
#
# A client remembers the identity of each `host:port` the first time it
# connects (trust on first use, like `ssh`). Carol first connects while the
# network is honest (an honest proxy, on the port the attacker will take over
# later), then the attacker replaces it on the same port.
#
# **Predict:** what happens when Carol connects again?

# %%
honest = Proxy("127.0.0.1", 0, server.address)
honest.start()
carol = join(honest.address, "carol")
print("first visit:", carol.pin_status, carol.server_fingerprint)
carol.close()
port = honest.address[1]
honest.stop()

impostor = Proxy("127.0.0.1", port, server.address, mitm=True)
impostor.start()
started.append(impostor)
victim = ChatClient("127.0.0.1", port, pins=pins)
try:
    victim.connect()
except IdentityError as exc:
    refused = exc
    print(exc)
else:
    refused = None
    victim.close()
assert refused is not None and refused.code == "identity_changed"
assert (refused.known, refused.offered) == (server.fingerprint, impostor.mitm_fingerprint)

# %% [markdown]
# The impostor cannot sign the handshake with the real server's identity key,
# so it had to show its own, and Carol's client refused before sending a
# single message. (The first visit is the weak spot of trust on first use:
# an attacker present *then* would be pinned instead. Comparing the
# fingerprint with the one the server prints closes that gap.)
#
# ## 3. Replay: the same sealed frame, twice
#
# Mallory cannot read or forge sealed frames. But she can *copy* one. A
# frame that says "transfer 100 coins" is just as valid the second time, as
# far as encryption goes: same key, same nonce, same MAC.
#
# Here Mallory is a hand-made client: `ClientConnection` (the protocol's
# state machine) over a raw socket, keeping every frame the server sends.


# %%
class Mallory:
    """The protocol's client state machine over a raw socket; keeps every frame received."""

    def __init__(self, address):
        self.sock = socket.create_connection(address, timeout=10)
        self.conn = ClientConnection()
        self.frames = FrameDecoder()
        self.bodies = []  # every frame body the server sent, as on the wire
        self.got = []  # what they meant
        self.sock.sendall(self.conn.hello())
        self.read_until(lambda: self.conn.established)

    def read_until(self, done):
        """Read until ``done()``; return False if the server hung up first."""
        while not done():
            data = self.sock.recv(65536)
            self.bodies += self.frames.feed(data) if data else []
            self.got += self.conn.receive_data(data)
            if not data:
                return False
        return True

    def login(self, name):
        self.sock.sendall(self.conn.send(Login(name)))
        self.read_until(lambda: any(isinstance(m, Welcome) for m in self.got))


dave = join(server.address, "dave")  # an honest bystander in the room
mallory = Mallory(server.address)
mallory.login("mallory")
order = mallory.conn.send(Say("transfer 100 coins to mallory"))
mallory.sock.sendall(order)
assert mallory.read_until(lambda: any(isinstance(m, Message) for m in mallory.got))

# %% [markdown]
# **Predict:** Mallory now sends `order`, the very same bytes, again. What
# does the server answer, and how many times does Dave see the transfer?

# %%
mallory.sock.sendall(order)
mallory.read_until(lambda: False)  # until the server hangs up
mallory.sock.close()
errors = [m for m in mallory.got if isinstance(m, Error)]
print("the server answered:", errors)
dave_saw = events_until(dave, lambda e: isinstance(e, Left) and e.name == "mallory")
print("dave saw:", dave_saw)
assert [e.code for e in errors] == ["replayed"]
assert dave_saw[-1].reason == "replayed"
assert [e.text for e in dave_saw if isinstance(e, Message)] == ["transfer 100 coins to mallory"]

# %% [markdown]
# The frame decrypted fine: its nonce said "client frame 1", and the server
# had already received client frame 1. Dave saw the transfer once, then
# Mallory leaving, with the reason.
#
# ## 4. Reflection: the server's own frame, sent back
#
# Both directions of a Box share one key. So a frame the server sealed for
# Mallory also decrypts *at the server*.
#
# **Predict:** Mallory sends the server's `welcome` frame back to it,
# untouched. Does the server accept its own words?

# %%
mallory = Mallory(server.address)
mallory.login("mallory")
welcome = mallory.bodies[1]  # [0] is the plaintext server_hello
print("sending back:", parse_sealed(welcome).direction, "frame", parse_sealed(welcome).counter)
mallory.sock.sendall(encode_frame(welcome))
mallory.read_until(lambda: False)
mallory.sock.close()
errors = [m for m in mallory.got if isinstance(m, Error)]
print("the server answered:", errors)
assert [e.code for e in errors] == ["reflected"]
assert wait_for(dave, lambda e: isinstance(e, Left) and e.name == "mallory").reason == "reflected"

# %% [markdown]
# The MAC verified (same key), and then the nonce's first byte gave it away:
# `S`, a server frame, arriving at the server.
#
# ## All four nonce rules at once
#
# The same checks, in memory, with two `SecureChannel`s. **Predict** each
# code before you run it.

# %%
key = bytes(range(32))
client, receiver = SecureChannel(key, "client"), SecureChannel(key, "server")
first, second = client.seal(b"\x00\x00\x00\x0e" + b'{"type":"who"}'), client.seal(b"x")
cases = {
    "second before first": second,
    "one of the server's own": SecureChannel(key, "server").seal(b"x"),
    "the first, in order": first,
    "the first, again": first,
}
for what, frame in cases.items():
    try:
        receiver.open(frame)
        outcome = "accepted"
    except ProtocolError as exc:
        outcome = exc.code
    cases[what] = outcome
    print(f"{what:26} -> {outcome}")
assert list(cases.values()) == ["reordered", "reflected", "accepted", "replayed"]

# %% [markdown]
# ## The same attacks, by the proxy, against the real client
#
# The inspector's proxy can do each of these to one frame of a live session
# (`socketlab proxy --replay|--reorder|--reflect|--flip --frame N`). Here it
# changes the 2nd frame after the handshake of an ordinary `ChatClient`
# (for `reflect`: the server's 2nd frame, sent back to the server), while the
# client logs in and says two lines. Dave, still in the room, sees why each
# victim left.
#
# **Predict** the reason Dave sees for each mode. And for `reflect`, what
# does the *client* notice, now that one of the server's frames never
# reached it?

# %%
expected = {"replay": "replayed", "reorder": "reordered", "reflect": "reflected",
            "flip": "decrypt_failed"}
server_says, client_says = {}, {}
for mode in expected:
    with Proxy("127.0.0.1", 0, server.address, tamper=mode, frame=2, seed=1) as tamperer:
        victim = ChatClient(*tamperer.address, pins=pins)
        victim.connect()
        victim.login(f"victim-{mode}")
        try:
            victim.say("one")
            victim.say("two")
        except ChatError:
            pass  # the server may have hung up already
        name = victim.name
        gone = wait_for(dave, lambda e, name=name: isinstance(e, Left) and e.name == name)
        server_says[mode] = gone.reason
        client_says[mode] = wait_for(victim, lambda e: isinstance(e, Disconnected)).reason
        victim.close()
    print(f"{mode:8} server: {server_says[mode]:15} client: {client_says[mode]}")
assert server_says == expected
assert client_says["reflect"].startswith("reordered")  # a hole in the server's counters

# %% [markdown]
# The client caught the reflection too, from its own side: the server's
# frame 2 never arrived, so frame 3 came "too early". Counters make a
# missing frame as visible as a repeated one.

# %% [markdown]
# ## Clean up

# %%
for thing in reversed(started):
    if isinstance(thing, ChatClient):
        thing.close()
    else:
        thing.stop()
server.stop()
kernel = ("zmq.", "ipykernel.")  # Jupyter's own threads (pyzmq's garbage collector) come and go
left = [t.name for t in set(threading.enumerate()) - threads_before
        if t.is_alive() and not type(t).__module__.startswith(kernel)]
assert not left, left
print("no thread left behind")

# %% [markdown]
# **On your machine:** with `socketlab server` running, start
# `socketlab proxy --listen 8888 --target 127.0.0.1:7777 --mitm` and connect
# `socketlab client --port 8888 --no-verify` to it: attack 1, live, with the
# attacker's view in the proxy's terminal (see the inspector guide).
# Labs 07 and 08 build the nonce rules and the pinning that stopped attacks
# 2 to 4.

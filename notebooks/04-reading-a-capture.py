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
# # 04 · Reading a capture
#
# A capture (`.pcap`) is what Wireshark, tcpdump and `socketlab sniff` write:
# every packet, with its time. This notebook makes one of a real chat and
# reads it back, first as an outsider (ciphertext), then with the **key log**
# the server wrote (plaintext, side by side with the bytes), and draws the
# conversation as a **ladder diagram**.
#
# Capturing live needs capture rights (root, or Npcap on Windows). This
# notebook needs none: the chat goes through the inspector's **proxy**, which
# relays the bytes and records them, and the recording is written out as a
# pcap. Wireshark opens it the same way.

# %%
# %matplotlib inline
import tempfile
import threading
import time
from pathlib import Path

from IPython.display import display

import socketlab.labs
from socketlab.client import ChatClient
from socketlab.inspector import charts
from socketlab.inspector.chart_inputs import (
    connections,
    frames_of,
    ladder_events,
    message_sizes,
)
from socketlab.inspector.decode import Chunk, Frame
from socketlab.inspector.pipeline import read_pcap
from socketlab.inspector.proxy import Proxy
from socketlab.inspector.synth import write_pcap
from socketlab.inspector.view import render
from socketlab.protocol import Message, PinStore, Whisper, read_keylog
from socketlab.server import ChatServer

threads_before = set(threading.enumerate())  # the last cell checks we leave none behind
work = Path(tempfile.mkdtemp(prefix="socketlab-nb04-"))
pins = PinStore(work / "known_servers")  # not your real ~/.socketlab

# %% [markdown]
# ## Record a chat
#
# A server that writes a key log (`keylog=`, like `socketlab server --keylog
# keys.log`) and also accepts one plaintext session, a proxy in front of it,
# and three clients: Alice and Bob encrypted, Eve in plaintext.

# %%
server = ChatServer("127.0.0.1", 0, allow_plaintext=True, keylog=work / "keys.log")
server.start()
proxy = Proxy("127.0.0.1", 0, server.address)
proxy.start()


def join(name, mode="box"):
    chat = ChatClient(*proxy.address, mode=mode, pins=pins)
    chat.connect()
    chat.login(name)
    return chat


def wait_for(chat, match, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = chat.events.get(timeout=max(0.01, deadline - time.monotonic()))
        if match(event):
            return event
    raise TimeoutError("the expected event did not come")


alice, bob = join("alice"), join("bob")
alice.say("hello, class")
alice.whisper("bob", "meet me after the lecture")
wait_for(bob, lambda e: isinstance(e, Message) and e.to == "bob")
eve = join("eve", mode="plain")
eve.say("this line travels in plaintext")
wait_for(bob, lambda e: isinstance(e, Message) and e.sender == "eve")
for chat in (eve, bob, alice):
    chat.close()
proxy.stop()
server.stop()
pcap = work / "capture.pcap"
packets = write_pcap(pcap, proxy.events())
print(f"{packets} packets in {pcap}, key log {work / 'keys.log'}")

# %% [markdown]
# ## As an outsider sees it
#
# **Predict:** we search the pcap file's bytes for Alice's whisper and for
# Eve's line. Which one is there?

# %%
raw = pcap.read_bytes()
print("whisper found:", b"meet me after the lecture" in raw)
print("Eve's line found:", b"this line travels in plaintext" in raw)
assert b"meet me after the lecture" not in raw
assert b"this line travels in plaintext" in raw

# %% [markdown]
# The inspector reads the pcap like Wireshark would: it puts the TCP segments
# back in order, finds the frames, and decodes what it can. Without keys the
# handshake is readable (it is plaintext by design), the rest of Alice's
# session is not.
#
# **Predict:** what does the inspector show for Alice's `login` frame?

# %%
outsider = list(read_pcap(pcap, None))
first = connections(frames_of(outsider))[0]
for block in render([f for f in frames_of(outsider) if f.conn == first][:3]):
    print(block)
sealed = [f for f in frames_of(outsider) if f.kind == "sealed"]
assert sealed and not any(f.messages for f in sealed)  # seen, not read

# %% [markdown]
# Alice's second frame (`#2 client → server`) is her `login`, but all we see
# is a nonce (`43` = `C`, counter 0), a MAC and a ciphertext exactly as long
# as the login it hides.
#
# ## With the key log
#
# The key log has one line per session: the client's public key (which the
# capture shows in the `hello`) and the session key. With it, the inspector
# opens every sealed frame, exactly as the receiver did.
#
# **Predict:** in which frame(s) will we find the whisper, and how many
# times does it cross the wire?

# %%
keys = read_keylog(work / "keys.log")
print(len(keys), "sessions in the key log")
insider = list(read_pcap(pcap, keys))
whispers = [f for f in frames_of(insider)
            if any(isinstance(m, Whisper) or (isinstance(m, Message) and m.to) for m in f.messages)]
for block in render(whispers):
    print(block)
assert any(Whisper("bob", "meet me after the lecture") in f.messages for f in whispers)
assert len(whispers) == 3  # in from Alice; out to Bob and back to Alice

# %% [markdown]
# Left, the bytes as captured; right, what they mean. The whisper crosses the
# wire three times: Alice's `whisper` to the server, and the server's
# `message` to Bob and back to Alice, each sealed with *that* connection's key.
#
# ## The conversation as a ladder
#
# One arrow per frame of Alice's connection, time flowing down.
#
# **Predict:** the first four arrows?

# %%
frames = frames_of(insider)
alice_conn = connections(frames)[0]
events = ladder_events(frames, alice_conn)
display(charts.ladder(events, client="alice", server="server"))
assert [e.label for e in events[:4]] == ["hello", "server_hello", "login", "welcome"]

# %% [markdown]
# And what encryption costs per message, from the same capture (each
# decrypted frame against the plaintext frame it carried):

# %%
sizes = message_sizes(frames)
display(charts.bytes_per_message(sizes))
assert all(row.box_bytes > row.plain_bytes for row in sizes)

# %% [markdown]
# ## A lab's reference capture
#
# Every lab ships `capture/reference.pcap`, made from its solution, for
# students who cannot capture. Lab 01's is an echo server: no frames at all,
# so the inspector shows raw bytes per direction.
#
# **Predict:** what do the server's bytes look like next to the client's?

# %%
reference = Path(socketlab.labs.__file__).parent / "01-echo" / "capture" / "reference.pcap"
echo = list(read_pcap(reference, None))
chunks = [c for c in echo if isinstance(c, Chunk)]
for block in render(echo[:6]):
    print(block)
sent = b"".join(c.data for c in chunks if c.direction == "c2s")
back = b"".join(c.data for c in chunks if c.direction == "s2c")
assert sent and back == sent and not any(isinstance(i, Frame) for i in echo)

# %% [markdown]
# ## Clean up

# %%
kernel = ("zmq.", "ipykernel.")  # Jupyter's own threads (pyzmq's garbage collector) come and go
left = [t.name for t in set(threading.enumerate()) - threads_before
        if t.is_alive() and not type(t).__module__.startswith(kernel)]
assert not left, left
print("no thread left behind; files in", work)

# %% [markdown]
# **On your machine:** `socketlab read capture.pcap --keylog keys.log` prints
# the same view. In Wireshark, `socketlab wireshark` tells you where to put
# socketlab's dissector, which shows every frame's fields (nonce direction
# and counter, MAC, ciphertext length; the handshake decoded).

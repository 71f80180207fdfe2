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
# # 03 · Threads at work
#
# The socketlab server gives every client **two** threads: `reader-NAME`
# waits in `recv` and runs the chat rules, `writer-NAME` sends what was
# queued for that client. One `accept` thread lets people in. This notebook
# starts the real server *inside this notebook*, with `trace` on, lets three
# clients chat, and draws what every thread did over time. Then one client
# stops reading, and we watch the server protect everybody else from it.
#
# Everything runs on 127.0.0.1 on free ports, and the last cell stops it all.
# **Predict before each cell.**

# %%
# %matplotlib inline
import queue
import socket
import tempfile
import threading
import time
from pathlib import Path

from IPython.display import display

from socketlab.client import ChatClient
from socketlab.inspector import charts
from socketlab.inspector.chart_data import build_timeline
from socketlab.inspector.trace_file import read_trace
from socketlab.protocol import ClientConnection, Left, Login, Message, PinStore
from socketlab.server import ChatServer, FloodLimits

threads_before = set(threading.enumerate())  # the last cell checks we leave none behind
work = Path(tempfile.mkdtemp(prefix="socketlab-nb03-"))
pins = PinStore(work / "known_servers")  # not your real ~/.socketlab


def wait_for(client, match, timeout=10.0):
    """The first event on the client's queue that ``match`` accepts (others are dropped)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = client.events.get(timeout=left)
        except queue.Empty:
            break
        if match(event):
            return event
    raise TimeoutError("the expected event did not come")


# %% [markdown]
# ## A server and three clients
#
# `sendq` is the most a client may have waiting for it (here 256 KiB);
# flood control is off because in this notebook a program types, not a
# person.
#
# **Predict:** with three clients logged in, how many new threads does this
# notebook's process run? Which names?

# %%
server = ChatServer("127.0.0.1", 0, trace=work / "server.jsonl",
                    flood=FloodLimits(rate=0), sendq=256 * 1024)
server.start()
port = server.address[1]
clients = {}
for name in ("alice", "bob", "carol"):
    chat = ChatClient("127.0.0.1", port, pins=pins, trace=work / f"client-{name}.jsonl")
    chat.connect()
    chat.login(name)
    clients[name] = chat
alice, bob, carol = clients.values()
new = sorted(t.name for t in set(threading.enumerate()) - threads_before)
print(len(new), new)
for name in clients:
    assert {f"reader-{name}", f"writer-{name}"} <= set(new)
assert new.count("accept") == 1 and new.count("receive") == 3  # one per client object

# %% [markdown]
# Seven server threads (one `accept`, a reader and a writer per client) and
# three `receive` threads, one in each `ChatClient`, which put every message
# on the client's `events` queue.
#
# ## A little chat, traced
#
# Alice says 20 lines. **Predict:** in the timeline below, which server
# threads are busy while a line goes out, and in what order?

# %%
for i in range(20):
    alice.say(f"line {i}")
for reader in (bob, carol):
    got = [wait_for(reader, lambda e: isinstance(e, Message)).text for _ in range(20)]
    assert got == [f"line {i}" for i in range(20)]  # everything, in order
server.trace.flush()
for chat in clients.values():
    chat.tracer.flush()
records = read_trace(sorted(work.glob("*.jsonl")))
display(charts.thread_timeline(records, title="Three clients, twenty lines"))
lanes = {lane.label for lane in build_timeline(records).lanes}
assert {"server · reader-alice", "server · writer-bob", "server · accept"} <= lanes

# %% [markdown]
# Follow Alice's lines: `reader-alice` leaves `recv` (blue), handles each `say`
# (green) by queueing one frame per client, then takes its turn to send them
# (orange) with *non-blocking* sends, and goes back to `recv`. The
# `writer-…` threads only wait on their queues (pink): a writer steps in
# only when its client's socket is full. The clients' `receive` threads wake
# up right after each send.
#
# ## A client that stops reading
#
# Mallory logs in by hand (the handshake from `socketlab.protocol` over a raw
# socket, with a tiny receive buffer) and then **never calls `recv` again**.
# Alice whispers her long lines, 2,000 characters each. Every 100 whispers
# Alice also says a short "tick" to the room.
#
# **Predict:** what happens to Mallory? Does Bob still get every tick, and
# how fast? (A seed-style server, which sends to everyone from the reader's
# thread under one lock, would freeze here for *everyone*: notebook 06.)

# %%
mallory = socket.socket()
mallory.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
mallory.connect(("127.0.0.1", port))
mallory.settimeout(10)
conn = ClientConnection()
mallory.sendall(conn.hello())
while not conn.established:
    conn.receive_data(mallory.recv(65536))
mallory.sendall(conn.send(Login("mallory")))  # ... and from here on it never reads

# %% [markdown]
# Now the whispers: the loop stops as soon as Bob hears that Mallory left.

# %%
long_text = "x" * 2000
ticks, dropped, started = 0, None, time.monotonic()
bob_heard = []  # the lines Bob received meanwhile
for i in range(4000):  # 8 MB at most; the server gives up long before
    alice.whisper("mallory", long_text)
    if i % 100 == 99:
        alice.say(f"tick {ticks}")
        ticks += 1
        try:
            while dropped is None:
                event = bob.events.get(timeout=0.5 if i % 500 == 499 else 0.001)
                if isinstance(event, Message):
                    bob_heard.append(event.text)
                elif isinstance(event, Left) and event.name == "mallory":
                    dropped = event
        except queue.Empty:
            pass
    if dropped:
        break
print(f"after {i + 1} whispers ({(i + 1) * 2000 / 1e6:.1f} MB) and "
      f"{time.monotonic() - started:.1f} s: {dropped}")
assert dropped is not None and dropped.reason == "sendq_exceeded"

# %% [markdown]
# The server queued Mallory's whispers while the kernel's buffers filled; once
# more than `sendq` bytes waited, it dropped Mallory (`sendq_exceeded`) and
# told the room. Did anyone else wait?
#
# **Predict:** how many ticks did Bob get, and how long does a new line take
# to reach him now?

# %%
alice.say("are we still fast?")
sent = time.monotonic()
while not bob_heard or bob_heard[-1] != "are we still fast?":
    bob_heard.append(wait_for(bob, lambda e: isinstance(e, Message)).text)
latency = time.monotonic() - sent
print(f"{len(bob_heard) - 1} ticks, then the new line after {latency * 1000:.1f} ms")
assert bob_heard == [f"tick {n}" for n in range(ticks)] + ["are we still fast?"]
assert latency < 2.0

# %% [markdown]
# ## Stop everything, and look at the whole run
#
# Closing the clients, then the server (which joins every thread it started),
# flushes the traces. In the chart, find `writer-mallory`: once Mallory's
# socket was full, it took over her frames and sat in `sendall` (orange)
# while her queue grew behind it, until the server dropped her. Meanwhile
# `reader-alice` kept handling and the other lanes went on.

# %%
mallory.close()
for chat in clients.values():
    chat.close()
server.stop()
records = read_trace(sorted(work.glob("*.jsonl")))
display(charts.thread_timeline(records, title="The whole run: Mallory stops reading"))
kernel = ("zmq.", "ipykernel.")  # Jupyter's own threads (pyzmq's garbage collector) come and go
left = [t.name for t in set(threading.enumerate()) - threads_before
        if t.is_alive() and not type(t).__module__.startswith(kernel)]
assert not left, left
print("every thread stopped; traces in", work)

# %% [markdown]
# **Try it yourself:** `socketlab server --trace server.jsonl`, two
# `socketlab client --trace …` windows, chat, then
# `socketlab chart threads server.jsonl client-*.jsonl -o threads.png`.
# Lab 03 builds the thread-per-client server; lab 09 builds the bounded queue
# and the writer thread that saved Bob here.

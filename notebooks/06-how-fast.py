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
# # 06 · How fast?
#
# Two chat servers, the same protocol:
#
# - the **seed-style** server most student chats start as (`bench/
#   baseline_server.py`): a thread per client, and a broadcast that calls
#   `sendall` on every client's socket while holding one lock (in box mode it
#   also seals each copy under that lock);
# - **socketlab's** server: the chat rules under the lock, sending after it,
#   frames sealed in batches, a bounded queue and a writer thread per client.
#
# The load comes from the benchmark's generator (`bench/loadgen.py`): one
# separate process that logs in N encrypted clients, lets two of them send as
# fast as the server takes it, and counts every delivery. Each run is short
# (one second measured), so the whole notebook takes well under a minute, and
# the figures are rough: the other programs on your machine move them.
# `python -m bench` measures properly (see the performance guide).

# %%
# %matplotlib inline
import sys
import threading
from pathlib import Path

from IPython.display import display
from matplotlib.figure import Figure

sys.path.insert(0, str(Path.cwd().parent))  # bench/ runs from the checkout, next to notebooks/
from bench.baseline_server import BaselineServer
from bench.loadgen import run_load
from bench.loadworker import LoadSpec
from socketlab.server import ChatServer, FloodLimits

threads_before = set(threading.enumerate())  # the last cell checks we leave none behind


def make(kind, **options):
    """A started server of either kind (flood control off: the load is a program)."""
    if kind == "seed-style":
        server = BaselineServer("127.0.0.1", 0)
    else:
        server = ChatServer("127.0.0.1", 0, flood=FloodLimits(rate=0), **options)
    server.start()
    return server


def measure(kind, **load):
    server = make(kind)
    try:
        return run_load(LoadSpec(server.address, mode="box", senders=2, windows=(64,),
                                 warmup=0.2, duration=1.0, drain_timeout=3.0, **load))
    finally:
        server.stop()


# %% [markdown]
# ## Fan-out
#
# One message said in a room of N people is N deliveries. We count
# deliveries per second at 5, 20 and 50 clients.
#
# **Predict:** as N grows, do deliveries per second go up, down, or stay
# flat? Which server do you expect ahead, and does the answer change with N?

# %%
sizes = [5, 20, 50]
results = {kind: [measure(kind, clients=n) for n in sizes] for kind in ("seed-style", "socketlab")}
for kind, runs in results.items():
    print(f"{kind:11}", "  ".join(f"{n}: {r.deliveries_per_s:8,.0f}/s" for n, r in
                                    zip(sizes, runs, strict=True)))
    for run in runs:
        assert run.drained and run.lost == run.duplicates == run.out_of_order == 0

# %%
fig = Figure(figsize=(8, 4.5), layout="constrained")
ax = fig.subplots()
for kind, colour in (("seed-style", "#0072B2"), ("socketlab", "#E69F00")):
    ax.plot(sizes, [r.deliveries_per_s for r in results[kind]], "o-", label=kind, color=colour)
ax.set_xlabel("clients in the room")
ax.set_ylabel("deliveries per second")
ax.set_title("Fan-out, encrypted, two senders (1 s per point)", loc="left", fontweight="bold")
ax.set_ylim(bottom=0)
ax.legend(frameon=False)
ax.spines[["top", "right"]].set_visible(False)
display(fig)

# %% [markdown]
# Both servers delivered every message, once and in order, at every size:
# that is what the `assert`s above checked. Deliveries per second grow with
# the room, because one `say` fans out into more deliveries while the reading
# and the chat rules are paid once. socketlab's batches (one seal and one
# `send` for many messages to the same client) help most while the room is
# small enough for one core; on two shared cores the lines can cross,
# and one short run is noisy. Re-run the cell and see how much they move.
#
# ## One client stops reading
#
# Speed while everyone reads is the easy part. Now one of ten clients logs in
# and never reads again (`silent=1`): the generator first whispers it 4 MB,
# which fills its socket buffers, then measures the room.
#
# **Predict:** what does each server deliver to the nine others?

# %%
stalled = {kind: measure(kind, clients=10, silent=1, prefill_bytes=4_000_000,
                         prefill_timeout=2.0)
           for kind in ("seed-style", "socketlab")}
for kind, run in stalled.items():
    print(f"{kind:11} {run.deliveries_per_s:8,.0f} deliveries/s, lost {run.lost}, "
          f"the silent client: {run.left or 'still there'}")
seed, ours = stalled["seed-style"], stalled["socketlab"]
assert not seed.prefilled and seed.deliveries_per_s < 0.05 * ours.deliveries_per_s
assert ours.prefilled and ours.lost == 0 and list(ours.left.values()) == ["sendq_exceeded"]

# %% [markdown]
# The seed-style server froze for **everyone**: its broadcast holds the lock
# inside a `sendall` to the client that does not read, and every other
# reader thread waits for that lock. socketlab queued the silent client's
# frames apart, dropped it once more than `sendq` (1 MiB) waited, and the
# nine others lost nothing. Notebook 03 shows the same thing thread by
# thread; lab 09 is where you build it.
#
# ## Clean up

# %%
kernel = ("zmq.", "ipykernel.")  # Jupyter's own threads (pyzmq's garbage collector) come and go
left = [t.name for t in set(threading.enumerate()) - threads_before
        if t.is_alive() and not type(t).__module__.startswith(kernel)]
assert not left, left
print("no thread left behind; the load generator's process has exited")

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
# # 01 · Bytes on the wire
#
# TCP carries a **stream of bytes**, not messages. One `sendall` can arrive in
# several `recv`s, and two `sendall`s can arrive in one. This notebook shows
# both on real sockets on your own machine (127.0.0.1, free ports, nothing to
# install, no root), then shows how socketlab marks where a message ends: a
# **frame**, a 4-byte length followed by the body.
#
# Before each code cell, **write down what you expect**, then run it. The
# cells check themselves with `assert`: if one fails, something is not as this
# page says, and that is worth knowing. (Lab 01 and lab 02 build the same
# thing by hand.)

# %%
import socket
import threading

from socketlab.protocol import (
    HEADER_SIZE,
    MAX_FRAME,
    FrameDecoder,
    ProtocolError,
    Say,
    decode_message,
    encode_frame,
    encode_message,
)

threads_before = set(threading.enumerate())  # the last cell checks we leave none behind

# %% [markdown]
# ## A server that writes down every `recv`
#
# `recorder` listens on a free port (port 0: the system picks one), accepts one
# connection, waits until we tell it to start reading (`go`), then records what
# each `recv(bufsize)` returns until the client closes. It runs in a daemon
# thread, so it can never keep this notebook alive.


# %%
def recorder(bufsize, go):
    """Start a one-connection server; return (port, the list it records into, its thread)."""
    listener = socket.create_server(("127.0.0.1", 0))
    chunks = []

    def serve():
        with listener:
            conn, _ = listener.accept()
            with conn:
                go.wait(10)  # read only once the client has sent everything
                while data := conn.recv(bufsize):
                    chunks.append(data)

    thread = threading.Thread(target=serve, name="recorder", daemon=True)
    thread.start()
    return listener.getsockname()[1], chunks, thread


# %% [markdown]
# ## Two sends, one receive?
#
# The client calls `sendall(b"hello")`, then `sendall(b"world")`, and only then
# lets the server read with `recv(65536)`.
#
# **Predict:** how many items will `chunks` hold, and what is in them?

# %%
go = threading.Event()
port, chunks, thread = recorder(65536, go)
with socket.create_connection(("127.0.0.1", port)) as sock:
    sock.sendall(b"hello")
    sock.sendall(b"world")
    go.set()
thread.join(10)
print(chunks)
assert chunks == [b"helloworld"], chunks  # two messages merged into one recv

# %% [markdown]
# One `recv`, both messages, glued together: the receiver cannot tell where
# `hello` ended. A server that takes "one `recv` = one message" would have
# handled a single message `helloworld`.
#
# ## One send, many receives?
#
# Now the other way round: one `sendall` of 4,000 bytes, read with
# `recv(1000)`.
#
# **Predict:** how many chunks this time?

# %%
message = bytes(range(250)) * 16  # 4,000 bytes
go = threading.Event()
port, chunks, thread = recorder(1000, go)
with socket.create_connection(("127.0.0.1", port)) as sock:
    sock.sendall(message)
    go.set()
thread.join(10)
print([len(c) for c in chunks])
assert b"".join(chunks) == message  # every byte, in order: TCP's promise
assert len(chunks) >= 4  # ... but in pieces no larger than each recv asked for

# %% [markdown]
# TCP promises every byte, once, in order. It promises nothing about how the
# bytes are grouped. Over the internet the pieces depend on packet sizes and
# timing too: a message of 100 bytes can come as 60 + 40.
#
# ## A frame marks where a message ends
#
# socketlab puts a 4-byte big-endian length in front of every body. Here is
# one `say` message as it travels in plaintext.
#
# **Predict:** what are the first four bytes of the frame, in hex?

# %%
body = encode_message(Say("hello, class"))
frame = encode_frame(body)
print(body)
print(frame[:HEADER_SIZE].hex(" "), "|", frame[HEADER_SIZE:].hex(" "))
assert frame[:HEADER_SIZE] == len(body).to_bytes(4, "big")
assert len(frame) == HEADER_SIZE + len(body)

# %% [markdown]
# ## The decoder does not care how the bytes are cut
#
# `FrameDecoder` is *sans-I/O*: feed it whatever bytes arrived, in whatever
# pieces, and it returns each body once it is whole.
#
# **Predict:** after feeding only the first 3 bytes of the frame, what does
# `feed` return? And if we feed the rest of the stream one byte at a time?

# %%
stream = b"".join(encode_frame(encode_message(Say(t))) for t in ("one", "two", "three"))
decoder = FrameDecoder()
print("after 3 bytes:", decoder.feed(stream[:3]))
bodies = []
for i in range(3, len(stream)):
    bodies += decoder.feed(stream[i : i + 1])
print([decode_message(b) for b in bodies])
assert [decode_message(b) for b in bodies] == [Say("one"), Say("two"), Say("three")]
assert decoder.buffered == 0  # nothing left over

# %% [markdown]
# And merged: all three frames in one piece give all three bodies in one call.

# %%
assert FrameDecoder().feed(stream) == bodies

# %% [markdown]
# ## Both at once, on a real socket
#
# The client sends three frames with **one** `sendall` (merged); the server
# reads with `recv(7)` (split: 7 bytes is not even one frame) and decodes with
# a `FrameDecoder`.
#
# **Predict:** how many `recv` calls, and how many messages?

# %%
texts = ["first", "second, a little longer", "third"]
go = threading.Event()
port, chunks, thread = recorder(7, go)
with socket.create_connection(("127.0.0.1", port)) as sock:
    sock.sendall(b"".join(encode_frame(encode_message(Say(t))) for t in texts))
    go.set()
thread.join(10)
decoder = FrameDecoder()
received = [decode_message(b) for chunk in chunks for b in decoder.feed(chunk)]
print(len(chunks), "recv calls ->", received)
assert received == [Say(t) for t in texts]

# %% [markdown]
# ## What a frame refuses
#
# The length is checked **before** the body arrives, so a peer cannot make us
# wait for (or allocate) 4 GiB by announcing it. A zero length is refused too,
# and a stream that ends inside a frame is an error, not a short message.
#
# **Predict:** which error code does each line raise?

# %%
for name, data, close in [
    ("4 GiB announced", b"\xff\xff\xff\xff", False),
    ("length 0", b"\x00\x00\x00\x00", False),
    ("cut short", encode_frame(b'{"type":"who"}')[:-3], True),
]:
    decoder = FrameDecoder()
    try:
        decoder.feed(data)
        if close:
            decoder.close()
    except ProtocolError as exc:
        print(f"{name:16} -> {exc.code}")
        code = exc.code
    else:
        code = None
    assert code == {"4 GiB announced": "frame_too_large", "length 0": "frame_empty",
                    "cut short": "frame_truncated"}[name]
print("largest body allowed:", MAX_FRAME, "bytes")

# %% [markdown]
# ## Clean up
#
# Every server above was a daemon thread that ended when its client closed.
# This cell checks that none is left.

# %%
kernel = ("zmq.", "ipykernel.")  # Jupyter's own threads (pyzmq's garbage collector) come and go
left = [t.name for t in set(threading.enumerate()) - threads_before
        if t.is_alive() and not type(t).__module__.startswith(kernel)]
assert not left, left
print("no thread left behind")

# %% [markdown]
# **Next:** notebook 02 seals these frames (encryption you can see). To watch
# the same bytes on a live connection: `socketlab proxy --chunk 1` cuts every
# write into single bytes, which is how lab 02's checks test your framing.

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
# # 02 · Encryption you can see
#
# socketlab seals every message after the handshake with PyNaCl's **Box**
# (X25519 key agreement, XSalsa20 encryption, a Poly1305 MAC). This notebook
# opens the box: the shared key, the 24-byte nonce and what it says, the MAC,
# what ciphertext looks like byte by byte, and what happens to a message when
# one bit of it is changed on the way.
#
# Everything runs in memory with the same `socketlab.protocol` code the server
# and the client use. **Predict before each cell**; the `assert`s check the
# answers.

# %%
# %matplotlib inline
from IPython.display import display
from nacl.public import Box, PrivateKey

from socketlab.inspector import charts
from socketlab.inspector.chart_data import MessageSize, entropy
from socketlab.protocol import (
    MAC_SIZE,
    NONCE_SIZE,
    Joined,
    Login,
    Message,
    ProtocolError,
    Say,
    SecureChannel,
    Who,
    decode_message,
    encode_frame,
    encode_message,
    parse_sealed,
)

# %% [markdown]
# ## Two key pairs, one shared key
#
# Each side makes a fresh X25519 key pair for this session and sends only the
# public half, in plaintext, in the handshake (`hello`, `server_hello`).
#
# **Predict:** the client combines *its secret* with the *server's public key*;
# the server combines *its secret* with the *client's public key*. Do they get
# the same 32 bytes?

# %%
client_secret, server_secret = PrivateKey.generate(), PrivateKey.generate()
client_key = Box(client_secret, server_secret.public_key).shared_key()
server_key = Box(server_secret, client_secret.public_key).shared_key()
print("client computes:", client_key.hex())
print("server computes:", server_key.hex())
assert client_key == server_key and len(client_key) == 32

# %% [markdown]
# Someone watching the wire saw both public keys and still cannot compute this
# key: that needs one of the secrets, which never left their side.
#
# ## Sealing one message
#
# A `SecureChannel` seals what its side sends. What it seals is one or more
# *inner frames* (4-byte length + JSON body, as in notebook 01).
#
# **Predict:** the plaintext is 40-odd bytes. How long is the sealed body, and
# how much longer than the plaintext is the ciphertext part?

# %%
client = SecureChannel(client_key, "client")
server = SecureChannel(server_key, "server")
plaintext = encode_frame(encode_message(Say("meet me at noon")))
sealed = client.seal(plaintext)
parts = parse_sealed(sealed)
print(f"plaintext  {len(plaintext):3} bytes  {plaintext!r}")
print(f"nonce      {len(parts.nonce):3} bytes  {parts.nonce.hex(' ')}")
print(f"           direction {parts.direction!r}, counter {parts.counter}")
print(f"MAC        {len(parts.mac):3} bytes  {parts.mac.hex(' ')}")
print(f"ciphertext {len(parts.ciphertext):3} bytes  {parts.ciphertext.hex(' ')}")
assert len(parts.ciphertext) == len(plaintext)  # a stream cipher: no padding
assert len(sealed) == NONCE_SIZE + MAC_SIZE + len(plaintext)
assert (parts.direction, parts.counter) == ("client", 0)

# %% [markdown]
# The nonce is not random: byte 0 says who sent it (`C`, 0x43, client to
# server), bytes 16–23 count the frames this side has sealed. The receiver
# accepts only the *next* counter of the *other* direction (notebook 05 shows
# why).
#
# **Predict:** does the server get back exactly the message that was sealed?

# %%
(body,) = server.open_bodies(sealed)
print(decode_message(body))
assert decode_message(body) == Say("meet me at noon")

# %% [markdown]
# ## The same text, sealed again
#
# **Predict:** the client seals the very same plaintext a second time. Same
# ciphertext as before?

# %%
again = client.seal(plaintext)
parts_again = parse_sealed(again)
print("counter", parts_again.counter, parts_again.ciphertext.hex(" "))
assert parts_again.counter == 1
assert parts_again.ciphertext != parts.ciphertext  # a new nonce, a new keystream

# %% [markdown]
# A different nonce gives a different keystream, so an observer cannot even
# tell that the same line was said twice.
#
# ## What ciphertext looks like
#
# Two hundred chat lines, as plaintext frames and as the ciphertexts that carry
# them. The histogram counts how often each byte value 0–255 occurs; entropy
# (in bits per byte) says how unpredictable the bytes are: 8.0 is perfectly
# random.
#
# **Predict:** which byte values does JSON text use? Roughly what entropy do
# you expect for each?

# %%
words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dogs", "while", "alice",
         "and", "bob", "chat", "about", "sockets"]
lines = [" ".join(words[(i * 7 + j) % len(words)] for j in range(3 + i % 6)) for i in range(200)]
sender = SecureChannel(client_key, "client")
plain = b"".join(encode_frame(encode_message(Say(line))) for line in lines)
cipher = b"".join(parse_sealed(sender.seal(encode_frame(encode_message(Say(line))))).ciphertext
                  for line in lines)
display(charts.byte_histogram(plain, cipher))
print(f"entropy: plaintext {entropy(plain):.2f}, ciphertext {entropy(cipher):.2f} bits/byte")
assert entropy(cipher) > 7.5 and entropy(plain) < 6.0
assert max(plain[4:]) < 0x80 and max(cipher) >= 0x80  # JSON here is ASCII; ciphertext is not

# %% [markdown]
# Plaintext lives in the printable-ASCII band (and mostly in lower-case
# letters); ciphertext spreads evenly over all 256 values. That flat histogram
# is what "looks random" means, and it is what a capture of a socketlab
# session shows after the handshake.
#
# ## One flipped bit
#
# XSalsa20 is a *stream cipher*: ciphertext = plaintext XOR keystream. So an
# attacker who knows (or guesses) the plaintext can flip chosen bits of the
# ciphertext and the same bits flip in the plaintext, **without knowing the
# key**. Here the attacker turns "noon" into "moon" by XOR-ing one byte.
#
# **Predict:** what does the server do with the forged frame?

# %%
position = NONCE_SIZE + MAC_SIZE + plaintext.index(b"noon")
forged = bytearray(again)
forged[position] ^= ord("n") ^ ord("m")  # one byte, two bits
keystream = bytes(c ^ p for c, p in zip(parts_again.ciphertext, plaintext, strict=True))
without_mac = bytes(c ^ k for c, k in zip(forged[NONCE_SIZE + MAC_SIZE :], keystream,
                                          strict=True))
print("what XOR alone would deliver:", without_mac)
assert b"meet me at moon" in without_mac  # the attack works on the cipher alone
try:
    server.open(bytes(forged))
except ProtocolError as exc:
    print("the server says:", exc.code, "-", exc)
    refused = exc.code
else:
    refused = None
assert refused == "decrypt_failed"

# %% [markdown]
# The Poly1305 MAC is computed over the ciphertext with a one-time key derived
# from the session key and the nonce. The attacker cannot recompute it, so any
# change, even one bit, fails the check and the frame is thrown away **before**
# anything is decrypted. The real frame is still accepted afterwards:

# %%
(body,) = server.open_bodies(again)
assert decode_message(body) == Say("meet me at noon")

# %% [markdown]
# **Predict:** and if the attacker changes the *nonce* instead, say the
# counter, to make an old frame look new?

# %%
renumbered = bytearray(client.seal(plaintext))  # counter 2, the one the server expects
renumbered[NONCE_SIZE - 1] ^= 1  # counter 3
try:
    server.open(bytes(renumbered))
except ProtocolError as exc:
    refused = exc.code
print(refused)
assert refused == "decrypt_failed"  # the nonce is authenticated too

# %% [markdown]
# ## What encryption costs on the wire
#
# Every sealed frame carries a 24-byte nonce and a 16-byte MAC.
#
# **Predict:** how many bytes does encryption add to each message?

# %%
rows = []
for msg in (Login("alice"), Who(), Say("hi"), Joined("carol"),
            Message("alice", "meet me at noon", 1764000000000)):
    plain_frame = encode_frame(encode_message(msg))
    box_frame = encode_frame(SecureChannel(client_key, "client").seal(plain_frame))
    rows.append(MessageSize(msg.TYPE, len(plain_frame), len(box_frame)))
display(charts.bytes_per_message(rows))
assert {r.box_bytes - r.plain_bytes for r in rows} == {4 + NONCE_SIZE + MAC_SIZE}

# %% [markdown]
# 44 bytes per frame: the nonce, the MAC, and the inner frame's own 4-byte
# length (the outer frame's length is there in plaintext too). A busy server
# seals a *batch* of messages in one frame and pays that once.
#
# **Next:** notebook 03 puts a real server to work and watches its threads;
# notebook 05 attacks the handshake and replays frames.

"""Both ends of a chat connection as sans-I/O state machines (after h11).

Bytes in, messages out; messages in, bytes out. No sockets, threads or
clocks: the caller reads and writes, these objects only decide what the bytes
mean. Each side starts in plaintext; the handshake (``hello`` then
``server_hello``) either switches both to a ``SecureChannel`` ("box") or,
where the server allows it, stays in plaintext ("plain").

The server signs ``IDENTITY_CONTEXT || client key || server key`` with its
long-term Ed25519 identity, so a client that knows the identity can tell a
man in the middle that substituted its own ephemeral key.
"""

from __future__ import annotations

from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import Box, PrivateKey, PublicKey
from nacl.signing import SigningKey, VerifyKey

from .errors import IdentityError, LocalProtocolError, ProtocolError
from .framing import MAX_FRAME, FrameDecoder, encode_frame
from .messages import (
    PROTOCOL_VERSION,
    AnyMessage,
    Error,
    Hello,
    ServerHello,
    decode_message,
    encode_message,
)
from .secure import SEAL_OVERHEAD, Role, SecureChannel, batch_frames

IDENTITY_CONTEXT = b"socketlab/1 server hello\x00"


def signed_transcript(client_key: bytes, server_key: bytes) -> bytes:
    """What the server's identity signs: the context and both ephemeral keys."""
    return IDENTITY_CONTEXT + client_key + server_key


def frame_message(msg: AnyMessage) -> bytes:
    """``msg`` encoded and framed once, for ``send_frames`` to as many peers as need it."""
    return encode_frame(encode_message(msg))


def session_key(own: PrivateKey, peer_key: bytes) -> bytes:
    """X25519 then HSalsa20 (libsodium's ``crypto_box_beforenm``); ``bad_key`` for a
    key libsodium refuses: a low-order point (all zero, ...) gives a known, all-zero
    shared secret, so anyone could read the session."""
    try:
        return Box(own, PublicKey(peer_key)).shared_key()
    except CryptoError:
        raise ProtocolError(
            "bad_key", "the X25519 key is a low-order point (it would give a known session key)"
        ) from None


class _Connection:
    role: Role

    def __init__(self, mode: str, ephemeral: PrivateKey | None, max_frame: int) -> None:
        if mode not in ("box", "plain"):
            raise LocalProtocolError("bad_mode", "mode must be 'box' or 'plain'")
        self.mode = mode
        self.established = False
        self.client_key: bytes | None = None
        self.session_key: bytes | None = None
        self._ephemeral = ephemeral
        self._decoder = FrameDecoder(max_frame)
        self._max_frame = max_frame
        self._channel: SecureChannel | None = None

    def _start_channel(self, own: PrivateKey, peer_key: bytes) -> None:
        self.session_key = session_key(own, peer_key)
        self._channel = SecureChannel(self.session_key, self.role)

    def send(self, msg: AnyMessage) -> bytes:
        """The bytes that carry ``msg`` to the peer (sealed once the channel is up)."""
        return self.send_bodies([encode_message(msg)])

    def send_body(self, body: bytes) -> bytes:
        """Frame (and seal) one already-encoded body; lets a broadcast encode once."""
        return self.send_bodies([body])

    def send_bodies(self, bodies: list[bytes]) -> bytes:
        """Frame already-encoded bodies; in box mode seal as many per frame as fit."""
        return self.send_frames([encode_frame(body, self._max_frame) for body in bodies])

    def send_frames(self, frames: list[bytes]) -> bytes:
        """The wire bytes for messages already framed (``frame_message``).

        Plain: the frames as they are. Box: as many frames as fit are sealed
        together, as the inner frames of one sealed frame: one nonce, one MAC
        and one call into libsodium instead of one per message. A broadcast
        encodes and frames its message once; only the sealing is per peer.
        """
        channel = self._channel
        if channel is None:
            return b"".join(frames)
        limit = self._max_frame - SEAL_OVERHEAD
        if len(frames) == 1 and len(frames[0]) <= limit:  # a quiet server's usual case
            return channel.seal_frame(frames[0])
        batches = batch_frames(frames, limit)
        if len(batches) == 1:
            return channel.seal_frame(batches[0])
        return b"".join([channel.seal_frame(batch) for batch in batches])

    def receive_data(self, data: bytes) -> list[AnyMessage]:
        """Feed bytes from the peer (``b""`` at end of stream); return whole messages.

        A ``ProtocolError`` ends the conversation: the peer broke the protocol
        and what else arrived in the same read is not looked at.
        """
        if not data:
            self._decoder.close()
            return []
        messages = []
        for body in self._decoder.feed(data):
            if self._channel is not None:
                messages += [decode_message(inner) for inner in self._channel.open_bodies(body)]
            elif self.established:
                messages.append(decode_message(body))
            else:
                messages.append(self._handle(decode_message(body)))
        return messages

    def _handle(self, msg: AnyMessage) -> AnyMessage:
        raise NotImplementedError  # each side defines its own handshake


class ClientConnection(_Connection):
    """The client's side: sends ``hello``, checks the server's signed answer."""

    role: Role = "client"

    def __init__(
        self,
        mode: str = "box",
        *,
        ephemeral: PrivateKey | None = None,
        max_frame: int = MAX_FRAME,
    ) -> None:
        super().__init__(mode, ephemeral, max_frame)
        self.server_identity: bytes | None = None
        self._hello_sent = False

    def hello(self) -> bytes:
        """The first frame to send: our mode and (for box) a fresh public key."""
        if self._hello_sent:
            raise LocalProtocolError("unexpected_message", "hello was already sent")
        self._hello_sent = True
        if self.mode == "box":
            self._ephemeral = self._ephemeral or PrivateKey.generate()
            self.client_key = bytes(self._ephemeral.public_key)
        return encode_frame(encode_message(Hello(self.mode, self.client_key)))

    def send_frames(self, frames: list[bytes]) -> bytes:
        if not self.established:
            raise LocalProtocolError("not_established", "finish the handshake before sending")
        return super().send_frames(frames)

    def _handle(self, msg: AnyMessage) -> AnyMessage:
        if isinstance(msg, Error):
            return msg  # e.g. plaintext_refused, server_full: the caller shows it
        if not isinstance(msg, ServerHello) or not self._hello_sent:
            raise ProtocolError("unexpected_message", f"expected server_hello, got {msg.TYPE}")
        if msg.version != PROTOCOL_VERSION:
            raise ProtocolError("bad_version", f"server speaks version {msg.version}")
        if msg.mode != self.mode:
            raise ProtocolError("unexpected_message", f"asked for {self.mode}, got {msg.mode}")
        if self.mode == "box":
            if msg.key is None or msg.identity is None or msg.signature is None:
                raise ProtocolError(
                    "bad_message", "a box server_hello needs key, identity, signature"
                )
            assert self._ephemeral is not None and self.client_key is not None
            try:
                VerifyKey(msg.identity).verify(
                    signed_transcript(self.client_key, msg.key), msg.signature
                )
            except BadSignatureError:
                raise IdentityError(
                    "bad_signature",
                    "the server's signature over this handshake does not verify",
                ) from None
            self.server_identity = msg.identity
            self._start_channel(self._ephemeral, msg.key)
        self.established = True
        return msg


class ServerConnection(_Connection):
    """The server's side: answers ``hello`` (into ``data_to_send``) or refuses it."""

    role: Role = "server"

    def __init__(
        self,
        identity: SigningKey,
        *,
        allow_plaintext: bool = False,
        ephemeral: PrivateKey | None = None,
        max_frame: int = MAX_FRAME,
    ) -> None:
        super().__init__("box", ephemeral, max_frame)
        self.identity = identity
        self.allow_plaintext = allow_plaintext
        self._outbox = bytearray()

    def data_to_send(self) -> bytes:
        """Bytes the connection produced by itself (the handshake reply); empties them."""
        out = bytes(self._outbox)
        self._outbox.clear()
        return out

    def _handle(self, msg: AnyMessage) -> AnyMessage:
        if not isinstance(msg, Hello):
            raise ProtocolError("unexpected_message", f"expected hello, got {msg.TYPE}")
        if msg.version != PROTOCOL_VERSION:
            raise ProtocolError(
                "bad_version", f"this server speaks version {PROTOCOL_VERSION}, not {msg.version}"
            )
        self.mode = msg.mode
        session: tuple[PrivateKey, bytes] | None = None  # box: our key and the client's
        if msg.mode == "plain":
            if not self.allow_plaintext:
                raise ProtocolError(
                    "plaintext_refused",
                    "this server only speaks encrypted (box); start it with "
                    "--allow-plaintext to allow plain sessions",
                )
            reply = ServerHello(mode="plain")
        else:
            if msg.key is None:
                raise ProtocolError("bad_message", "a box hello needs a key")
            own = self._ephemeral or PrivateKey.generate()
            session_key(own, msg.key)  # first: a key libsodium refuses gets no signature
            server_key = bytes(own.public_key)
            signature = self.identity.sign(signed_transcript(msg.key, server_key)).signature
            reply = ServerHello(
                mode="box",
                key=server_key,
                identity=bytes(self.identity.verify_key),
                signature=signature,
            )
            session = (own, msg.key)
        # The reply goes out in plaintext, before the channel starts.
        self._outbox += encode_frame(encode_message(reply))
        if session is not None:
            own, self.client_key = session
            self._start_channel(own, self.client_key)
        self.established = True
        return msg

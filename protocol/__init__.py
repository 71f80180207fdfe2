"""socketlab's wire protocol, sans-I/O: the only code that knows the bytes.

Framing, messages, the encrypted channel, the handshake state machines,
server identity pinning and the key log. See docs/protocol.md.
"""

from .connection import IDENTITY_CONTEXT, ClientConnection, ServerConnection, signed_transcript
from .errors import IdentityError, KeyLogError, LocalProtocolError, ProtocolError, SocketlabError
from .framing import HEADER_SIZE, MAX_FRAME, FrameDecoder, encode_frame
from .keylog import (
    KEYLOG_ENV,
    KEYLOG_LABEL,
    KeyLogWriter,
    keylog_from_env,
    keylog_line,
    parse_keylog,
    read_keylog,
)
from .messages import (
    MAX_TEXT,
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    AnyMessage,
    Bye,
    Error,
    Hello,
    Joined,
    Left,
    Login,
    Message,
    Ping,
    Pong,
    Say,
    ServerHello,
    Users,
    Welcome,
    Whisper,
    Who,
    decode_message,
    encode_message,
)
from .names import MAX_NAME, check_name, name_key
from .pins import PinStore, fingerprint, load_or_create_identity, socketlab_home
from .secure import MAC_SIZE, NONCE_SIZE, SealedParts, SecureChannel, make_nonce, parse_sealed

DEFAULT_PORT = 7777

__all__ = [
    "DEFAULT_PORT", "HEADER_SIZE", "IDENTITY_CONTEXT", "KEYLOG_ENV", "KEYLOG_LABEL",
    "MAC_SIZE", "MAX_FRAME", "MAX_NAME", "MAX_TEXT", "MESSAGE_TYPES", "NONCE_SIZE",
    "PROTOCOL_VERSION", "AnyMessage", "Bye", "ClientConnection", "Error", "FrameDecoder",
    "Hello", "IdentityError", "Joined", "KeyLogError", "KeyLogWriter", "Left",
    "LocalProtocolError", "Login", "Message", "PinStore", "Ping", "Pong", "ProtocolError",
    "Say", "SealedParts", "SecureChannel", "ServerConnection", "ServerHello",
    "SocketlabError", "Users", "Welcome", "Whisper", "Who", "check_name", "decode_message",
    "encode_frame", "encode_message", "fingerprint", "keylog_from_env", "keylog_line",
    "load_or_create_identity", "make_nonce", "name_key", "parse_keylog", "parse_sealed",
    "read_keylog", "signed_transcript", "socketlab_home",
]  # fmt: skip

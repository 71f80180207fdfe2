"""socketlab's wire protocol, sans-I/O: the only code that knows the bytes.

Framing, messages, the encrypted channel, the handshake state machines,
server identity pinning, the key log, and end-to-end whispers (``e2e``).
See docs/protocol.md.
"""

from .connection import (
    IDENTITY_CONTEXT,
    ClientConnection,
    ServerConnection,
    frame_message,
    signed_transcript,
)
from .e2e import (
    E2E_CONTEXT,
    Bundle,
    E2EKeys,
    Inner,
    OpenedWhisper,
    Peer,
    UserPinStore,
    accept_user_key,
    check_peer,
    open_box,
    open_e2e_message,
    seal_whisper,
    sign_bundle,
    verify_bundle,
)
from .errors import (
    E2EError,
    IdentityError,
    KeyLogError,
    LocalProtocolError,
    ProtocolError,
    SocketlabError,
)
from .framing import HEADER_SIZE, MAX_FRAME, FrameDecoder, encode_frame
from .keylog import (
    E2E_KEYLOG_LABEL,
    KEYLOG_ENV,
    KEYLOG_LABEL,
    KeyLogWriter,
    e2e_keylog_line,
    keylog_from_env,
    keylog_line,
    parse_e2e_keylog,
    parse_keylog,
    read_e2e_keylog,
    read_keylog,
)
from .messages import (
    MAX_TEXT,
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    AnyMessage,
    Bye,
    E2EMessage,
    E2EWhisper,
    Error,
    Hello,
    Joined,
    Left,
    Login,
    Lookup,
    Message,
    Ping,
    Pong,
    Say,
    ServerHello,
    UserKey,
    Users,
    Welcome,
    Whisper,
    Who,
    decode_message,
    encode_message,
)
from .names import MAX_NAME, check_login_name, check_name, name_key
from .pins import PinStore, fingerprint, load_or_create_identity, socketlab_home
from .secure import MAC_SIZE, NONCE_SIZE, SealedParts, SecureChannel, make_nonce, parse_sealed

DEFAULT_PORT = 7777

__all__ = [
    "DEFAULT_PORT", "E2E_CONTEXT", "E2E_KEYLOG_LABEL", "HEADER_SIZE", "IDENTITY_CONTEXT",
    "KEYLOG_ENV", "KEYLOG_LABEL", "MAC_SIZE", "MAX_FRAME", "MAX_NAME", "MAX_TEXT",
    "MESSAGE_TYPES", "NONCE_SIZE", "PROTOCOL_VERSION", "AnyMessage", "Bundle", "Bye",
    "ClientConnection", "E2EError", "E2EKeys", "E2EMessage", "E2EWhisper", "Error",
    "FrameDecoder", "Hello", "IdentityError", "Inner", "Joined", "KeyLogError", "KeyLogWriter",
    "Left", "LocalProtocolError", "Login", "Lookup", "Message", "OpenedWhisper", "Peer",
    "PinStore", "Ping", "Pong", "ProtocolError", "Say", "SealedParts", "SecureChannel",
    "ServerConnection", "ServerHello", "SocketlabError", "UserKey", "UserPinStore", "Users",
    "Welcome", "Whisper", "Who", "accept_user_key", "check_login_name", "check_name",
    "check_peer", "decode_message",
    "e2e_keylog_line", "encode_frame", "encode_message", "fingerprint", "frame_message",
    "keylog_from_env",
    "keylog_line", "load_or_create_identity", "make_nonce",
    "name_key", "open_box", "open_e2e_message", "parse_e2e_keylog", "parse_keylog",
    "parse_sealed", "read_e2e_keylog", "read_keylog", "seal_whisper", "sign_bundle",
    "signed_transcript", "socketlab_home", "verify_bundle",
]  # fmt: skip

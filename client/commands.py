"""What a user typed, and how to show what arrived: shared by every front end.

``parse_command`` turns one input line into a protocol message to send
(``Say``, ``Whisper``, ``Who``) or a local action (``Quit``, ``Help``,
``Fingerprint``, ``Usage``). ``format_event`` turns a received event into one
line of text; a whisper's line says how far it can be trusted (end to end,
verified or not, or readable by the server).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from socketlab.protocol import (
    Bye,
    Error,
    Joined,
    Left,
    Message,
    Say,
    Users,
    Welcome,
    Whisper,
    Who,
    name_key,
)

from .events import (
    E2E_CHANGED,
    E2E_NEW,
    E2E_VERIFIED,
    Disconnected,
    E2EUnavailable,
    PeerIdentityChanged,
    Whispered,
    WhisperRefused,
)

HELP_TEXT = """\
commands:
  /w NAME MESSAGE   whisper MESSAGE to NAME only (also /whisper)
  /who              list who is online
  /fingerprint      show your end-to-end key's fingerprint, to compare out of band
  /fingerprint NAME show the fingerprint of NAME's key, as checked this session
  /quit             leave the chat
  /help             show this help
  //TEXT            say TEXT with one leading "/" (to say "/etc", type "//etc")
anything else is said to everyone"""

_WHISPER_USAGE = "usage: /w NAME MESSAGE"


@dataclass(frozen=True, slots=True)
class Quit:
    """Leave the chat."""


@dataclass(frozen=True, slots=True)
class Help:
    """Show ``HELP_TEXT``."""


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Show our own identity's fingerprint, or (with ``name``) that user's."""

    name: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """The line was a malformed command; ``text`` is one line telling how to write it."""

    text: str


Command = Say | Whisper | Who | Quit | Help | Fingerprint | Usage

# Text from other people must not drive the terminal: line breaks would split one
# event over several lines, and C1 controls or bidi overrides can fake output.
_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _clean(text: str) -> str:
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


# "/name rest": the command word, then everything after the whitespace that follows it.
_COMMAND = re.compile(r"/(\S*)\s*(.*)", re.DOTALL)


def parse_command(line: str) -> Command | None:
    """Parse one line of input (without its line ending); ``None`` for a blank line.

    Never raises: whatever the user typed becomes something to send or to show.
    Say and Whisper are not validated here (length, names); sending them does that.
    """
    if not line.strip():
        return None
    if not line.startswith("/"):
        return Say(line)
    if line.startswith("//"):
        return Say(line[1:])
    match = _COMMAND.fullmatch(line)
    assert match is not None  # the pattern matches any line starting with "/"
    word, rest = match.group(1).casefold(), match.group(2)
    if word in ("w", "whisper"):
        parts = rest.split(None, 1)
        if len(parts) < 2:
            return Usage(_WHISPER_USAGE)
        return Whisper(parts[0], parts[1])
    if word == "who":
        return Who() if not rest.strip() else Usage("usage: /who")
    if word == "quit":
        return Quit() if not rest.strip() else Usage("usage: /quit")
    if word == "help":
        return Help()
    if word in ("fingerprint", "fp"):
        names = rest.split()
        if len(names) > 1:
            return Usage("usage: /fingerprint [NAME]")
        return Fingerprint(names[0] if names else None)
    shown = _clean(line.split(None, 1)[0][:30])
    return Usage(f"unknown command {shown}; type /help for the list")


# How each kind of whisper is marked, for the one who got it and for its sender.
_MARKS = {
    E2E_VERIFIED: ("end-to-end from {peer}", "end-to-end to {peer}"),
    E2E_NEW: (
        "end-to-end from {peer} · new contact, key pinned now",
        "end-to-end to {peer} · new contact, key pinned now",
    ),
    E2E_CHANGED: (
        "from {peer} · IDENTITY CHANGED, NOT verified",
        "to {peer} · IDENTITY CHANGED, NOT verified",
    ),
}
_TRANSPORT_MARKS = (
    "whisper from {peer} · transport-encrypted only: the server can read it",
    "whisper to {peer} · transport-encrypted only: the server can read it",
)


def whisper_mark(event: Whispered, me: str | None) -> str:
    """The bracketed part of a whisper's line: direction, other party, and trust."""
    outgoing = me is not None and name_key(event.sender) == name_key(me)
    marks = _MARKS.get(event.security, _TRANSPORT_MARKS)
    return marks[outgoing].format(peer=event.to if outgoing else event.sender)


def identity_change_lines(event: PeerIdentityChanged) -> list[str]:
    """The warning for a changed user identity, both fingerprints on their own lines."""
    return [
        f"WARNING: {event.name} on {event.where} signs with another identity than before.",
        f"  pinned:  {event.pinned}",
        f"  offered: {event.offered}",
        f"The server may be passing someone else's key off as {event.name}'s, or",
        f"{event.name} has a new identity (another computer). Compare fingerprints with",
        f"{event.name} out of band; until then their whispers are marked NOT verified and",
        "yours to them are not sent. If the new one is right, forget the old pin:",
        f"  socketlab client --forget-user {event.where} {event.name}",
    ]


def describe_fingerprint(command: Fingerprint, own: str | None, peer: str | None) -> str:
    """The answer to ``/fingerprint [NAME]``: ``own`` is ours, ``peer`` NAME's if known."""
    if command.name is None:
        if own is None:
            return "* end-to-end whispers are off in this client: no key to show"
        return f"* your end-to-end key: {own} (read it to the people you whisper with)"
    name = _clean(command.name)
    if peer is None:
        return f"* no end-to-end key of {name} checked yet: whisper to {name} first"
    return f"* {name}'s end-to-end key: {peer}"


def format_event(event: object, me: str | None = None) -> str:
    """One line describing ``event`` (a received message or ``Disconnected``) for user ``me``."""
    if isinstance(event, Whispered):
        return f"[{whisper_mark(event, me)}] {_clean(event.text)}"
    if isinstance(event, WhisperRefused):
        if event.outgoing:
            return f"! whisper to {event.peer} not sent ({event.code}): {_clean(event.reason)}"
        return f"! refused a whisper from {event.peer} ({event.code}): {_clean(event.reason)}"
    if isinstance(event, E2EUnavailable):
        return (
            f"! the server {event.where} does not know end-to-end whispers ({event.code}): "
            "whispers are transport-encrypted only (the server can read them)"
        )
    if isinstance(event, PeerIdentityChanged):
        return (
            f"! WARNING: {event.name}'s identity changed (pinned {event.pinned}, "
            f"offered {event.offered}); their whispers are NOT verified"
        )
    if isinstance(event, Message):
        text = _clean(event.text)
        if event.to is None:
            return f"{event.sender}: {text}"
        if me is not None and name_key(event.sender) == name_key(me):
            return f"[whisper to {event.to}] {text}"
        return f"[whisper from {event.sender}] {text}"
    if isinstance(event, Joined):
        return f"* {event.name} joined"
    if isinstance(event, Left):
        return f"* {event.name} left" + (f" ({event.reason})" if event.reason else "")
    if isinstance(event, Users):
        return f"* online: {', '.join(event.names)}"
    if isinstance(event, Welcome):
        return f"* you are {event.name}; online: {', '.join(event.users)}"
    if isinstance(event, Error):
        detail = f": {_clean(event.message)}" if event.message else ""
        return f"! error {event.code}{detail}"
    if isinstance(event, Bye):
        return "* the server said bye"
    if isinstance(event, Disconnected):
        return f"* disconnected: {_clean(event.reason)}"
    return f"* {_clean(str(event))}"

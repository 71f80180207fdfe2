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
    CLOSED_BY_SERVER,
    CLOSED_BY_YOU,
    CONNECTION_LOST,
    E2E_CHANGED,
    E2E_NEW,
    E2E_VERIFIED,
    Disconnected,
    E2EUnavailable,
    PeerIdentityChanged,
    Whispered,
    WhisperRefused,
)
from .language import N_, _

# Shown through _(): the Korean is in locale/ko.po.
HELP_TEXT = N_("""\
commands:
  /w NAME MESSAGE   whisper MESSAGE to NAME only (also /whisper)
  /who              list who is online
  /fingerprint      show your end-to-end key's fingerprint, to compare out of band
  /fingerprint NAME show the fingerprint of NAME's key, as checked this session
  /quit             leave the chat
  /help             show this help
  //TEXT            say TEXT with one leading "/" (to say "/etc", type "//etc")
anything else is said to everyone""")


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
            return Usage(_("usage: /w NAME MESSAGE"))
        return Whisper(parts[0], parts[1])
    if word == "who":
        return Who() if not rest.strip() else Usage(_("usage: /who"))
    if word == "quit":
        return Quit() if not rest.strip() else Usage(_("usage: /quit"))
    if word == "help":
        return Help()
    if word in ("fingerprint", "fp"):
        names = rest.split()
        if len(names) > 1:
            return Usage(_("usage: /fingerprint [NAME]"))
        return Fingerprint(names[0] if names else None)
    shown = _clean(line.split(None, 1)[0][:30])
    return Usage(_("unknown command {command}; type /help for the list").format(command=shown))


# How each kind of whisper is marked, for the one who got it and for its sender.
_MARKS = {
    E2E_VERIFIED: (N_("end-to-end from {peer}"), N_("end-to-end to {peer}")),
    E2E_NEW: (
        N_("end-to-end from {peer} · new contact, key pinned now"),
        N_("end-to-end to {peer} · new contact, key pinned now"),
    ),
    E2E_CHANGED: (
        N_("from {peer} · IDENTITY CHANGED, NOT verified"),
        N_("to {peer} · IDENTITY CHANGED, NOT verified"),
    ),
}
_TRANSPORT_MARKS = (
    N_("whisper from {peer} · transport-encrypted only: the server can read it"),
    N_("whisper to {peer} · transport-encrypted only: the server can read it"),
)
# Why a session ended, as ChatClient says it (a server's error reads "code: message").
_REASONS = {
    CLOSED_BY_YOU: N_("closed by you"),
    CLOSED_BY_SERVER: N_("closed by the server"),
    CONNECTION_LOST: N_("connection lost"),
}


def whisper_mark(event: Whispered, me: str | None) -> str:
    """The bracketed part of a whisper's line: direction, other party, and trust."""
    outgoing = me is not None and name_key(event.sender) == name_key(me)
    marks = _MARKS.get(event.security, _TRANSPORT_MARKS)
    return _(marks[outgoing]).format(peer=event.to if outgoing else event.sender)


def identity_change_lines(event: PeerIdentityChanged) -> list[str]:
    """The warning for a changed user identity, both fingerprints on their own lines."""
    text = _(
        "WARNING: {name} on {where} signs with another identity than before.\n"
        "  pinned:  {pinned}\n"
        "  offered: {offered}\n"
        "The server may be passing someone else's key off as {name}'s, or\n"
        "{name} has a new identity (another computer). Compare fingerprints with\n"
        "{name} out of band; until then their whispers are marked NOT verified and\n"
        "yours to them are not sent. If the new one is right, forget the old pin:\n"
        "  socketlab client --forget-user {where} {name}"
    )
    return text.format(
        name=event.name, where=event.where, pinned=event.pinned, offered=event.offered
    ).splitlines()


def describe_fingerprint(command: Fingerprint, own: str | None, peer: str | None) -> str:
    """The answer to ``/fingerprint [NAME]``: ``own`` is ours, ``peer`` NAME's if known."""
    if command.name is None:
        if own is None:
            return _("* end-to-end whispers are off in this client: no key to show")
        return _("* your end-to-end key: {key} (read it to the people you whisper with)").format(
            key=own
        )
    name = _clean(command.name)
    if peer is None:
        return _("* no end-to-end key of {name} checked yet: whisper to {name} first").format(
            name=name
        )
    return _("* {name}'s end-to-end key: {key}").format(name=name, key=peer)


def describe_reason(reason: str) -> str:
    """Why a session ended (a ``Disconnected`` reason), in the user's language."""
    word, _space, rest = reason.partition(" (")
    if word in _REASONS:
        return _(_REASONS[word]) + (f" ({rest}" if rest else "")
    return reason


def format_event(event: object, me: str | None = None) -> str:
    """One line describing ``event`` (a received message or ``Disconnected``) for user ``me``."""
    if isinstance(event, Whispered):
        return f"[{whisper_mark(event, me)}] {_clean(event.text)}"
    if isinstance(event, WhisperRefused):
        text = (
            _("! whisper to {peer} not sent ({code}): {reason}")
            if event.outgoing
            else _("! refused a whisper from {peer} ({code}): {reason}")
        )
        return text.format(peer=event.peer, code=event.code, reason=_clean(event.reason))
    if isinstance(event, E2EUnavailable):
        return _(
            "! the server {where} does not know end-to-end whispers ({code}): "
            "whispers are transport-encrypted only (the server can read them)"
        ).format(where=event.where, code=event.code)
    if isinstance(event, PeerIdentityChanged):
        return _(
            "! WARNING: {name}'s identity changed (pinned {pinned}, "
            "offered {offered}); their whispers are NOT verified"
        ).format(name=event.name, pinned=event.pinned, offered=event.offered)
    if isinstance(event, Message):
        text = _clean(event.text)
        if event.to is None:
            return f"{event.sender}: {text}"
        if me is not None and name_key(event.sender) == name_key(me):
            return _("[whisper to {name}] {text}").format(name=event.to, text=text)
        return _("[whisper from {name}] {text}").format(name=event.sender, text=text)
    if isinstance(event, Joined):
        return _("* {name} joined").format(name=event.name)
    if isinstance(event, Left):
        if event.reason:
            return _("* {name} left ({reason})").format(name=event.name, reason=event.reason)
        return _("* {name} left").format(name=event.name)
    if isinstance(event, Users):
        return _("* online: {names}").format(names=", ".join(event.names))
    if isinstance(event, Welcome):
        return _("* you are {name}; online: {names}").format(
            name=event.name, names=", ".join(event.users)
        )
    if isinstance(event, Error):
        detail = f": {_clean(event.message)}" if event.message else ""
        return _("! error {code}{detail}").format(code=event.code, detail=detail)
    if isinstance(event, Bye):
        return _("* the server said bye")
    if isinstance(event, Disconnected):
        return _("* disconnected: {reason}").format(reason=_clean(describe_reason(event.reason)))
    return f"* {_clean(str(event))}"

"""What a user typed, and how to show what arrived: shared by every front end.

``parse_command`` turns one input line into a protocol message to send
(``Say``, ``Whisper``, ``Who``) or a local action (``Quit``, ``Help``,
``Usage``). ``format_event`` turns a received event into one line of text.
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

from .events import Disconnected

HELP_TEXT = """\
commands:
  /w NAME MESSAGE   whisper MESSAGE to NAME only (also /whisper)
  /who              list who is online
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
class Usage:
    """The line was a malformed command; ``text`` is one line telling how to write it."""

    text: str


Command = Say | Whisper | Who | Quit | Help | Usage

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
    shown = _clean(line.split(None, 1)[0][:30])
    return Usage(f"unknown command {shown}; type /help for the list")


def format_event(event: object, me: str | None = None) -> str:
    """One line describing ``event`` (a received message or ``Disconnected``) for user ``me``."""
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

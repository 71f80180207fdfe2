"""The chat rules, as a pure hub: a message in, a list of commands out.

No sockets, threads or clocks (the caller passes ``now_ms``), so every rule is
tested as a transcript. The hub is not thread-safe: the server calls it under
its registry lock.

Every message a client may send has a defined answer:

=============  ======================  ==========================================
message        before login            after login
=============  ======================  ==========================================
login          welcome + joined,       already_logged_in
               or name_taken (retry),
               or bad_name (retry),
               or bad_key / bad_signature
               (its e2e bundle; closed),
               or server_full (closed)
say            not_logged_in           message to everyone, sender included
whisper        not_logged_in           message to recipient and sender,
                                       or no_such_user, or bad_name
lookup         not_logged_in           user_key, or no_such_user, bad_name,
                                       no_e2e_key
e2e_whisper    not_logged_in           e2e_message to recipient and sender,
                                       or no_such_user, bad_name, no_e2e_key
who            not_logged_in           users
ping           pong                    pong
pong           (nothing)               (nothing)
bye            closed                  left{quit} to the others, closed
error          logged                  logged
server types   unexpected_message,     unexpected_message, closed
               closed
=============  ======================  ==========================================

Before any of that, every message (before login too) costs its sender a
token (``flood.py``): past the burst the answer is ``Throttle`` (the message
is held, not handled), later ``rate_limited``, then ``excess_flood`` (closed).

End-to-end whispers: the hub keeps each user's login bundle (its e2e key,
signed by its user identity over the key and the name) and relays sealed
whispers with the sender's bundle, never opening them (it has no key that
could). A user who logged in without a bundle (an old client) is never sent
a ``user_key`` or an ``e2e_message``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from socketlab.protocol import (
    AnyMessage,
    Bundle,
    Bye,
    E2EMessage,
    E2EWhisper,
    Error,
    Joined,
    Left,
    Login,
    Lookup,
    Message,
    Ping,
    Pong,
    ProtocolError,
    Say,
    UserKey,
    Users,
    Welcome,
    Whisper,
    Who,
    check_login_name,
    check_name,
    name_key,
    verify_bundle,
)

from .commands import Broadcast, Close, Command, Log, Send, Throttle
from .flood import FloodLimits, FloodState


class Hub:
    """Who is connected, who is logged in under which name, and what each message means."""

    def __init__(
        self, *, max_members: int | None = None, flood: FloodLimits | None = None
    ) -> None:
        self._max_members = max_members
        self._limits = flood if flood is not None else FloodLimits(rate=0)
        self._flood: dict[int, FloodState] = {}
        self._names: dict[int, str | None] = {}  # every open connection -> its name, once logged in
        self._by_key: dict[str, int] = {}  # name_key(name) -> conn_id
        self._members: dict[int, str] = {}  # logged in, in the order they joined
        self._bundles: dict[int, Bundle] = {}  # members whose login carried an e2e bundle

    # -- queries the shell needs ---------------------------------------------

    def members(self) -> Iterable[int]:
        """Connection ids of the logged-in users (the audience of a broadcast)."""
        return self._members.keys()

    def name_of(self, conn_id: int) -> str | None:
        """The user's name, or None before login (or for an unknown connection)."""
        return self._members.get(conn_id)

    # -- events ---------------------------------------------------------------

    def is_member(self, conn_id: int) -> bool:
        return conn_id in self._members

    def member_count(self) -> int:
        return len(self._members)

    def connect(self, conn_id: int, now_ms: int = 0) -> list[Command]:
        """A new connection: it may log in once its handshake is done."""
        self._names[conn_id] = None
        if self._limits.enabled:
            self._flood[conn_id] = FloodState(self._limits, now_ms)
        return []

    def disconnect(self, conn_id: int, reason: str) -> list[Command]:
        """The connection is gone (or being dropped) for ``reason``; tell the others."""
        return self._leave(conn_id, reason)

    def handle(self, conn_id: int, msg: AnyMessage, now_ms: int) -> list[Command]:
        """Apply the rules to one message from ``conn_id``; ``now_ms`` stamps chat lines."""
        if conn_id not in self._names:
            return []  # already closed (e.g. a bye earlier in the same read): ignore the rest
        flood = self._flood.get(conn_id)
        if flood is not None:
            held = self._over_rate(conn_id, flood, now_ms)
            if held:
                return held
        handler = _HANDLERS.get(type(msg))
        if handler is None:
            # A type only the server sends (hello again, welcome, message, ...).
            return self._refuse(conn_id, "unexpected_message", f"a client does not send {msg.TYPE}")
        name = self._members.get(conn_id)
        if name is None and type(msg) in _NEED_LOGIN:
            return [Send(conn_id, Error("not_logged_in", f"log in before sending {msg.TYPE}"))]
        return handler(self, conn_id, name, msg, now_ms)

    # -- one method per message type --------------------------------------------

    def _login(self, conn_id: int, name: str | None, msg: Login, now_ms: int) -> list[Command]:
        if name is not None:
            return [
                Send(conn_id, Error("already_logged_in", f"you are already logged in as {name}"))
            ]
        try:
            check_login_name(msg.name)
        except ProtocolError as exc:  # a typo: the user may try again on this connection
            return [Send(conn_id, Error(exc.code, exc.message))]
        bundle = Bundle.of_login(msg)
        if bundle is not None:
            try:
                verify_bundle(msg.name, bundle)
            except ProtocolError as exc:  # a broken or lying client: bad_key, bad_signature
                return self._refuse(conn_id, exc.code, exc.message)
        if self._max_members is not None and len(self._members) >= self._max_members:
            text = f"the server is full ({self._max_members} users)"
            return self._refuse(conn_id, "server_full", text)
        key = name_key(msg.name)
        if key in self._by_key:
            taken = self._members[self._by_key[key]]
            return [Send(conn_id, Error("name_taken", f"{taken} is taken; pick another name"))]
        self._names[conn_id] = msg.name
        self._by_key[key] = conn_id
        self._members[conn_id] = msg.name
        if bundle is not None:
            self._bundles[conn_id] = bundle
        return [
            Send(conn_id, Welcome(msg.name, tuple(self._members.values()))),
            Broadcast(Joined(msg.name), exclude=conn_id),
            Log(logging.INFO, f"{msg.name} joined ({len(self._members)} online)"),
        ]

    def _say(self, conn_id: int, name: str, msg: Say, now_ms: int) -> list[Command]:
        return [Broadcast(Message(name, msg.text, now_ms))]

    def _whisper(self, conn_id: int, name: str, msg: Whisper, now_ms: int) -> list[Command]:
        try:
            check_name(msg.to)
        except ProtocolError as exc:
            return [Send(conn_id, Error(exc.code, exc.message))]
        target = self._by_key.get(name_key(msg.to))
        if target is None:
            return [Send(conn_id, Error("no_such_user", f"no one called {msg.to} is here"))]
        line = Message(name, msg.text, now_ms, to=self._members[target])
        if target == conn_id:
            return [Send(conn_id, line)]
        return [Send(target, line), Send(conn_id, line)]

    def _lookup(self, conn_id: int, name: str, msg: Lookup, now_ms: int) -> list[Command]:
        found = self._find(conn_id, msg.name)
        if isinstance(found, Error):
            return [Send(conn_id, found)]
        bundle = self._bundles[found]
        return [
            Send(conn_id, UserKey(self._members[found], bundle.key, bundle.identity,
                                  bundle.signature))
        ]

    def _e2e_whisper(
        self, conn_id: int, name: str, msg: E2EWhisper, now_ms: int
    ) -> list[Command]:
        own = self._bundles.get(conn_id)
        if own is None:
            text = "you logged in without an e2e key; your client cannot whisper end-to-end"
            return [Send(conn_id, Error("no_e2e_key", text))]
        target = self._find(conn_id, msg.to)
        if isinstance(target, Error):
            return [Send(conn_id, target)]
        line = E2EMessage(name, self._members[target], now_ms, own.key, own.identity,
                          own.signature, msg.nonce, msg.box)
        if target == conn_id:
            return [Send(conn_id, line)]
        return [Send(target, line), Send(conn_id, line)]

    def _who(self, conn_id: int, name: str, msg: Who, now_ms: int) -> list[Command]:
        return [Send(conn_id, Users(tuple(self._members.values())))]

    def _ping(self, conn_id: int, name: str | None, msg: Ping, now_ms: int) -> list[Command]:
        return [Send(conn_id, Pong())]

    def _pong(self, conn_id: int, name: str | None, msg: Pong, now_ms: int) -> list[Command]:
        return []  # the answer to our keepalive ping; the shell already saw the traffic

    def _bye(self, conn_id: int, name: str | None, msg: Bye, now_ms: int) -> list[Command]:
        return [*self._leave(conn_id, "quit"), Close(conn_id)]

    def _error(self, conn_id: int, name: str | None, msg: Error, now_ms: int) -> list[Command]:
        # A client may tell us what went wrong on its side; answering would invite a loop.
        who = name or f"connection {conn_id}"
        return [Log(logging.DEBUG, f"{who} reported {msg.code}: {msg.message}")]

    # -- helpers ------------------------------------------------------------------

    def _find(self, conn_id: int, asked: str) -> int | Error:
        """The member called ``asked`` who has an e2e key, else the error to answer."""
        try:
            check_name(asked)
        except ProtocolError as exc:
            return Error(exc.code, exc.message)
        target = self._by_key.get(name_key(asked))
        if target is None:
            return Error("no_such_user", f"no one called {asked} is here")
        if target not in self._bundles:
            who = self._members[target]
            text = (f"{who}'s client has no e2e key (an older client): an ordinary whisper "
                    "reaches them, encrypted between you and the server only")
            return Error("no_e2e_key", text)
        return target

    def _over_rate(self, conn_id: int, flood: FloodState, now_ms: int) -> list[Command]:
        """[] if the message may be handled now; else why not (held, warned or dropped)."""
        limits = self._limits
        if flood.held and now_ms - flood.free_at_ms >= 1000 * limits.burst / limits.rate:
            flood.held, flood.warned = 0, False  # it paused a full bucket's time: a new episode
        delay_ms = flood.bucket.take(now_ms)
        if not delay_ms:
            return []
        flood.held += 1
        flood.free_at_ms = now_ms + delay_ms
        if flood.held > limits.drop_after:
            text = f"more than {limits.rate:g} messages a second for too long"
            return self._refuse(conn_id, "excess_flood", text)
        held: list[Command] = [Throttle(conn_id, delay_ms)]
        if flood.held > limits.warn_after and not flood.warned:
            flood.warned = True
            text = f"slow down: at most {limits.rate:g} messages a second; keep on and you are cut"
            held.insert(0, Send(conn_id, Error("rate_limited", text)))
        return held

    def _leave(self, conn_id: int, reason: str) -> list[Command]:
        self._flood.pop(conn_id, None)
        if self._names.pop(conn_id, False) is False:
            return []  # already gone: disconnect is idempotent
        name = self._members.pop(conn_id, None)
        self._bundles.pop(conn_id, None)
        if name is None:
            return []
        del self._by_key[name_key(name)]
        return [
            Broadcast(Left(name, reason), exclude=conn_id),
            Log(logging.INFO, f"{name} left ({reason}; {len(self._members)} online)"),
        ]

    def _refuse(self, conn_id: int, code: str, text: str) -> list[Command]:
        return [*self._leave(conn_id, code), Close(conn_id, Error(code, text))]


# Each handler takes (hub, conn_id, name or None, the message, now_ms).
_HANDLERS: dict[type, Callable[..., list[Command]]] = {
    Login: Hub._login,
    Say: Hub._say,
    Whisper: Hub._whisper,
    Lookup: Hub._lookup,
    E2EWhisper: Hub._e2e_whisper,
    Who: Hub._who,
    Ping: Hub._ping,
    Pong: Hub._pong,
    Bye: Hub._bye,
    Error: Hub._error,
}
_NEED_LOGIN: frozenset[type] = frozenset({Say, Whisper, Lookup, E2EWhisper, Who})

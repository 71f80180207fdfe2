"""Tampered frames against the real server and client: every one refused, none delivered.

``python -m bench.tamper [--mode flip] [--trials 1000] [--seed 1]``

One real ``ChatServer``, one watcher ``ChatClient`` logged in directly, and a
``Proxy`` in tamper mode between the server and a fresh ``ChatClient`` per
trial (the victim is the server):

- ``flip``: the client logs in, says one line; that ``say`` (its 2nd frame
  after the handshake) reaches the server with one seeded random bit flipped.
- ``replay``: the same ``say`` reaches the server twice.
- ``reorder``: the client says two lines; the server gets the 2nd first.
- ``reflect``: the server's 1st frame after the handshake (its welcome) is
  sent back to the server instead of to the client.

A trial is **refused** when the server dropped the client with the expected
code (the watcher sees ``left`` with that reason, and the client gets the
server's ``error`` or loses the connection); **wrongly delivered** counts the
messages the watcher got from the victim that it should not have (any at all,
except the one genuine ``say`` a replay repeats). Prints one line per mode.
"""

from __future__ import annotations

import argparse
import logging
import queue
import sys
import time
from dataclasses import dataclass

from socketlab.client import ChatClient, ChatError, Disconnected
from socketlab.inspector.events import Tampered, TamperKind
from socketlab.inspector.proxy import Proxy
from socketlab.protocol import Left, Message
from socketlab.server import ChatServer

log = logging.getLogger("bench.tamper")

TIMEOUT = 10.0
EXPECTED: dict[TamperKind, str] = {
    "flip": "decrypt_failed", "replay": "replayed", "reorder": "reordered",
    "reflect": "reflected",
}
# Which frame after the handshake each mode attacks: 1 = login (c2s) or welcome (s2c).
FRAME: dict[TamperKind, int] = {"flip": 2, "replay": 2, "reorder": 2, "reflect": 1}


@dataclass
class Tally:
    mode: TamperKind
    tried: int = 0  # frames the proxy tampered with (its Tampered events)
    refused: int = 0  # trials the server ended with the expected code
    wrongly_delivered: int = 0  # messages from a victim that reached the watcher wrongly
    other: int = 0  # trials that ended some other way (a failure of this harness)

    def line(self) -> str:
        return (f"{self.mode:<8} tried {self.tried:>5}  refused {self.refused:>5}  "
                f"wrongly delivered {self.wrongly_delivered}  other {self.other}")


class Watcher:
    """A client logged in directly: what every other user of the chat sees."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.client = ChatClient(*address, timeout=TIMEOUT, verify=False)
        self.client.connect()
        self.client.login("watcher")

    def until_left(self, name: str) -> tuple[str | None, list[Message]]:
        """The reason ``name`` left with, and the messages it sent before that."""
        messages: list[Message] = []
        deadline = time.monotonic() + TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.client.events.get(timeout=left)
            except queue.Empty:
                break
            if isinstance(event, Message) and event.sender == name:
                messages.append(event)
            elif isinstance(event, Left) and event.name == name:
                return event.reason, messages
        return None, messages


def _victim_session(proxy: Proxy, mode: TamperKind, name: str, lines: list[str]) -> None:
    """One victim: log in through the proxy, say ``lines``, wait until it is closed."""
    client = ChatClient(*proxy.address, timeout=TIMEOUT, verify=False)
    try:
        client.connect()
        client.login(name)
    except ChatError:
        if mode == "reflect":  # the welcome never came: the server closed the connection
            return
        raise
    try:
        for line in lines:
            client.say(line)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                if isinstance(client.events.get(timeout=TIMEOUT), Disconnected):
                    return
            except queue.Empty:
                break
    except ChatError:
        return  # a say after the server closed: refused already
    finally:
        client.close()


def run_trials(mode: TamperKind, trials: int, seed: int = 1) -> Tally:
    """``trials`` victims against one real server, through one tampering proxy."""
    tally = Tally(mode)
    server = ChatServer("127.0.0.1", 0)
    server.start()
    try:
        watcher = Watcher(server.address)
        try:
            with Proxy(target=server.address, tamper=mode, frame=FRAME[mode], seed=seed) as proxy:
                for i in range(trials):
                    name = f"victim{i}"
                    lines = [f"line {i} a", f"line {i} b"] if mode == "reorder" \
                        else [f"line {i}"]
                    _victim_session(proxy, mode, name, lines)
                    reason, delivered = watcher.until_left(name)
                    if reason == EXPECTED[mode]:
                        tally.refused += 1
                    else:
                        tally.other += 1
                        log.warning("trial %d: %s left with %r", i, name, reason)
                    genuine = lines[:1] if mode == "replay" else []
                    tally.wrongly_delivered += sum(
                        1 for n, m in enumerate(delivered)
                        if n >= len(genuine) or m.text != genuine[n])
            tally.tried = sum(isinstance(e, Tampered) for e in proxy.events())
        finally:
            watcher.client.close()
    finally:
        server.stop()
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tamper", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=(*EXPECTED, "all"), default="all")
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    modes: list[TamperKind] = list(EXPECTED) if args.mode == "all" else [args.mode]
    ok = True
    for mode in modes:
        started = time.monotonic()
        tally = run_trials(mode, args.trials, args.seed)
        print(f"{tally.line()}  ({time.monotonic() - started:.1f} s)", flush=True)
        ok &= tally.tried == tally.refused == args.trials and tally.wrongly_delivered == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

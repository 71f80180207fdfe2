"""How long can a flood of messages stall the Tk client's main loop?

A real server and a headless sender run in a second process (as in real
use: the server is never inside the window's process, competing for its
GIL). The sender says ``n_messages`` lines as fast as it can and the server
relays them to a real GUI client (``socketlab.client.gui.ChatApp``) as fast as it
sends. Meanwhile an ``after()`` ticker in the window asks for a callback
every ``TICK_MS`` and records when each one runs, from the start of the
flood until the last line is shown in the log. The longest gap between two
ticks is the longest time the window could not react to a click or redraw
itself. (The original project's window froze outright, "Not Responding",
while it waited in ``recv()``.)

Run: ``python -m bench.gui_stall [--messages 2000] [--json]``; it uses
``$DISPLAY`` if set, else starts its own Xvfb.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import itertools
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import tkinter as tk
from collections.abc import Callable
from contextlib import ExitStack
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from socketlab.client.chat_client import ChatClient
from socketlab.client.gui import ChatApp, Settings
from socketlab.protocol import PinStore
from socketlab.server import ChatServer, FloodLimits
from tools.xvfb import Xvfb

TICK_MS = 5
TEXT = "message {i} of {n}: the quick brown fox jumps over the lazy dog"
SENDER = "sender"


def _serve_and_flood(pipe: Connection, n: int) -> None:
    """The other process: a server, and a sender that floods when told to."""
    # Flood control off: the flood is the point here (what the window must survive).
    with ChatServer("127.0.0.1", 0, flood=FloodLimits(rate=0)) as server:
        pipe.send(server.address)
        pipe.recv()  # the window has logged in
        with ChatClient(*server.address, verify=False) as sender:
            sender.connect()
            sender.login(SENDER)
            pipe.send("joined")
            pipe.recv()  # the ticker runs: go
            for i in range(1, n + 1):
                sender.say(TEXT.format(i=i, n=n))
            pipe.recv()  # the window has shown them all: stop


def _ensure_display() -> None:
    """Start an Xvfb for this process if there is no display.

    It stays up until the process exits: Tk never closes an X connection it
    has opened, and a later Tk event loop would die on a server that is gone.
    """
    if os.environ.get("DISPLAY") or os.name != "posix":
        return
    xvfb = Xvfb("1280x800x24")
    xvfb.start()
    atexit.register(xvfb.stop)


def _expect(pipe: Connection, timeout: float, what: str) -> Any:
    """The other process's next word; it failing or hanging must not hang us."""
    if not pipe.poll(timeout):
        raise TimeoutError(f"the server process sent no {what} within {timeout:g} s")
    return pipe.recv()  # EOFError if that process died


def _tell(pipe: Connection, word: str) -> None:
    try:
        pipe.send(word)
    except OSError:
        pass  # that process is gone already; its join below returns at once


def _pump(root: tk.Tk, until: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout:g} s")
        root.update()
        time.sleep(0.005)


def _ticks_during_flood(
    root: tk.Tk, app: ChatApp, pipe: Connection, n: int, timeout: float
) -> list[float]:
    last_line = f"{SENDER}: " + TEXT.format(i=n, n=n)
    ticks: list[float] = []
    deadline = time.monotonic() + timeout
    timed_out = False

    def tick() -> None:
        nonlocal timed_out
        ticks.append(time.perf_counter())
        # Only the log's last line is read: cheap enough not to distort the figure.
        if app.window.log.get("end-1c linestart", "end-1c").endswith(last_line):
            root.quit()
        elif time.monotonic() > deadline:
            timed_out = True
            root.quit()
        else:
            root.after(TICK_MS, tick)

    tick()
    _tell(pipe, "go")
    root.mainloop()
    if timed_out:
        raise TimeoutError(f"the window did not show all {n} messages within {timeout:g} s")
    return ticks


def _run(n_messages: int, timeout: float) -> list[float]:
    """The window's ticks during one flood (setup and teardown around it)."""
    # "spawn" everywhere: the same on Linux as on Windows, and no fork of a Tk process.
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    with ExitStack() as stack:
        home = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        other = context.Process(target=_serve_and_flood, args=(theirs, n_messages), name="server")
        other.start()
        theirs.close()  # so that its death reads as EOF here
        stack.callback(other.join, timeout)
        stack.callback(_tell, ours, "stop")
        host, port = _expect(ours, timeout, "address")
        root = tk.Tk()
        settings = Settings(host=host, port=port, name="viewer", pins=PinStore(home / "pins"),
                            home=home)  # its user identity too, never the real home
        app = ChatApp(root, settings, connect_now=True)
        stack.callback(app.close)
        _pump(root, lambda: app.client is not None, "login")
        _tell(ours, "login")
        _expect(ours, timeout, "join")
        _pump(root, lambda: SENDER in app.window.user_names(), "sender joining")
        return _ticks_during_flood(root, app, ours, n_messages, timeout)


def measure_stall(n_messages: int = 2000, *, timeout: float = 60.0) -> dict[str, Any]:
    """Flood a GUI client with ``n_messages``; return tick-gap figures in ms.

    ``max_gap_ms`` is the headline: the longest the main loop went without
    running a 5 ms ``after()`` ticker while the messages arrived and were shown.
    """
    _ensure_display()
    ticks = _run(n_messages, timeout)
    # The widgets' reference cycles must be freed on this thread: if the GC ran
    # them down in another thread, Tcl would abort ("deleted by the wrong thread").
    gc.collect()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    elapsed = ticks[-1] - ticks[0]
    return {
        "n_messages": n_messages,
        "tick_ms": TICK_MS,
        "ticks": len(ticks),
        "max_gap_ms": round(max(gaps) * 1000, 1),
        "median_gap_ms": round(statistics.median(gaps) * 1000, 1),
        "elapsed_s": round(elapsed, 3),
        "messages_per_s": round(n_messages / elapsed),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gui_stall",
        description="longest Tk main-loop stall under a message flood",
    )
    parser.add_argument(
        "--messages", type=int, default=2000, help="messages to flood (default %(default)s)"
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="repeat the measurement (default %(default)s)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON, one line per run"
    )
    args = parser.parse_args(argv)
    for _ in range(args.runs):
        result = measure_stall(args.messages)
        if args.json:
            print(json.dumps(result))
        else:
            print(
                f"{result['n_messages']} messages shown in {result['elapsed_s']} s "
                f"({result['messages_per_s']}/s); after() ticker every {result['tick_ms']} ms "
                f"({result['ticks']} ticks): longest gap {result['max_gap_ms']} ms, "
                f"median {result['median_gap_ms']} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

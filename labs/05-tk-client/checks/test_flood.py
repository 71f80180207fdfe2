"""The window never freezes, even when 2,000 messages arrive as fast as the server can send."""

import itertools
import socket
import time
from collections.abc import Callable

from conftest import Gui

from socketlab.labs.harness import _
from socketlab.protocol import Hello, Login, Say, encode_frame, encode_message

FLOOD = 2000
TICK_MS = 5  # the ticker asks Tk to run it every 5 ms
# The most work the main thread may do between two ticks. A person feels
# ~100 ms as a lag and a window that ignores them for 300 ms as stuck. The
# solution's worst here is a few ms (BATCH lines and a redraw); showing the
# whole flood in one go costs ~0.1 s, or a second or more with a scroll per line.
# Measured in the main thread's CPU time (time.thread_time), because a shared
# machine may leave the whole process waiting for a core for a few hundred ms,
# which is not your code's doing; waiting is caught apart, by the watchdog
# (a freeze of FROZEN_S) and by the check that poll() never waits.
LIMIT_MS = 300
TIMEOUT_S = 10.0


def _flooder(address: tuple[str, int]) -> tuple[socket.socket, bytes]:
    """A raw client of the checks' own, logged in as 'flooder', and its flood, ready to go.

    All 2,000 messages go out in one sendall(), so the flood costs this process
    almost nothing and arrives as fast as the server relays it.
    """
    sock = socket.create_connection(address, timeout=5)
    login = [Hello(mode="plain"), Login(name="flooder")]
    sock.sendall(b"".join(encode_frame(encode_message(m)) for m in login))
    text = "message {i} of {n}: the quick brown fox jumps over the lazy dog"
    flood = b"".join(encode_frame(encode_message(Say(text=text.format(i=i, n=FLOOD))))
                     for i in range(1, FLOOD + 1))
    return sock, flood


def test_window_never_freezes_under_a_flood(open_window: Callable[..., Gui],
                                            server_process: tuple[str, int]) -> None:
    """2,000 messages in a burst: the window keeps reacting (never busy 300 ms without a redraw)"""
    window = open_window("alice", server_process)
    root, last = window.root, f"message {FLOOD} of {FLOOD}"
    sock, flood = _flooder(server_process)
    window.pump(lambda: "flooder" in window.log(), timeout=1.0)
    ticks: list[tuple[float, float]] = []  # (wall clock, main thread's CPU time) per tick
    deadline = time.monotonic() + TIMEOUT_S

    def tick() -> None:
        ticks.append((time.perf_counter(), time.thread_time()))
        window.beat = time.monotonic()  # for the watchdog: the main loop is alive
        if (window.frozen_at or time.monotonic() > deadline
                or last in window.window.log.get("end-4l", "end")):
            root.quit()
        else:
            root.after(TICK_MS, tick)

    try:
        tick()
        sock.sendall(flood)
        window.call(root.mainloop)
    finally:
        sock.close()
    worst = max(itertools.pairwise(ticks), key=lambda pair: pair[1][1] - pair[0][1])
    busy_ms = (worst[1][1] - worst[0][1]) * 1000
    wall_ms = (worst[1][0] - worst[0][0]) * 1000
    assert last in window.log(), _(
        "only part of the {flood} messages reached the log within {timeout:.0f} s "
        "(README steps 3 and 4)").format(flood=FLOOD, timeout=TIMEOUT_S)
    assert busy_ms < LIMIT_MS, _(
        "while {flood} messages poured in, the main thread worked {busy_ms:.0f} ms "
        "({wall_ms:.0f} ms by the clock) without coming back to Tk's loop: for that long "
        "the window could not redraw or react to a click (more than {limit} ms feels "
        "frozen) — handle at most BATCH events per poll() and let after() call it again "
        "(README step 3)").format(flood=FLOOD, busy_ms=busy_ms, wall_ms=wall_ms, limit=LIMIT_MS)

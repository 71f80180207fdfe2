"""The parser and argument types every ``socketlab`` command shares, so a bad
value is one clear line.

Each type is an argparse ``type=``: it returns the value, or raises
``ArgumentTypeError``; ``Parser`` then prints ``socketlab server: error:
argument --port: …`` as one line, exit status 2, before a socket is opened.
Standard library only: server, client and inspector all use it.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import NoReturn

MAX_PORT = 65535


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line: the problem, and where to read
    more (argparse's usage block would bury that line under the options)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _whole(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}, not {text!r}") from None


def port(text: str) -> int:
    """A port to connect to or to watch: 1 to 65535."""
    value = _whole(text, f"a port number from 1 to {MAX_PORT}")
    if not 1 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"a port number from 1 to {MAX_PORT}, not {text}")
    return value


def listen_port(text: str) -> int:
    """A port to listen on: 1 to 65535, or 0 for any free port (the one taken is shown)."""
    what = f"a port number from 1 to {MAX_PORT} (or 0: any free port)"
    value = _whole(text, what)
    if not 0 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"{what}, not {text}")
    return value


def host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:7777`` for an IPv6 address), the port from 1 to 65535."""
    host, _, number = text.rpartition(":")
    if not host:
        raise argparse.ArgumentTypeError(f"HOST:PORT, e.g. 127.0.0.1:7777, not {text!r}")
    return host.removeprefix("[").removesuffix("]"), port(number)


def at_least(minimum: int) -> Callable[[str], int]:
    """A whole number of ``minimum`` or more."""

    def whole(text: str) -> int:
        value = _whole(text, f"a whole number of {minimum} or more")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"a whole number of {minimum} or more, not {text}")
        return value

    return whole


def rate(text: str) -> float:
    """A rate per second: 0 or more, finite."""
    what = "a number of 0 or more"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}, not {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{what}, not {text}")
    return value

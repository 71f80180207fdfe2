"""``socketlab client``: the Tk GUI, or with ``--tui`` the terminal client."""

from __future__ import annotations

import argparse
import logging
import sys

from socketlab import arguments
from socketlab.protocol import (
    DEFAULT_PORT,
    PinStore,
    ProtocolError,
    UserPinStore,
    check_login_name,
)

from . import tui
from .tk_missing import TK_MISSING


def _login_name(text: str) -> str:
    """A name the server would take (docs/protocol.md, section 3), checked before connecting."""
    try:
        return check_login_name(text)
    except ProtocolError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def build_parser(prog: str = "socketlab client") -> argparse.ArgumentParser:
    parser = arguments.Parser(
        prog=prog,
        description="socketlab chat client: the Tk window, or --tui for the terminal.",
    )
    parser.add_argument("--tui", action="store_true", help="use the terminal client")
    parser.add_argument(
        "--name", type=_login_name, help="your chat name (asked for when missing)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="server address (default %(default)s)")
    parser.add_argument(
        "--port",
        type=arguments.port,
        default=DEFAULT_PORT,
        help="server port (default %(default)s)",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="no encryption (the server must allow it), and no end-to-end whispers: "
        "plain is the early labs' protocol, whose servers know no e2e keys",
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="do not check the server's identity (only for the man-in-the-middle lab)",
    )
    parser.add_argument(
        "--keylog", metavar="FILE", help="append session keys to FILE for the inspector"
    )
    parser.add_argument(
        "--trace", metavar="FILE", help="write thread activity (JSON lines) to FILE"
    )
    parser.add_argument(
        "--no-e2e",
        action="store_true",
        help="no end-to-end whispers (behave like an old client: the server can read them)",
    )
    parser.add_argument(
        "--forget-server",
        type=arguments.host_port,
        metavar="HOST:PORT",
        help="forget the pinned identity of a server, then exit",
    )
    parser.add_argument(
        "--forget-user",
        nargs=2,
        metavar=("HOST:PORT", "NAME"),
        help="forget the pinned identity of a user on that server, then exit",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    return parser


def forget_server(host: str, port: int) -> int:
    """Remove the pin for ``host:port``; exit status 0 if there was one."""
    store = PinStore()
    if store.forget(host, port):
        print(f"forgot the pinned identity of {host}:{port} ({store.path})")
        return 0
    print(f"no identity pinned for {host}:{port} in {store.path}")
    return 1


def forget_user(host: str, port: int, name: str) -> int:
    """Remove the pin for user ``name`` on ``host:port``; exit status 0 if there was one."""
    store = UserPinStore()
    if store.forget(host, port, name):
        print(f"forgot the pinned identity of {name} on {host}:{port} ({store.path})")
        return 0
    print(f"no identity pinned for {name} on {host}:{port} in {store.path}")
    return 1


def main(argv: list[str] | None = None, prog: str = "socketlab client") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    # Whispers are end to end unless --no-e2e, or --plain: the early labs' plain
    # servers know no e2e keys and would refuse a login that carries one.
    args.e2e = not (args.no_e2e or args.plain)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    if args.forget_server:
        return forget_server(*args.forget_server)
    if args.forget_user:
        where, name = args.forget_user
        try:
            return forget_user(*arguments.host_port(where), name)
        except argparse.ArgumentTypeError as exc:
            parser.error(f"argument --forget-user: {exc}")
    if args.tui:
        try:
            return tui.run(
                args.host,
                args.port,
                args.name,
                mode="plain" if args.plain else "box",
                verify=not args.no_verify,
                keylog=args.keylog,
                trace=args.trace,
                e2e=args.e2e,
            )
        except KeyboardInterrupt:  # Ctrl-C while asked for a name: leave quietly
            return 130
    try:
        from . import gui  # here, so the terminal client works where Tk is missing
    except ModuleNotFoundError as exc:
        if exc.name not in ("socketlab.client.gui", "tkinter", "_tkinter"):
            raise
        sys.stderr.write(f"error: {TK_MISSING}; or use --tui for the terminal client\n")
        return 2
    return gui.main(args)


if __name__ == "__main__":
    sys.exit(main())

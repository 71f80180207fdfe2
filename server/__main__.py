"""``socketlab server``: run the chat server until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from socketlab.arguments import Parser, at_least, listen_port, rate
from socketlab.protocol import (
    DEFAULT_PORT,
    MAX_FRAME,
    SocketlabError,
    keylog_from_env,
    load_or_create_identity,
    socketlab_home,
)

from . import ENGINES
from .flood import FloodLimits

log = logging.getLogger("server")


def build_parser(prog: str = "socketlab server") -> argparse.ArgumentParser:
    parser = Parser(
        prog=prog, description="Run the socketlab chat server."
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (0.0.0.0 to serve a class; default %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=listen_port,
        default=DEFAULT_PORT,
        help="port to listen on, 0 for any free one (default %(default)s)",
    )
    parser.add_argument(
        "--allow-plaintext",
        action="store_true",
        help="also accept unencrypted (plain) sessions, for the labs",
    )
    parser.add_argument(
        "--keylog",
        metavar="FILE",
        help="append session keys for the inspector (else $SOCKETLAB_KEYLOG)",
    )
    parser.add_argument("--trace", metavar="FILE", help="write thread activity as JSON lines")
    parser.add_argument(
        "--engine",
        choices=sorted(ENGINES, reverse=True),
        default="threads",
        help="threads: a reader and a writer thread per client (the labs' design); "
        "events: one thread and a selectors loop, for a lecture hall of hundreds "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--max-clients",
        type=at_least(1),
        default=250,
        metavar="N",
        help="at most N logged-in users; more are refused with server_full (default %(default)s)",
    )
    parser.add_argument(
        "--max-pending",
        type=at_least(1),
        default=64,
        metavar="N",
        help="at most N connections not logged in yet; past that the oldest is evicted, "
        "so idle connections cannot lock users out (default %(default)s)",
    )
    parser.add_argument(
        "--max-pending-per-address",
        type=at_least(1),
        default=16,
        metavar="N",
        help="the same, per client IP address (default %(default)s)",
    )
    parser.add_argument(
        "--flood-rate",
        type=rate,
        default=FloodLimits().rate,
        metavar="PER_S",
        help="messages a second a client may send, sustained; past it the server stops "
        "reading that client, then warns (rate_limited), then drops it (excess_flood); "
        "0 turns flood control off (default %(default)g)",
    )
    parser.add_argument(
        "--flood-burst",
        type=at_least(1),
        default=FloodLimits().burst,
        metavar="N",
        help="messages a client may send at once before --flood-rate applies "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--sendq",
        type=at_least(MAX_FRAME),
        default=1_048_576,
        metavar="BYTES",
        help=f"drop a client with more than BYTES waiting for it; at least {MAX_FRAME}, "
        "one whole frame (default %(default)s)",
    )
    parser.add_argument(
        "--nagle",
        action="store_true",
        help="let the kernel hold a small message while the client has not yet "
        "acknowledged the one before (Nagle's algorithm, off by default): about a fifth "
        "less server CPU a delivery at 1,000 clients, up to 40 ms more latency",
    )
    parser.add_argument(
        "--identity",
        type=Path,
        metavar="FILE",
        help="the server's long-term key (default: SOCKETLAB_HOME/server_identity.key)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every connection")
    return parser


def raise_open_files(needed: int) -> None:
    """Raise this process's open-files limit towards ``needed`` (one per client), as far
    as the hard limit allows; say so when that is not enough. POSIX only: Windows has no
    such per-process limit on sockets."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        target = soft
    if target < needed:
        log.warning(
            "open files limited to %d (ulimit -n): fewer clients than --max-clients "
            "can connect; raise the hard limit (ulimit -Hn) to %d",
            target,
            needed,
        )


def main(argv: list[str] | None = None, prog: str = "socketlab server") -> int:
    args = build_parser(prog).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    if args.identity is not None and not args.identity.parent.is_dir():
        # A typo must not silently grow folders; only the default home is made.
        print(
            f"server: --identity: the folder {args.identity.parent} does not exist "
            "(create it first, or leave --identity out)",
            file=sys.stderr,
        )
        return 2
    identity_path = args.identity or socketlab_home() / "server_identity.key"
    try:
        identity = load_or_create_identity(identity_path)
        raise_open_files(args.max_clients + args.max_pending + 64)
        server = ENGINES[args.engine](
            args.host,
            args.port,
            allow_plaintext=args.allow_plaintext,
            identity=identity,
            keylog=keylog_from_env(args.keylog),
            trace=args.trace,
            max_clients=args.max_clients,
            max_pending=args.max_pending,
            max_pending_per_address=args.max_pending_per_address,
            flood=FloodLimits(rate=args.flood_rate, burst=args.flood_burst),
            sendq=args.sendq,
            nodelay=not args.nagle,
        )
        server.start()
    except SocketlabError as exc:
        hint = (
            " (another server running? choose another --port)"
            if exc.code == "address_in_use"
            else ""
        )
        print(f"server: {exc.message}{hint}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the trace or identity file cannot be written
        print(f"server: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    host, port = server.address
    log.info(
        "listening on %s:%d (%s; engine %s%s)",
        host,
        port,
        "box or plain" if args.allow_plaintext else "box only",
        args.engine,
        "; Nagle on" if args.nagle else "",
    )
    log.info("identity %s  (%s)", server.fingerprint, identity_path)
    if server.keylog is not None:
        log.warning(
            "writing session keys to %s: anyone with this file can read the chat",
            server.keylog.path,
        )
    try:
        # A timed wait: on Windows an untimed one would not see Ctrl-C.
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    log.info("shutting down")
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``socketlab`` command: one entry point, one verb per job.

Each verb belongs to the package that does the work and keeps its own parser;
this module only picks the package. The inspector's verbs sit at the top level
(``socketlab sniff``, not ``socketlab inspector sniff``) because they are what a
student types most, next to ``server`` and ``client``, as with ``git log``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import NamedTuple

from socketlab import __version__
from socketlab.arguments import Parser


class Verb(NamedTuple):
    module: str  # whose ``main(argv, prog=…)`` runs the verb
    passes_verb: bool  # True where that parser has the verb as its own subcommand
    summary: str


VERBS: dict[str, Verb] = {
    "server": Verb("socketlab.server.__main__", False, "run the chat server"),
    "client": Verb("socketlab.client.__main__", False,
                   "the chat window (--tui: the terminal client)"),
    "lab": Verb("socketlab.labs.cli", False,
                "the labs: list, start, check, sniff, load, handout"),
    "sniff": Verb("socketlab.inspector.__main__", True,
                  "live capture on loopback, decoded side by side (needs capture rights)"),
    "read": Verb("socketlab.inspector.__main__", True, "show a pcap or a proxy recording offline"),
    "proxy": Verb("socketlab.inspector.__main__", True,
                  "a tap that needs no rights: relay, record, torture or attack"),
    "chart": Verb("socketlab.inspector.__main__", True,
                  "draw a chart: threads, entropy, sizes, ladder"),
    "demo": Verb("socketlab.inspector.__main__", True,
                 "the whole story in one command: chat, capture, view, charts, report"),
    "wireshark": Verb("socketlab.inspector.wireshark", False, "the Wireshark dissector: where"),
    "notebooks": Verb("socketlab.notebooks", False,
                      "open the notebooks in JupyterLab (needs the notebooks extra)"),
}


def build_parser() -> argparse.ArgumentParser:
    width = max(len(name) for name in VERBS)
    listing = "\n".join(f"  {name:<{width}}  {verb.summary}" for name, verb in VERBS.items())
    parser = Parser(
        prog="socketlab",
        description="Build an encrypted, multithreaded TCP chat and watch it on the wire.",
        epilog=f"commands:\n{listing}\n\n'socketlab COMMAND --help' tells more about each.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"socketlab {__version__}")
    parser.add_argument("command", choices=list(VERBS), metavar="COMMAND",
                        help="what to do: one of the commands below")
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


EXIT_CTRL_C = 130  # what a shell reports for a command ended by SIGINT (128 + 2)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    verb = VERBS[args.command]
    try:
        module = importlib.import_module(verb.module)  # numpy, scapy…: seconds, a Ctrl-C may land
        if verb.passes_verb:
            return int(module.main([args.command, *args.args], prog="socketlab"))
        return int(module.main(args.args, prog=f"socketlab {args.command}"))
    except BrokenPipeError:  # piped into `head`, which stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:  # commands that stop on Ctrl-C catch it; this is the rest
        return stopped(f"socketlab {args.command}")


def stopped(prog: str) -> int:
    """Ctrl-C reached the top: one line, and the shell's status for it. A second Ctrl-C
    while the command's ``finally`` blocks clean up (processes, files) is ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass  # a closed or broken stdout: the line below goes to stderr all the same
    print(f"{prog}: stopped by Ctrl-C", file=sys.stderr, flush=True)
    return EXIT_CTRL_C

"""The inspector's verbs: ``socketlab sniff|read|proxy|chart|demo``.

Every expected failure (no capture rights, not a pcap, a bad key-log line, a
port in use, a target that refuses) is one line on stderr and exit status 2;
a bad argument is argparse's usage and one line, also status 2. A ``read``
that finds nothing to show says so in one line, with status 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from socketlab.arguments import Parser, host_port, listen_port, port
from socketlab.protocol import DEFAULT_PORT, SocketlabError

from .classify import VIEWS
from .decode import Frame, SessionDecoder
from .errors import CaptureError
from .events import Event
from .keylog_file import KeyLogFile
from .packets import Segment
from .printer import Printer
from .reassembly import Reassembler

EXIT_NOTHING = 1  # the command worked, and found nothing to show
EXIT_USAGE = 2


def _keys(path: str | None, *, live: bool = False) -> KeyLogFile | None:
    """The ``--keylog`` file: offline it must exist; live it may appear later."""
    if not path:
        return None
    keys = KeyLogFile(Path(path), must_exist=not live)
    if not keys.path.exists():
        print(f"inspector: {path} does not exist yet: sessions are decrypted once a server "
              f"or client started with --keylog {path} writes it", file=sys.stderr)
    return keys


def cmd_read(args: argparse.Namespace) -> int:
    from .pipeline import PcapSummary, decode_events, read_pcap

    path = Path(args.file)
    if not path.exists():
        raise CaptureError("cannot_open", f"{path}: no such file")
    jobs = _read_jobs(args.jobs, path)
    if jobs > 1:
        return _read_in_parallel(args, path, jobs)
    keys = _keys(args.keylog)
    printer = Printer(args.json)
    summary = PcapSummary()
    if path.suffix == ".jsonl":
        from .recording import read_recording

        items = decode_events(read_recording(path), keys, args.view)
    else:
        items = read_pcap(path, keys, port=args.port, summary=summary, view=args.view)
    shown = printer.emit(items)
    for note in summary.notes:
        print(f"inspector: {note}", file=sys.stderr)
    return _nothing_shown(path, args.port) if not shown else 0


def _nothing_shown(path: Path, port: int | None) -> int:
    where = f"on TCP port {port}" if port is not None else "over TCP"
    hint = " (leave out --port to see every port)" if port is not None else ""
    print(f"inspector: {path} holds no connection {where}{hint}", file=sys.stderr)
    return EXIT_NOTHING


# Below this size a second process costs more than it saves.
PARALLEL_FROM_BYTES = 4 << 20


def _read_jobs(asked: int | None, path: Path) -> int:
    """Processes for ``read``: as asked, else two for a large pcap if a second core is free."""
    if path.suffix == ".jsonl":
        return 1  # a recording is small, and its events come in one stream
    if asked is not None:
        return asked
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cores or 1) < 2 or path.stat().st_size < PARALLEL_FROM_BYTES:
        return 1
    return 2 if _core_to_spare(Path("/proc/loadavg")) else 1


def _core_to_spare(loadavg: Path) -> bool:
    """Whether the machine has a core nobody is using right now.

    Each worker reads the whole file and the parent merges their lines, so a
    second process that must share a busy core only adds that work (on a
    2-core machine with ten programs running: 45 % slower than one process).
    Linux counts the tasks running or ready to run (this one included) in
    ``/proc/loadavg``'s fourth field; without it, assume a free core.
    """
    try:
        running = int(loadavg.read_text().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return True
    return running < (os.cpu_count() or 1)


def _read_in_parallel(args: argparse.Namespace, path: Path, jobs: int) -> int:
    from .parallel_read import ReadJob, ReadTotals, read_lines
    from .pipeline import truncation_note

    printer = Printer(args.json)
    job = ReadJob(path, Path(args.keylog) if args.keylog else None, args.port, args.view,
                  args.json, printer.colour, printer.width, jobs)
    totals = ReadTotals()
    shown = printer.write(read_lines(job, totals))
    if totals.truncated_at is not None:
        print(f"inspector: {truncation_note(totals.truncated_at)}", file=sys.stderr)
    return _nothing_shown(path, args.port) if not shown else 0


def cmd_sniff(args: argparse.Namespace) -> int:
    from .sniffer import SniffProcess

    keys = _keys(args.keylog, live=True)
    capture = SniffProcess(args.iface, args.port, args.pcap)
    try:
        capture.start()  # raises CaptureError (no rights, no such interface) before any output
    except KeyboardInterrupt:
        return 0  # stopped before it started: start() left no capture behind
    print(f"sniffing {capture.iface}, tcp port {args.port} — Ctrl-C to stop", file=sys.stderr)
    reassembler = Reassembler()
    decoder = SessionDecoder(keys, view=args.view)
    printer = Printer(args.json)

    def show(segments: list[Segment]) -> None:
        printer.emit(decoded for seg in segments for event in reassembler.add(seg)
                     for decoded in decoder.add(event))

    stop = threading.Event()
    _on_terminate(stop, ctrl_c=True)  # never half-way through decoding a batch
    try:
        while not stop.is_set() and capture.running:
            show(capture.segments(timeout=0.2))
    except KeyboardInterrupt:
        pass
    finally:
        rest = capture.stop()
    show(rest)
    printer.emit(decoded for event in reassembler.finish() for decoded in decoder.add(event))
    stats = capture.stats
    if stats is None:
        raise CaptureError("capture_failed", "the capture process ended early"
                           + (f"; {args.pcap} holds every packet shown" if args.pcap else ""))
    dropped = f", {stats.dropped} dropped by the kernel" if stats.dropped else ""
    print(f"\n{stats.delivered} packets captured{dropped}"
          + (f"; pcap written to {args.pcap}" if args.pcap else ""), file=sys.stderr)
    return 0


def cmd_proxy(args: argparse.Namespace) -> int:
    from .proxy import Proxy

    host, target_port = args.target
    decoder = SessionDecoder(_keys(args.keylog, live=True), view=args.view)
    printer = Printer(args.json)
    events: queue.Queue[Event] = queue.Queue()
    proxy = Proxy(args.listen_host, args.listen, (host, target_port), on_event=events.put,
                  record=args.record, mitm=args.mitm, chunk=args.chunk, merge=args.merge,
                  seed=args.seed, direction=args.direction, tamper=args.tamper,
                  frame=args.frame, victim=args.victim)
    proxy.check_target()
    proxy.start()
    mode = " (MITM: substituting keys)" if args.mitm else ""
    if proxy.torture.active:
        mode += f" (torturing {' and '.join(proxy.tortured)}: " + ", ".join(
            f"{name} {value}" for name, value in (("chunk", args.chunk), ("merge", args.merge))
            if value is not None) + f", seed {args.seed})"
    if args.tamper:
        mode += (f" (tampering: {args.tamper} of frame {args.frame} after the handshake, "
                 f"victim {args.victim}, seed {args.seed})")
    print(f"proxy listening on {args.listen_host}:{proxy.address[1]} → {host}:{target_port}{mode}"
          " — Ctrl-C to stop", file=sys.stderr)
    stop = threading.Event()
    _on_terminate(stop)
    try:
        while not stop.is_set():
            try:
                event = events.get(timeout=0.2)
            except queue.Empty:
                continue
            printer.emit(decoder.add(event))
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
    while not events.empty():  # what the tap saw before the stop is shown too
        printer.emit(decoder.add(events.get_nowait()))
    print("proxy stopped", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise SocketlabError("bad_out", f"--out {args.out}: that is a file, and the demo "
                                        "writes a folder: give another name")
    run_demo(Path(args.out), sys.stdout, colour=sys.stdout.isatty(), prefer=args.capture)
    return 0


def _capture_frames(path: str, keylog: str | None) -> list[Frame]:
    from .chart_inputs import frames_of
    from .pipeline import decode_events, read_pcap

    keys = _keys(keylog)
    if path.endswith(".jsonl"):
        from .recording import read_recording

        return frames_of(decode_events(read_recording(path), keys))
    return frames_of(read_pcap(path, keys))


def cmd_chart(args: argparse.Namespace) -> int:
    from . import chart_inputs, charts
    from .trace_file import read_trace

    if args.show:
        _check_display()
    if args.kind == "threads":
        fig = charts.thread_timeline(read_trace(args.inputs))
    else:
        frames = _capture_frames(args.inputs[0], args.keylog)
        if not frames:
            raise SocketlabError("no_frames", f"{args.inputs[0]} holds no chat frames")
        if args.kind == "entropy":
            fig = charts.byte_histogram(*chart_inputs.plain_and_cipher(frames))
        elif args.kind == "sizes":
            rows = chart_inputs.message_sizes(frames)
            if not rows:
                raise SocketlabError("no_keys", "sizes need decrypted frames: give --keylog")
            fig = charts.bytes_per_message(rows)
        else:
            conns = chart_inputs.connections(frames)
            if not 1 <= args.conn <= len(conns):
                raise SocketlabError("bad_conn", f"--conn must be 1..{len(conns)}")
            conn = conns[args.conn - 1]
            fig = charts.ladder(chart_inputs.ladder_events(frames, conn),
                                client=chart_inputs.client_name(frames, conn))
    if args.out:
        print(f"wrote {charts.save_png(fig, args.out)}")
    if args.show:
        charts.show(fig)
    return 0


# matplotlib's backends that draw to files only: pyplot falls back to agg without a display.
_FILE_BACKENDS = frozenset({"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"})


def _check_display() -> None:
    """``--show`` needs a window: say so before drawing, where pyplot can open none."""
    import matplotlib.pyplot as plt  # only here: pyplot picks a GUI backend on import

    if plt.get_backend().lower() in _FILE_BACKENDS:
        raise SocketlabError("no_display", "--show needs a display to open a window, and "
                                           "there is none here: write a PNG with -o FILE.png")


def _chunk(text: str) -> int | str:
    if text == "random":
        return text
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a size of 1 or more, or 'random', not {text!r}")
    return int(text)


def _jobs(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"a number of processes from 1 to 64, not {text!r}")
    return int(text)


def _on_terminate(stop: threading.Event, *, ctrl_c: bool = False) -> None:
    """SIGTERM and a closing terminal (SIGHUP) stop the loop like Ctrl-C does (where the
    platform has them); with ``ctrl_c`` Ctrl-C too sets ``stop`` instead of raising
    KeyboardInterrupt wherever the loop happens to be."""
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP", *(["SIGINT"] if ctrl_c else [])):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), lambda *_: stop.set())


def build_parser(prog: str = "socketlab") -> argparse.ArgumentParser:
    parser = Parser(prog=prog,
                                     description="The inspector: watch the chat on the wire.")
    sub = parser.add_subparsers(dest="command", required=True)

    def output(p: argparse.ArgumentParser) -> None:
        p.add_argument("--keylog", metavar="FILE", help="decrypt sessions listed in this key log")
        p.add_argument("--json", action="store_true", help="one JSON object per frame")
        p.add_argument("--as", dest="view", choices=("auto", *VIEWS), default="auto",
                       help="show every connection as raw bytes, length-prefixed frames or "
                            "socketlab messages (default auto: picked per connection from "
                            "its first bytes)")

    p = sub.add_parser("sniff", help="live capture on loopback (needs capture rights)",
                       description="Capture the chat live on loopback and show every frame as "
                                   "it crosses the wire, decrypted where the key log allows. "
                                   "Needs capture rights (root, or Npcap on Windows).")
    p.add_argument("--port", type=port, default=DEFAULT_PORT,
                   help="the TCP port to watch (default %(default)s)")
    p.add_argument("--iface", help="interface (default: this OS's loopback)")
    p.add_argument("--pcap", metavar="OUT", help="also write the packets to this pcap")
    output(p)
    p.set_defaults(run=cmd_sniff)

    p = sub.add_parser("read", help="show a pcap (or a proxy recording .jsonl) offline",
                       description="Show a saved capture (pcap, pcapng) or a proxy recording "
                                   "(.jsonl) frame by frame, as sniff shows it live.")
    p.add_argument("file", metavar="FILE",
                   help="a pcap or pcapng capture, or a proxy recording (.jsonl)")
    p.add_argument("--port", type=port, help="only this TCP port")
    p.add_argument("--jobs", type=_jobs, metavar="N",
                   help="decoding processes (default: 2 for a pcap over 4 MB when a second "
                        "core is free, else 1); the output is the same")
    output(p)
    p.set_defaults(run=cmd_read)

    p = sub.add_parser("proxy", help="a tap that needs no rights: relay and record",
                       description="Relay a chat through this tap and show what crosses it: "
                                   "clients connect to --listen, the tap connects to --target. "
                                   "It can also record, torture the framing, tamper, or attack.")
    p.add_argument("--listen", type=listen_port, required=True, metavar="PORT",
                   help="the port clients connect to (0: any free port, shown at start)")
    p.add_argument("--listen-host", default="127.0.0.1", metavar="HOST",
                   help="the address to listen on (default %(default)s)")
    p.add_argument("--target", type=host_port, required=True, metavar="HOST:PORT",
                   help="the server to relay to, e.g. 127.0.0.1:7777")
    p.add_argument("--record", metavar="FILE", help="record both directions (JSON lines)")
    p.add_argument("--mitm", action="store_true",
                   help="perform the key-substitution attack (a lesson on pinning)")
    torture = p.add_argument_group("framing torture (TCP is a byte stream)")
    torture.add_argument("--chunk", type=_chunk, metavar="N|random",
                         help="deliver in pieces of N bytes, one send each with a pause "
                              "(1: byte by byte), or 'random' pieces of 1-7 bytes")
    torture.add_argument("--merge", type=int, metavar="N",
                         help="hold 2..N reads and deliver them with one send")
    torture.add_argument("--seed", type=int, default=0,
                         help="seed of the random draws (chunks, merges, flipped bits)")
    torture.add_argument("--direction", choices=("both", "c2s", "s2c"), default="both",
                         help="which way to torture (default both)")
    tamper = p.add_argument_group("tamper with one frame per connection (lab 07)")
    modes = tamper.add_mutually_exclusive_group()
    for kind, says in (("replay", "deliver the frame twice"),
                       ("reorder", "deliver the frame after the next one"),
                       ("reflect", "send the victim's own frame back to it"),
                       ("flip", "flip one random bit of the frame's body")):
        modes.add_argument(f"--{kind}", dest="tamper", action="store_const", const=kind,
                           help=says)
    tamper.add_argument("--frame", type=int, default=1, metavar="N",
                        help="which frame after the handshake (default 1: the first sealed)")
    tamper.add_argument("--victim", choices=("server", "client"), default="server",
                        help="who receives the tampered frame (default server)")
    output(p)
    p.set_defaults(run=cmd_proxy)

    p = sub.add_parser("chart", help="draw a chart as PNG (-o) or in a window (--show)",
                       description="Draw one chart from trace files or a capture: as a PNG "
                                   "(-o), in a window (--show), or both.")
    p.add_argument("kind", choices=("threads", "entropy", "sizes", "ladder"),
                   help="threads: timeline of --trace files; entropy: byte histogram of "
                        "plaintext vs ciphertext; sizes: bytes per message; ladder: one "
                        "connection's message sequence")
    p.add_argument("inputs", nargs="+", metavar="FILE",
                   help="trace files (threads), or one pcap / proxy recording")
    p.add_argument("--keylog", metavar="FILE", help="key log, to decrypt sessions")
    p.add_argument("--conn", type=int, default=1, help="ladder: which connection (1 = first)")
    p.add_argument("-o", "--out", metavar="PNG", help="write the chart to this PNG file")
    p.add_argument("--show", action="store_true", help="open an interactive window")
    p.set_defaults(run=cmd_chart)

    p = sub.add_parser("demo", help="the whole story in one command",
                       description="The whole story in one command: a server and scripted "
                                   "clients chat, the inspector captures them, and you get the "
                                   "side-by-side view, charts and an HTML report.")
    p.add_argument("--out", default="demo-out", help="folder for the report (default demo-out)")
    p.add_argument("--capture", choices=("sniff", "proxy"), default="sniff",
                   help="sniff where possible (default), or always use the proxy")
    p.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "socketlab") -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.command == "chart" and not (args.out or args.show):
        print(f"{prog} chart: error: give -o FILE.png, --show, or both", file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except SocketlabError as exc:
        print(f"inspector: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. piped into `head`; before OSError, its base class
        return 0
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"inspector: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())

"""``socketlab lab sniff NN``: run a lab's demo and show what crossed the wire.

Each lab's ``demo.py`` says how to start its server from a folder (the
student's work, the starter or the solution) and runs a short scripted
conversation against an address it is given. That address is the server
itself while the inspector sniffs loopback (where the user may capture), or
the inspector's proxy in front of it (where they may not); either way the
same decoder shows the bytes, as ``AS`` in ``demo.py`` says: raw bytes,
frames, or socketlab messages.

While the demo runs, ``$SOCKETLAB_KEYLOG`` names a key-log file; from lab 06
on the lab's code writes session keys there, and the view decrypts with them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from socketlab.inspector.pipeline import decode_events
from socketlab.inspector.tap import open_tap
from socketlab.inspector.view import render
from socketlab.protocol import read_keylog

from . import harness
from .catalog import Lab, LabError
from .language import _

Say = Callable[[str], None]


def load_demo(lab: Lab) -> ModuleType:
    path = lab.path / "demo.py"
    if not path.is_file():
        raise LabError(_("lab {number} puts nothing new on the wire: there is nothing to "
                         "sniff").format(number=lab.number))
    spec = importlib.util.spec_from_file_location(f"socketlab_lab{lab.number}_demo", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def _students_code(lab: Lab) -> Iterator[list[str]]:
    """Run the demo; a mistake in the student's code is one line, never a traceback.

    What the student's threads raise (the server's) is kept, not printed: it is
    the likely cause when a client then fails, and is named instead.
    """
    crashes: list[str] = []
    original = threading.excepthook

    def keep(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
            crashes.append(_mistake(args.exc_value))

    threading.excepthook = keep
    try:
        yield crashes
    except Exception as error:
        if not (isinstance(error, harness.StudentCodeError)
                or harness.student_location(error.__traceback__)):
            raise  # the kit's own failure (a capture that cannot start): not the student's
        raise LabError(_("{error} — the demo needs the lab done first: 'socketlab lab check "
                         "{number}' shows what is left").format(
            error=crashes[0] if crashes else _mistake(error), number=lab.number)) from None
    finally:
        threading.excepthook = original


def _mistake(error: BaseException) -> str:
    if isinstance(error, harness.StudentCodeError):
        return str(error)
    where = harness.student_location(error.__traceback__)
    return harness.describe(error) + (f" ({where})" if where else "")


def sniff_lab(lab: Lab, target: Path, say: Say, *, prefer: str = "sniff",
              pcap: Path | None = None, colour: bool = False) -> int:
    """Run ``lab``'s demo against ``target`` through a tap; print the view. Frames shown."""
    demo = load_demo(lab)
    with tempfile.TemporaryDirectory(prefix="socketlab-sniff-") as tmp:
        keylog = Path(tmp) / "keylog.txt"
        saved = {name: os.environ.get(name)
                 for name in ("SOCKETLAB_LAB_TARGET", "SOCKETLAB_KEYLOG")}
        os.environ["SOCKETLAB_LAB_TARGET"] = str(target)
        os.environ["SOCKETLAB_KEYLOG"] = str(keylog)
        try:
            with _students_code(lab) as crashes:
                address, stop = demo.start(target)
                try:
                    tap = open_tap(address[1], pcap, prefer=prefer)
                    say(_("capturing with {method}: {how}").format(method=tap.method,
                                                                   how=tap.explanation) + "\n")
                    try:
                        demo.run_clients(target, ("127.0.0.1", tap.client_port))
                    finally:
                        tap.stop()
                finally:
                    crashed = list(crashes)  # closing the listener is ours, not a crash
                    stop()
            for crash in crashed:
                say(_("meanwhile {error}").format(error=crash))
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        keys = read_keylog(keylog) if keylog.exists() else None
        if pcap is not None and keys:
            shutil.copy(keylog, pcap.with_suffix(".keylog"))
    items = list(decode_events(tap.events(), keys, getattr(demo, "AS", "auto")))
    for block in render(items, colour=colour):
        say(block)
    if pcap is not None:
        again = f"socketlab read {pcap}" + (
            f" --keylog {pcap.with_suffix('.keylog')}" if keys else "")
        say("\n" + _("the capture is in {pcap} — look again with: {command}").format(
            pcap=pcap, command=again))
    return len(items)

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
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from socketlab.inspector.pipeline import decode_events
from socketlab.inspector.tap import open_tap
from socketlab.inspector.view import render
from socketlab.protocol import read_keylog

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
                stop()
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

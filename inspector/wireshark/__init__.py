"""socketlab's Wireshark dissector (``socketlab.lua``), and where Wireshark looks for it.

    socketlab wireshark      # the dissector's path, the folder to copy it to, the command
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from socketlab.arguments import Parser

DISSECTOR = Path(__file__).with_name("socketlab.lua")


def plugin_folder(platform: str = sys.platform, env: Mapping[str, str] = os.environ,
                  home: Path | None = None) -> Path:
    """Wireshark's personal Lua plugins folder (Help > About Wireshark > Folders)."""
    home = home if home is not None else Path.home()
    if platform == "win32":
        return Path(env.get("APPDATA", home / "AppData" / "Roaming")) / "Wireshark" / "plugins"
    return home / ".local" / "lib" / "wireshark" / "plugins"  # Linux, macOS, the BSDs


def build_parser(prog: str = "socketlab wireshark") -> argparse.ArgumentParser:
    return Parser(
        prog=prog, description="Where to put socketlab's Wireshark dissector (a Lua plugin).")


def main(argv: Sequence[str] | None = None, prog: str = "socketlab wireshark") -> int:
    build_parser(prog).parse_args(argv)
    folder = plugin_folder()
    copy = (f'New-Item -ItemType Directory -Force "{folder}"; Copy-Item "{DISSECTOR}" "{folder}"'
            if sys.platform == "win32" else f'mkdir -p "{folder}" && cp "{DISSECTOR}" "{folder}/"')
    print(f"the dissector:        {DISSECTOR}\n"
          f"Wireshark loads from: {folder}\n\n"
          f"copy it there:\n  {copy}\n\n"
          "then restart Wireshark (or Analyze > Reload Lua Plugins) and open a capture:\n"
          "socketlab conversations are recognised by their first frame, on any port.\n"
          f"Without installing: tshark -X lua_script:{DISSECTOR} -r capture.pcap -V")
    return 0

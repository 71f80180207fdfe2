"""The inspector's errors, each a ``SocketlabError`` with a stable ``code``.

The command line prints any of them as one line and exits with status 2.
"""

from __future__ import annotations

from socketlab.protocol import SocketlabError

NO_RIGHTS_HELP = (
    "capturing packets needs extra rights. Run as root (sudo) or as Administrator; "
    "or grant this Python the capture capability: "
    "sudo setcap cap_net_raw+eip $(readlink -f $(which python3)); "
    "on Windows install Npcap (https://npcap.com) with loopback support. "
    "Or use `socketlab proxy`, which needs no rights."
)


class CaptureError(SocketlabError):
    """A capture file or a live capture cannot be used. Codes: ``cannot_open``,
    ``not_pcap``, ``cannot_write``, ``no_loopback``, ``no_capture_rights``,
    ``no_such_interface``, ``capture_failed``."""


class ProxyError(SocketlabError):
    """The proxy cannot do its job. Codes: ``port_in_use``, ``port_denied``,
    ``listen_failed``, ``record_failed``, ``target_refused``, ``target_unreachable``,
    ``not_started``, ``already_started``."""


class KeyLogFileError(SocketlabError):
    """A ``--keylog`` file cannot be used. Codes: ``no_keylog`` (no such file),
    ``cannot_read_keylog`` (a folder, no rights). A bad line is ``protocol.KeyLogError``."""


class RecordingError(SocketlabError):
    """A recording file has a line that cannot be read."""

    def __init__(self, message: str, *, line_no: int) -> None:
        super().__init__("bad_recording", f"line {line_no}: {message}")
        self.line_no = line_no

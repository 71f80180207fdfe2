"""A private virtual X display (Xvfb) for the GUI tests, the labs' Tk checks in CI,
the screenshots and the GUI benchmark.

Xvfb exists only on X11 systems; ``XvfbUnavailable`` says so elsewhere, and
callers decide whether that means "skip" (a laptop) or "fail" (CI).
``-displayfd`` makes Xvfb pick a free display number and write it to a pipe
once it accepts connections, so there is no guessing and no sleep.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
from types import TracebackType


class XvfbUnavailable(RuntimeError):
    """No virtual display can be had here (Xvfb missing or failed to start)."""


class Xvfb:
    """``with Xvfb() as display:`` runs Xvfb; ``display`` is e.g. ``":3"``.

    ``activate`` (the default) points ``$DISPLAY`` at it for the duration.
    """

    def __init__(
        self, screen: str = "1280x800x24", *, activate: bool = True, timeout: float = 10.0
    ):
        self.screen = screen
        self.activate = activate
        self.timeout = timeout
        self.display: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._saved_display: str | None = None
        # A file, not a pipe: Xvfb warns on stderr while it runs, and a full pipe would block it.
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()

    def start(self) -> str:
        exe = shutil.which("Xvfb")
        if exe is None:
            raise XvfbUnavailable("Xvfb is not installed (Debian/Ubuntu: apt-get install xvfb)")
        read_end, write_end = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [
                    exe,
                    "-displayfd",
                    str(write_end),
                    "-screen",
                    "0",
                    self.screen,
                    "-nolisten",
                    "tcp",
                ],
                pass_fds=(write_end,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._errors,
            )
        finally:
            os.close(write_end)
        try:
            number = self._read_display_number(read_end)
        finally:
            os.close(read_end)
        self.display = f":{number}"
        if self.activate:
            self._saved_display = os.environ.get("DISPLAY")
            os.environ["DISPLAY"] = self.display
        return self.display

    def _read_display_number(self, fd: int) -> int:
        assert self._proc is not None
        data = b""
        deadline = time.monotonic() + self.timeout
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise XvfbUnavailable(f"Xvfb gave no display number within {self.timeout:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            chunk = os.read(fd, 16) if ready else b""
            if ready and not chunk:  # Xvfb exited before it was ready
                err = self._stderr_tail()
                self.stop()
                raise XvfbUnavailable(f"Xvfb did not start: {err or 'no message'}")
            data += chunk
        return int(data.strip())

    def _stderr_tail(self) -> str:
        assert self._proc is not None
        try:
            self._proc.wait(2)
        except subprocess.TimeoutExpired:
            return ""
        self._errors.seek(0)
        return self._errors.read().decode(errors="replace").strip()[-300:]

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        self._errors.close()
        self._proc = None
        if self.activate and self.display is not None:
            if self._saved_display is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = self._saved_display

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

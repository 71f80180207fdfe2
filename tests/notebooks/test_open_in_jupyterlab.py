"""``socketlab notebooks``, as a student uses it: JupyterLab starts on the notebooks,
a double-click on one opens it as a notebook (not as a Python text file), and its
first cell runs in a live kernel.

Real parts: the ``socketlab notebooks`` command (JupyterLab on 127.0.0.1, a free
port, a token) and headless Chromium, driven through its DevTools protocol with
real mouse and key events. Jupyter's own settings, workspaces and checkpoints go
to the test's folder, never the user's or the checkout.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext
import pytest
import websocket

from notebooks import execute

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "socketlab-test"
STARTUP = 90.0  # seconds for JupyterLab or the page to come up on two busy cores
NOTEBOOK = execute.sources()[0]
# The main area's visible document, whatever kind it is.
CURRENT = "document.querySelector('#jp-main-dock-panel .jp-MainAreaWidget:not(.lm-mod-hidden)')"
FIRST_CODE_CELL = f"{CURRENT}?.querySelector('.jp-CodeCell')"

pytestmark = [pytest.mark.needs_tool("chromium"), pytest.mark.timeout(300)]


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


@dataclass
class Lab:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """``socketlab notebooks`` on a free port, until it answers."""
    jupyter = tmp_path / "jupyter"
    settings = jupyter / "settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    # No autosave: the test must leave the checkout's notebook as it was.
    (settings / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
           "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(jupyter / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(jupyter / "workspaces")}
    port = free_port()
    args = ["--no-browser", "--ip=127.0.0.1", f"--port={port}",
            f"--IdentityProvider.token={TOKEN}",
            f"--FileCheckpoints.checkpoint_dir={jupyter / 'checkpoints'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # CI runs as root; jupyter refuses it otherwise
    log = tmp_path / "lab.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "socketlab", "notebooks", *args],
                                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP
        while not _answers(f"{url}/api/status?token={TOKEN}"):
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "JupyterLab did not answer within the limit"
            time.sleep(0.3)
        yield Lab(url, proc, log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # jupyter shuts its kernels down on SIGTERM
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Browser:
    """Headless Chromium with one page, driven through the DevTools protocol."""

    def __init__(self, profile: Path) -> None:
        binary = shutil.which("chromium") or "chromium"
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--user-data-dir={profile}",
             "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        active = profile / "DevToolsActivePort"  # Chromium writes its port here
        deadline = time.monotonic() + STARTUP
        while not active.exists() or not active.read_text().strip():
            assert self.proc.poll() is None, "chromium exited at start"
            assert time.monotonic() < deadline, "chromium did not start"
            time.sleep(0.1)
        port = active.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            page = next(t for t in json.load(reply) if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        self.ws.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:  # events may come first
            reply = json.loads(self.ws.recv())
            if reply.get("id") == number:
                assert "error" not in reply, reply
                return reply["result"]  # type: ignore[no-any-return]

    def js(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = STARTUP) -> Any:
        """The first truthy value of ``expression``, polled."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if value := self.js(expression):
                return value
            time.sleep(0.25)
        self.screenshot(Path(os.environ.get("PYTEST_SHOTS", "/tmp")) / "jupyterlab-fail.png")
        pytest.fail(f"{what}: not within {timeout:.0f} s")

    def click(self, x: float, y: float, count: int = 1) -> None:
        for n in range(1, count + 1):  # a double-click is two clicks, the second counted 2
            for kind in ("mousePressed", "mouseReleased"):
                self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                          clickCount=n)

    def shift_enter(self) -> None:
        for kind in ("rawKeyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                      windowsVirtualKeyCode=13, modifiers=8)  # 8: Shift

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot")["data"]))

    def close(self) -> None:
        self.ws.close()
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    chromium = Browser(tmp_path / "chromium")
    try:
        yield chromium
    finally:
        chromium.close()


def centre_of(element: str) -> str:
    """JS: the centre of ``element`` once it is laid out, else null."""
    return (f"(() => {{ const e = {element}; if (!e) return null;"
            " const r = e.getBoundingClientRect();"
            " return r.width ? {x: r.x + r.width / 2, y: r.y + r.height / 2} : null; })()")


def test_a_double_click_opens_a_notebook_that_runs(lab: Lab, browser: Browser,
                                                   tmp_path: Path) -> None:
    before = NOTEBOOK.read_bytes()
    first_code = next(c for c in jupytext.read(NOTEBOOK).cells if c.cell_type == "code")
    browser.call("Page.navigate", url=f"{lab.url}/lab?token={TOKEN}")

    item = ("[...document.querySelectorAll('.jp-DirListing-itemText')]"
            f".find(e => e.textContent.trim() === {json.dumps(NOTEBOOK.name)})")
    spot = browser.wait_for(centre_of(item), f"{NOTEBOOK.name} in the file browser")
    browser.click(spot["x"], spot["y"], count=2)

    opened = browser.wait_for(
        f"(() => {{ const w = {CURRENT}; return w && w.querySelector('.jp-Cell, .jp-FileEditor')"
        " ? {notebook: w.classList.contains('jp-NotebookPanel'),"
        " editor: !!w.querySelector('.jp-FileEditor'),"
        " tab: document.querySelector('.lm-DockPanel-tabBar .lm-mod-current"
        " .lm-TabBar-tabLabel')?.textContent} : null; })()",
        "a document opened by the double-click")
    assert opened == {"notebook": True, "editor": False, "tab": NOTEBOOK.name}

    # The notebook's cells, not the file's text: its first code cell holds that cell's code.
    editor = browser.wait_for(
        f"{FIRST_CODE_CELL}?.querySelector('.jp-InputArea-editor')?.textContent",
        "the first code cell")
    assert editor.startswith("".join(first_code.source.splitlines())[:60])

    # And it runs: select the cell, Shift+Enter, see its number.
    spot = browser.wait_for(centre_of(f"{FIRST_CODE_CELL}?.querySelector('.jp-InputPrompt')"),
                            "the first code cell's prompt")
    browser.click(spot["x"], spot["y"])
    browser.shift_enter()
    ran = f"{FIRST_CODE_CELL}?.querySelector('.jp-InputPrompt')?.textContent.includes('[1]')"
    dialog = "document.querySelector('.jp-Dialog .jp-Dialog-header')?.textContent"
    # JupyterLab may first ask for a kernel (jupytext's notebook viewer does not start
    # the notebook's own by itself): Python 3 is offered, and Select runs the cell.
    if browser.wait_for(f"({ran} && 'ran') || {dialog}", "the cell run, or a question",
                        timeout=60) != "ran":
        assert browser.js(dialog) == "Select Kernel"
        offered = browser.js("(() => { const s = document.querySelector('.jp-Dialog select');"
                             " return s.options[s.selectedIndex].textContent; })()")
        assert offered.startswith("Python 3"), offered
        spot = browser.wait_for(
            centre_of("document.querySelector('.jp-Dialog-button.jp-mod-accept')"), "Select")
        browser.click(spot["x"], spot["y"])
        assert browser.wait_for(ran, "the first cell run by the kernel", timeout=60) is True
    browser.screenshot(tmp_path / "notebook.png")
    assert NOTEBOOK.read_bytes() == before  # opened and run, never saved over

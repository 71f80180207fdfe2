"""Regenerate the docs' screenshots of the Tk client: ``python -m tools.screenshots``.

Starts its own Xvfb display, a server and scripted clients, and writes
``connect-dialog.png``, ``chat.png`` (two users chatting, a whisper each
way, a third user joining), ``chat-ko.png`` (the same in Korean, with
SOCKETLAB_LANG=ko and Hangul names), ``e2e-whisper.png`` (end-to-end whispers marked
with a padlock, a new contact's key, an old client's transport-only whisper)
and ``identity-warning.png`` (the man-in-the-middle warning) into ``--out``
(default ``docs/images``). Keys and pins live in a temporary home.
Needs Xvfb and ImageMagick's ``import`` (Linux; CI installs both).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tkinter as tk
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from socketlab.client.chat_client import ChatClient
from socketlab.client.gui import ChatApp, Settings
from socketlab.protocol import DEFAULT_PORT, PinStore
from socketlab.server.app import ChatServer, ListenError
from tools.xvfb import Xvfb, XvfbUnavailable


def _pump(root: tk.Tk, until: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout:g} s")
        root.update()
        time.sleep(0.01)


def _settle(root: tk.Misc, seconds: float = 0.3) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        root.update()
        time.sleep(0.01)


def _grab(window: tk.Tk | tk.Toplevel, path: Path) -> None:
    """Write the toplevel ``window`` (as drawn on the X display) to ``path``."""
    _settle(window)
    subprocess.run(["import", "-window", window.wm_frame(), str(path)], check=True)
    print(f"wrote {path}")


def _start_server() -> ChatServer:
    # The usual port, so the pictures show what users will see; any port if it is busy.
    for port in (DEFAULT_PORT, 0):
        server = ChatServer("127.0.0.1", port)
        try:
            server.start()
        except ListenError:
            continue
        return server
    raise ListenError("listen_failed", "no port for the screenshot server")


def _home(pins: PinStore, name: str) -> Path:
    """Each user's own folder (identity and known_users) next to the pins."""
    return pins.path.parent / name


def _connect_dialog(root: tk.Tk, server: ChatServer, pins: PinStore, out: Path) -> None:
    host, port = server.address
    app = ChatApp(root, Settings(host=host, port=port, pins=pins, home=_home(pins, "alice")))
    app.dialog.entries["name"].insert(0, "alice")
    _grab(root, out / "connect-dialog.png")
    app.close()


def _log_in(root: tk.Tk, server: ChatServer, pins: PinStore, name: str, home: str = "") -> ChatApp:
    host, port = server.address
    settings = Settings(host=host, port=port, name=name, pins=pins, home=_home(pins, home or name))
    app = ChatApp(root, settings, connect_now=True)
    _pump(root, lambda: app.client is not None, "login")
    return app


@dataclass(frozen=True)
class _ChatScript:
    """Who says what in a chat picture: ``me`` in the window, ``friend`` and then
    ``late`` headless; ``language`` is SOCKETLAB_LANG while the window is drawn."""

    picture: str
    language: str
    me: str
    friend: str
    late: str
    said: tuple[str, ...]  # friend, me, friend (the last one is omitted when empty)
    whispered: tuple[str, str]  # friend to me, me to friend
    hello: str  # late, on joining
    draft: str  # my whisper to late, typed but not sent


_CHATS = (
    _ChatScript(
        "chat.png", "en", "alice", "bob", "carol",
        said=(
            "hi alice! is the server encrypting this?",
            "yes: X25519 for the key, XSalsa20-Poly1305 for every frame",
            "nice. I'll sniff it with the inspector and see",
        ),
        whispered=("psst: do you have lab 07 done?", "almost, the replay check is tricky"),
        hello="hello both, what did I miss?",
        draft="welcome! see the whisper tag?",
    ),
    _ChatScript(
        "chat-ko.png", "ko", "민수", "지은", "준호",
        said=(
            "민수야, 이 메시지도 서버가 암호화하고 있어?",
            "응: 키는 X25519로 정하고, 프레임마다 XSalsa20-Poly1305로 잠가",
            "",
        ),
        whispered=(
            "랩 07 다 했어? 재전송(replay) 확인이 어렵네",
            "거의 다 했어. 논스(nonce)를 다시 쓰면 안 돼",
        ),
        hello="안녕하세요! 뭐 놓쳤어요?",
        draft="어서 와요! 귓속말 표시 보여요?",
    ),
)


@contextmanager
def _language(language: str) -> Iterator[None]:
    before = os.environ.get("SOCKETLAB_LANG")
    os.environ["SOCKETLAB_LANG"] = language
    try:
        yield
    finally:
        if before is None:
            del os.environ["SOCKETLAB_LANG"]
        else:
            os.environ["SOCKETLAB_LANG"] = before


def _chat(script: _ChatScript) -> Callable[[tk.Tk, ChatServer, PinStore, Path], None]:
    """Two users chatting, a whisper each way, a third user joining (``script``'s words)."""

    def shoot(root: tk.Tk, server: ChatServer, pins: PinStore, out: Path) -> None:
        with _language(script.language):
            _chat_as(script, root, server, pins, out)

    return shoot


def _chat_as(
    script: _ChatScript, root: tk.Tk, server: ChatServer, pins: PinStore, out: Path
) -> None:
    host, port = server.address
    app = _log_in(root, server, pins, script.me)
    clients: list[ChatClient] = []

    def join(name: str) -> ChatClient:
        client = ChatClient(host, port, pins=pins, e2e=True, home=_home(pins, name))
        client.connect()
        client.login(name)
        clients.append(client)
        _pump(root, lambda: name in app.window.user_names(), f"{name} joining")
        return client

    def gui_says(line: str) -> None:
        app.send_line(line)
        _settle(root, 0.15)

    def says(client: ChatClient, text: str, to: str | None = None) -> None:
        if to is None:
            client.say(text)
        else:
            client.whisper(to, text)
        _settle(root, 0.15)

    try:
        friend = join(script.friend)
        first, reply, more = script.said
        says(friend, first)
        gui_says(reply)
        if more:
            says(friend, more)
        says(friend, script.whispered[0], to=script.me)
        gui_says(f"/w {script.friend} {script.whispered[1]}")
        says(join(script.late), script.hello)
        app.window.whisper_to(script.late)
        app.window.entry.insert("end", script.draft)
        _grab(root, out / script.picture)
    finally:
        for client in clients:
            client.close()
        app.close()


def _e2e_whisper(root: tk.Tk, server: ChatServer, pins: PinStore, out: Path) -> None:
    """End-to-end whispers as alice sees them: bob's (a new contact, then verified), and
    carol's from an old client, which the server could read."""
    host, port = server.address
    # Fresh homes: alice and bob meet for the first time here (in chat.png's homes they
    # know each other's identities already).
    app = _log_in(root, server, pins, "alice", home="alice-e2e")
    clients: list[ChatClient] = []
    try:
        for name, e2e in (("bob", True), ("carol", False)):
            client = ChatClient(host, port, pins=pins, e2e=e2e, home=_home(pins, f"{name}-e2e"))
            client.connect()
            client.login(name)
            clients.append(client)
        bob, carol = clients
        _pump(root, lambda: len(app.window.user_names()) == 3, "bob and carol joining")
        bob.whisper("alice", "the server only relays this: it cannot open the box")
        _pump(root, lambda: app.window.icon_lines("lock"), "bob's end-to-end whisper")
        app.send_line("/w bob and my answer is sealed for your key alone")
        _settle(root, 0.2)
        carol.whisper("alice", "psst, is lab 10 hard?")
        _settle(root, 0.2)
        app.send_line("/w carol your client is old: the server can read this one")
        _settle(root, 0.2)
        app.send_line("/fingerprint")
        _grab(root, out / "e2e-whisper.png")
    finally:
        for client in clients:
            client.close()
        app.close()


def _identity_warning(root: tk.Tk, impostor: ChatServer, pins: PinStore, out: Path) -> None:
    """A server with another key where ``pins`` remember the chat server: the MITM warning."""
    host, port = impostor.address
    settings = Settings(host=host, port=port, name="alice", pins=pins, home=_home(pins, "alice"))
    app = ChatApp(root, settings, connect_now=True)
    _pump(root, lambda: app.warning is not None, "the identity warning")
    assert app.warning is not None
    _grab(app.warning, out / "identity-warning.png")
    app.close()


def _shoot(
    shot: Callable[[tk.Tk, ChatServer, PinStore, Path], None],
    server: ChatServer,
    pins: PinStore,
    out: Path,
) -> None:
    root = tk.Tk(className="socketlab")
    shot(root, server, pins, out)
    del root
    gc.collect()  # free the Tk interpreter here, on the main thread


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.screenshots", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--out", type=Path, default=Path("docs/images"), help="folder (default %(default)s)"
    )
    args = parser.parse_args(argv)
    if shutil.which("import") is None:
        sys.stderr.write("error: ImageMagick's `import` is needed (apt-get install imagemagick)\n")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with Xvfb("1280x800x24"), tempfile.TemporaryDirectory() as home:
            pins = PinStore(Path(home) / "known_servers")
            server = _start_server()
            host, port = server.address
            try:
                _shoot(_connect_dialog, server, pins, args.out)
                for script in _CHATS:  # the first pins the server's key
                    _shoot(_chat(script), server, pins, args.out)
                _shoot(_e2e_whisper, server, pins, args.out)
            finally:
                server.stop()
            with ChatServer(host, port) as impostor:  # same place, another key
                _shoot(_identity_warning, impostor, pins, args.out)
    except XvfbUnavailable as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

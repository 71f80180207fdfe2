"""An end-to-end whisper between two real chat windows, captured live on loopback.

The server's own key log decrypts every frame of the capture, and still the
whisper's text is in none of them: the server relays a box it cannot open. The
ciphertext is there, and only the recipient's e2e key (from her client's key
log) opens it; her window shows the text with the padlock and the end-to-end mark.
"""

from __future__ import annotations

import gc
import time
import tkinter as tk
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from socketlab.client.gui import ChatApp, Settings
from socketlab.client.gui_styles import E2E_IN, E2E_OUT, LOCK, OTHER
from socketlab.inspector.decode import Frame, SessionDecoder
from socketlab.inspector.livecapture import LiveCapture
from socketlab.inspector.packets import Segment
from socketlab.inspector.pipeline import reassemble
from socketlab.protocol import (
    E2EMessage,
    E2EWhisper,
    PinStore,
    Say,
    open_box,
    read_e2e_keylog,
    read_keylog,
)
from socketlab.server.app import ChatServer
from tests.ci_rules import skip_or_fail

SECRET = "meet me at the library at noon"
OPEN = "hello everyone, this line is for the room"


@pytest.fixture
def second_root(display: str) -> Iterator[tk.Tk]:
    """Another Tk window in this process (a second Tcl interpreter on the same display)."""
    try:
        window = tk.Tk()
    except tk.TclError as exc:
        skip_or_fail(f"no Tk window on {display}: {exc}")
    yield window
    try:
        window.destroy()
    except tk.TclError:
        pass  # the app already destroyed it
    del window
    gc.collect()  # free the interpreter on this thread (see conftest.root)


def pump(roots: tuple[tk.Tk, ...], until: Callable[[], object], what: str) -> None:
    """Run both windows' loops until ``until()`` is true (at most 10 s)."""
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        for window in roots:
            window.update()
        if until():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out after 10 s waiting for {what}")


def window(root: tk.Tk, server: ChatServer, name: str, tmp_path: Path) -> ChatApp:
    host, port = server.address
    settings = Settings(
        host=host,
        port=port,
        name=name,
        timeout=5.0,
        pins=PinStore(tmp_path / "known_servers"),
        home=tmp_path / name,  # each user her own identity and known_users
        keylog=str(tmp_path / f"{name}.keys"),  # the client's: SOCKETLAB_BOX and _E2E
    )
    return ChatApp(root, settings, connect_now=True)


def type_and_enter(root: tk.Tk, entry: tk.Misc, text: str) -> None:
    entry.focus_force()
    entry.delete(0, "end")
    entry.insert(0, text)
    root.update()
    entry.event_generate("<Return>")
    root.update()


@pytest.mark.needs_root
def test_an_e2e_whisper_between_two_windows_is_unreadable_with_the_servers_key_log(
    root: tk.Tk, second_root: tk.Tk, make_server, tmp_path: Path
) -> None:
    server_keys = tmp_path / "server.keys"
    server = make_server(keylog=server_keys)
    port = server.address[1]
    segments: list[Segment] = []
    capture = LiveCapture(None, port, segments.append, pcap_out=tmp_path / "chat.pcap")
    capture.start()
    roots = (root, second_root)
    try:
        alice = window(root, server, "alice", tmp_path)
        bella = window(second_root, server, "bella", tmp_path)
        pump(roots, lambda: alice.client and bella.client, "both windows to log in")
        pump(roots, lambda: len(alice.window.user_names()) == 2, "bella in alice's list")
        type_and_enter(root, alice.window.entry, OPEN)
        type_and_enter(root, alice.window.entry, f"/w bella {SECRET}")
        pump(roots, lambda: bella.window.log_lines(E2E_IN), "the whisper in bella's window")
        pump(roots, lambda: alice.window.log_lines(E2E_OUT), "alice's copy of her whisper")
        pump(roots, lambda: bella.window.log_lines(OTHER), "alice's open line in bella's window")
        [shown] = bella.window.log_lines(E2E_IN)
        assert shown.endswith(f" [end-to-end from alice · new contact, key pinned now] {SECRET}")
        assert bella.window.icon_lines(LOCK) == [shown]  # the padlock is on that line
        assert alice.client is not None and bella.client is not None
        alice_key = alice.client.user_fingerprint
        assert alice_key is not None and alice_key in bella.window.status_text()
        assert any(alice_key in line for line in bella.window.log_lines())  # to compare
        alice.close()
        bella.close()
        time.sleep(0.2)  # let the last FINs reach the capture
    finally:
        capture.stop()

    raw = (tmp_path / "chat.pcap").read_bytes()
    assert SECRET.encode() not in raw and OPEN.encode() not in raw

    def decoded(e2e_keys: dict[bytes, bytes] | None = None) -> list[Frame]:
        """The capture's frames as the inspector decodes them with the server's key log."""
        decoder = SessionDecoder(read_keylog(server_keys), e2e_keys=e2e_keys)
        events = reassemble(segments, port)
        return [item for event in events for item in decoder.add(event) if isinstance(item, Frame)]

    frames = decoded()
    messages = [m for f in frames for m in f.messages]
    bodies = b"".join(body for f in frames for body in f.bodies)
    # The server's key log opens the transport: the open line is there in plaintext …
    assert [m.text for m in messages if isinstance(m, Say)] == [OPEN]
    assert OPEN.encode() in bodies
    # … and the whisper is not, in any frame, in any form the server sees.
    assert SECRET.encode() not in bodies
    assert not [m for m in messages if SECRET in repr(m)]
    # What the server relayed: one sealed whisper in, the same box out to each of them.
    [sealed] = [m for m in messages if isinstance(m, E2EWhisper)]
    relayed = [m for m in messages if isinstance(m, E2EMessage)]
    assert sealed.to == "bella"
    assert sorted(m.to for m in relayed) == ["bella", "bella"]  # to her, and alice's copy
    assert {(m.nonce, m.box) for m in relayed} == {(sealed.nonce, sealed.box)}
    # The inspector says so: three boxes it cannot open, and the text in no note.
    boxed = f"end-to-end: {len(sealed.box)} bytes, the server cannot read it"
    assert len([f for f in frames if boxed in f.note]) == 3  # alice's, and the two copies
    assert not [f for f in frames if SECRET in f.note]
    # Only bella's e2e secret (her client's key log) opens that ciphertext.
    bella_e2e = read_e2e_keylog(tmp_path / "bella.keys")
    [(public, secret)] = bella_e2e.items()
    assert public not in read_keylog(server_keys)
    inner = open_box(secret, relayed[0].key, sealed.nonce, sealed.box)
    assert (inner.sender, inner.to, inner.text) == ("alice", "bella", SECRET)
    opened = [f.note for f in decoded(bella_e2e) if SECRET in f.note]
    assert opened and all("opened with the client's e2e key" in note for note in opened)

"""The chat window in Korean (SOCKETLAB_LANG=ko) against a real server, and its
choice of a font that has Hangul."""

from __future__ import annotations

import logging
import re
import tkinter as tk
import tkinter.font as tkfont

import pytest

from socketlab.client import gui_styles
from socketlab.client.gui import ChatApp, Settings
from socketlab.client.gui_styles import HANGUL_FAMILIES, SYSTEM, apply_theme, pick_family
from socketlab.server.app import ChatServer
from tests.ci_rules import skip_or_fail
from tests.gui.gui_helpers import headless, impostor_of_a_pinned_server, pump

HANGUL = re.compile("[\uac00-\ud7a3]")


def shown_texts(widget: tk.Misc) -> dict[str, str]:
    """The text of every mapped widget under ``widget`` that shows some: path -> text."""
    texts = {}
    for child in widget.winfo_children():
        if not child.winfo_ismapped():
            continue
        try:
            text = str(child.cget("text"))
        except tk.TclError:  # frames, entries and the log have no text option
            text = ""
        if text:
            texts[str(child)] = text
        texts |= shown_texts(child)
    return texts


def test_the_window_speaks_korean_from_dialog_to_a_real_join(
    root: tk.Tk, server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCKETLAB_LANG", "ko")
    host, port = server.address
    app = ChatApp(root, Settings(host=host, port=port, name="민수", timeout=5.0))
    bob = None
    try:
        root.update()
        dialog = shown_texts(app.dialog)
        assert {"호스트", "포트", "이름", "연결", "종료"} <= set(dialog.values()), dialog
        untranslated = {path: text for path, text in dialog.items() if not HANGUL.search(text)}
        assert untranslated == {}
        assert root.title() == "socketlab 채팅: 연결"

        app.dialog.connect_button.invoke()
        pump(root, lambda: app.client is not None, "민수 to log in")
        root.update()
        window = shown_texts(app.window)
        untranslated = {path: text for path, text in window.items() if not HANGUL.search(text)}
        assert untranslated == {}, "English left in the chat window"
        assert app.window.send_button.cget("text") == "보내기"
        assert app.window.users_label.cget("text") == "접속자 · 1명"
        status = app.window.status_text()
        assert f"{host}:{port}에 연결됨 · 내 이름: 민수" in status
        assert "암호화됨 (X25519 + XSalsa20-Poly1305)" in status
        assert f"서버 키 {server.fingerprint}" in status  # the fingerprint as it is
        welcome = "* 내 이름: 민수 · 접속자: 민수"
        assert any(line.endswith(welcome) for line in app.window.log_lines())

        bob = headless(server, "bob")
        pump(
            root,
            lambda: any(
                line.endswith(" * bob님이 들어왔습니다") for line in app.window.log_lines(SYSTEM)
            ),
            "the Korean line for bob's join",
        )
        assert app.window.users_label.cget("text") == "접속자 · 2명"
        assert app.window.user_names() == ["bob", "민수"]

        app.send_line("/help")
        shown = app.window.log_lines(SYSTEM)
        assert any(line.endswith(" 명령어:") for line in shown)
        assert any("/who" in line and "접속자 목록" in line for line in shown)
    finally:
        if bob is not None:
            bob.close()
        app.close()


def test_the_korean_identity_warning_keeps_both_fingerprints_as_they_are(
    root: tk.Tk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCKETLAB_LANG", "ko")
    with impostor_of_a_pinned_server() as (first, impostor):
        host, port = impostor.address
        pinned = first.fingerprint
        app = ChatApp(
            root, Settings(host=host, port=port, name="민수", timeout=5.0), connect_now=True
        )
        try:
            pump(root, lambda: app.warning is not None, "the identity warning")
            warning = app.warning
            assert warning is not None
            root.update()
            assert warning.title() == "서버 신원이 바뀌었습니다"
            texts = list(shown_texts(warning).values())
            assert texts.count(pinned) == texts.count(impostor.fingerprint) == 1
            assert {"고정된 키:", "받은 키:", "확인"} <= set(texts)
            assert any(f"socketlab client --forget-server {host}:{port}" in t for t in texts)
            fingerprints = (pinned, impostor.fingerprint)
            assert [t for t in texts if not HANGUL.search(t) and t not in fingerprints] == []
            message = app.dialog.message.cget("text")
            assert message == "연결 거부: 서버의 신원이 바뀌었습니다 (identity_changed)."
            warning.ok_button.invoke()
        finally:
            app.close()


def test_a_font_with_hangul_is_picked_from_what_is_installed() -> None:
    assert pick_family(["DejaVu Sans", "Noto Sans CJK KR", "NanumGothic"], HANGUL_FAMILIES) == (
        "Noto Sans CJK KR"
    )
    assert pick_family(["nanumgothic", "Arial"], HANGUL_FAMILIES) == "nanumgothic"
    assert pick_family(["Segoe UI", "Malgun Gothic"], HANGUL_FAMILIES) == "Malgun Gothic"
    assert pick_family(["Helvetica", "Apple SD Gothic Neo"], HANGUL_FAMILIES) == (
        "Apple SD Gothic Neo"
    )
    assert pick_family(["DejaVu Sans", "Liberation Sans"], HANGUL_FAMILIES) is None


def test_the_window_uses_an_installed_hangul_font(root: tk.Tk) -> None:
    family = pick_family(tkfont.families(root), HANGUL_FAMILIES)
    if family is None:
        skip_or_fail("no font with Hangul is installed (apt-get install fonts-noto-cjk)")
    fonts = apply_theme(root)
    assert tkfont.nametofont("TkDefaultFont", root=root).actual("family") == family
    assert fonts["normal"].actual("family") == family


def test_without_a_hangul_font_tk_keeps_its_own_and_the_log_says_what_to_install(
    root: tk.Tk, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SOCKETLAB_LANG", "ko")
    monkeypatch.setattr(tkfont, "families", lambda root=None: ("DejaVu Sans", "Liberation Mono"))
    gui_styles._advise_font.cache_clear()
    before = tkfont.nametofont("TkDefaultFont", root=root).actual("family")
    with caplog.at_level(logging.INFO, logger=gui_styles.__name__):
        apply_theme(root)
        apply_theme(root)  # a second window in the same run says nothing new
    gui_styles._advise_font.cache_clear()
    assert tkfont.nametofont("TkDefaultFont", root=root).actual("family") == before
    advice = [r for r in caplog.records if "fonts-noto-cjk" in r.getMessage()]
    assert len(advice) == 1, caplog.records
    assert advice[0].levelno == logging.WARNING
    assert "한글 글꼴" in advice[0].getMessage() and "fonts-nanum" in advice[0].getMessage()

"""The terminal client as a real subprocess, driven through a stdin pipe."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from socketlab.client import ChatClient
from socketlab.client.events import Whispered
from socketlab.client.identities import UserIdentities
from socketlab.protocol import (
    Left,
    Message,
    PinStore,
    fingerprint,
)
from tests.followed_lines import FollowedLines

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10.0


class Tui:
    """``socketlab client ARGS`` with piped stdio; stdout lines are collected as they come."""

    def __init__(self, *args: str, home: Path) -> None:
        env = {**os.environ, "SOCKETLAB_HOME": str(home), "PYTHONIOENCODING": "utf-8"}
        env.pop("SOCKETLAB_KEYLOG", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "socketlab", "client", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        assert self.proc.stdout is not None
        self.out = FollowedLines(self.proc.stdout)
        self.seen = self.out.seen

    def expect(self, match: Callable[[str], bool], timeout: float = TIMEOUT) -> str:
        line = self.out.next_match(match, timeout)
        if line is None:
            pytest.fail(f"no matching line within {timeout} s; stdout so far: {self.seen}")
        return line

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = TIMEOUT) -> tuple[int, str, str]:
        """Close stdin, wait for exit; (status, rest of stdout, stderr)."""
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self.proc.stdin.close()
        try:
            status = self.proc.wait(timeout)
        finally:
            self.proc.kill()
        rest = self.out.rest(timeout)
        stderr = self.proc.stderr.read()
        self.close()
        return status, "\n".join(rest), stderr

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(TIMEOUT)
        self.out.rest(TIMEOUT)  # stdout is at EOF now; let the reader finish with it
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            assert stream is not None
            stream.close()


@pytest.fixture
def tui(server, home: Path):
    started: list[Tui] = []

    def start(*args: str, name: str | None = None) -> Tui:
        host, port = server.address
        argv = ["--tui", "--host", host, "--port", str(port), *args]
        started.append(Tui(*argv, *(["--name", name] if name else []), home=home))
        return started[-1]

    yield start
    for proc in started:
        proc.close()


def test_lines_in_reach_others_and_events_come_out_one_per_line(tui, make_client, wait) -> None:
    bob = make_client("bob")
    alice = tui(name="alice")
    welcome = alice.expect(lambda line: line.startswith("* you are alice; online: "))
    assert set(welcome.split("online: ")[1].split(", ")) == {"alice", "bob"}
    alice.send("hello everyone")
    alice.send("")  # blank: nothing is sent
    alice.send("/w bob just you")
    alice.send("//etc")
    said = wait(bob, lambda e: isinstance(e, Message))
    assert (said.sender, said.to, said.text) == ("alice", None, "hello everyone")
    # bob's client has no e2e key: alice's client learns it from a lookup first, so
    # the whisper goes out as a plain one, after "//etc" was sent.
    rest = [wait(bob, lambda e: isinstance(e, Message)) for _ in range(2)]
    assert {(m.sender, m.to, m.text) for m in rest} == {  # type: ignore[union-attr]
        ("alice", None, "/etc"),
        ("alice", "bob", "just you"),
    }
    alice.expect(
        lambda line: (
            line == "[whisper to bob · transport-encrypted only: the server can read it] just you"
        )
    )
    bob.say("hi alice\nsecond line")
    alice.expect(lambda line: line == "bob: hi alice\\nsecond line")
    alice.send("/nope")
    alice.expect(lambda line: line.startswith("! unknown command /nope"))
    status, _rest, stderr = alice.finish()
    assert status == 0, stderr
    assert wait(bob, lambda e: isinstance(e, Left)) == Left("alice", "quit")
    assert "alice: hello everyone" in alice.seen


def test_quit_command_exits_zero(tui, make_client, wait) -> None:
    bob = make_client("bob")
    alice = tui(name="alice")
    alice.expect(lambda line: line.startswith("* you are"))
    alice.send("/quit")
    assert alice.proc.wait(TIMEOUT) == 0
    assert wait(bob, lambda e: isinstance(e, Left)).name == "alice"


def test_duplicate_name_says_taken_and_exits_one(tui, make_client) -> None:
    make_client("alice")
    second = tui(name="ALICE")
    status, rest, stderr = second.finish()
    assert status == 1, stderr
    assert "taken" in rest
    assert "Traceback" not in stderr


def test_server_going_away_ends_the_client(server, tui) -> None:
    alice = tui(name="alice")
    alice.expect(lambda line: line.startswith("* you are"))
    server.stop()
    alice.expect(lambda line: line.startswith("* disconnected"))
    assert alice.proc.wait(TIMEOUT) == 1


def test_connection_refused_is_one_clear_line(home: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = Tui("--tui", "--name", "alice", "--port", str(port), home=home)
    status, rest, stderr = proc.finish()
    assert status == 2
    assert rest == ""
    assert stderr.strip().count("\n") == 0 and f"127.0.0.1:{port}" in stderr
    assert "Traceback" not in stderr


def test_changed_identity_is_refused_with_both_fingerprints_and_the_fix(
    server, tui, home: Path
) -> None:
    host, port = server.address
    with ChatClient(host, port, verify=False) as probe:
        probe.connect()
        real = probe.server_fingerprint
    old = SigningKey.generate()
    PinStore().check(host, port, bytes(old.verify_key))  # as if another server was here before
    refused = tui(name="alice")
    status, rest, stderr = refused.finish()
    assert status == 2 and rest == ""
    assert "WARNING" in stderr
    assert f"pinned:  {fingerprint(bytes(old.verify_key))}" in stderr
    assert f"offered: {real}" in stderr
    assert f"socketlab client --forget-server {host}:{port}" in stderr
    forget = Tui("--forget-server", f"{host}:{port}", home=home)
    assert forget.finish()[0] == 0
    accepted = tui(name="alice")
    accepted.expect(lambda line: line.startswith("* you are alice"))
    assert accepted.finish()[0] == 0


def test_whispers_are_end_to_end_and_marked_in_words(
    tui, make_client, wait, home: Path, tmp_path: Path
) -> None:
    bob = make_client("bob", e2e=True, home=tmp_path / "bob")
    alice = tui(name="alice")  # her identity is made in SOCKETLAB_HOME
    alice.expect(lambda line: line.startswith("* you are alice"))
    alice.send("/w bob sealed for bob")
    got = wait(bob, lambda e: isinstance(e, Whispered))
    assert (got.sender, got.text, got.security) == ("alice", "sealed for bob", "e2e_new")
    own = alice_fingerprint(home, bob.host, bob.port)
    assert got.fingerprint == own
    alice.expect(
        lambda line: line == "[end-to-end to bob · new contact, key pinned now] sealed for bob"
    )
    bob.whisper("alice", "and back")
    alice.expect(lambda line: line == "[end-to-end from bob] and back")
    alice.send("/fingerprint")
    alice.expect(lambda line: line.startswith(f"* your end-to-end key: {own}"))
    alice.send("/fp bob")
    alice.expect(lambda line: line == f"* bob's end-to-end key: {bob.user_fingerprint}")
    status, _rest, stderr = alice.finish()
    assert status == 0, stderr
    assert f"* your end-to-end key: {own}" in stderr


def test_a_changed_identity_prints_both_fingerprints(
    tui, make_client, wait, tmp_path: Path
) -> None:
    alice = tui(name="alice")
    alice.expect(lambda line: line.startswith("* you are alice"))
    first = make_client("bob", e2e=True, home=tmp_path / "bob")
    first.whisper("alice", "hello")
    alice.expect(lambda line: line.endswith("] hello"))
    pinned = first.user_fingerprint
    first.close()
    alice.expect(lambda line: line.startswith("* bob left"))
    other = make_client("bob", e2e=True, home=tmp_path / "not-bob")
    other.whisper("alice", "it is me")
    alice.expect(lambda line: line.startswith("WARNING: bob on "))
    assert alice.expect(lambda line: "pinned:" in line) == f"  pinned:  {pinned}"
    assert alice.expect(lambda line: "offered:" in line) == f"  offered: {other.user_fingerprint}"
    alice.expect(lambda line: line == "[from bob · IDENTITY CHANGED, NOT verified] it is me")
    host, port = other.host, other.port
    assert f"socketlab client --forget-user {host}:{port} bob" in "\n".join(alice.seen)
    assert alice.finish()[0] == 0


@pytest.mark.parametrize("lab_server", ["09-slow-clients"], indirect=True)
def test_a_server_without_e2e_is_noticed_and_said_in_one_line(
    lab_server: tuple[str, int], home: Path, wait
) -> None:
    host, port = lab_server
    with ChatClient(host, port, timeout=TIMEOUT) as bob:
        bob.connect()
        bob.login("bob")
        alice = Tui("--tui", "--host", host, "--port", str(port), "--name", "alice", home=home)
        try:
            alice.expect(lambda line: line.startswith("* you are alice"))
            note = (
                f"! the server {host}:{port} does not know end-to-end whispers (bad_message): "
                "whispers are transport-encrypted only (the server can read them)"
            )
            alice.expect(lambda line: line == note)
            alice.send("/w bob psst")
            got = wait(bob, lambda e: isinstance(e, Message) and e.text == "psst")
            assert (got.sender, got.to) == ("alice", "bob")
            alice.expect(
                lambda line: (
                    line
                    == "[whisper to bob · transport-encrypted only: the server can read it] psst"
                )
            )
            status, _rest, stderr = alice.finish()
        finally:
            alice.close()
    assert status == 0, stderr


def alice_fingerprint(home: Path, host: str, port: int) -> str:
    """The fingerprint of the identity alice's client keeps for that server in ``home``."""
    return fingerprint(bytes(UserIdentities(home).find(host, port, "alice").verify_key))


def test_two_terminals_on_one_computer_show_two_fingerprints(tui) -> None:
    """The two-terminal setup of docs/chat.md: one home, two names. /fingerprint NAME
    must not show your own key as theirs."""
    minsu = tui(name="민수")
    minsu.expect(lambda line: line.startswith("* you are 민수"))
    jiyoung = tui(name="지영")
    jiyoung.expect(lambda line: line.startswith("* you are 지영"))
    jiyoung.send("/w 민수 안녕")
    minsu.expect(lambda line: line.endswith("안녕"))
    minsu.send("/fingerprint")
    minsus = minsu.expect(lambda line: line.startswith("* your end-to-end key: "))
    jiyoung.send("/fingerprint")
    hers = jiyoung.expect(lambda line: line.startswith("* your end-to-end key: "))
    jiyoung.send("/fingerprint 민수")
    shown = jiyoung.expect(lambda line: line.startswith("* 민수's end-to-end key: "))
    assert key_in(shown) == key_in(minsus)
    assert key_in(shown) != key_in(hers)


def key_in(line: str) -> str:
    """The fingerprint a line shows ("SHA256:" and eight groups of four hex digits)."""
    found = re.search(r"SHA256:(?: ?[0-9a-f]{4}){8}", line)
    assert found is not None, line
    return found.group(0)


def on_a_terminal(server, home: Path, answers: list[str], *args: str) -> tuple[int, str]:
    """``socketlab client --tui ARGS`` on a pseudo-terminal, as a user at a keyboard:
    each answer is typed when a prompt ending in ": " shows. (status, all it showed)"""
    import pty  # POSIX only: imported here, so the module loads on Windows
    import select

    host, port = server.address
    env = {**os.environ, "SOCKETLAB_HOME": str(home), "PYTHONIOENCODING": "utf-8"}
    env.pop("SOCKETLAB_KEYLOG", None)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "socketlab", "client", "--tui", "--host", host,
         "--port", str(port), *args],
        cwd=ROOT, env=env, stdin=slave, stdout=slave, stderr=slave,
    )
    os.close(slave)
    shown, pending = b"", list(answers)
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the other end is closed, the client has exited
                    break
                shown += chunk
                if pending and shown.rstrip(b" ").endswith(b":"):
                    os.write(master, pending.pop(0).encode() + b"\n")
            elif proc.poll() is not None:
                break
        status = proc.wait(TIMEOUT)
    finally:
        proc.kill()
        os.close(master)
    return status, shown.decode("utf-8", errors="replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_enter_at_the_name_prompt_says_why_it_leaves(server, home: Path) -> None:
    status, shown = on_a_terminal(server, home, [""])
    assert "your name:" in shown
    assert "no name given" in shown, shown
    assert status == 1 and "Traceback" not in shown


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_quit_at_the_name_prompt_leaves_instead_of_logging_in(
    server, home: Path, make_client, wait
) -> None:
    bob = make_client("bob")
    status, shown = on_a_terminal(server, home, ["/quit"], "--name", "BOB")
    assert "the name BOB is taken" in shown and "choose another name:" in shown, shown
    assert "you are /quit" not in shown
    assert status == 0, shown
    bob.who()
    users = wait(bob, lambda e: hasattr(e, "names"))
    assert list(users.names) == ["bob"]


def test_in_korean_help_and_system_lines_are_korean_and_commands_stay(
    tui, make_client, wait, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCKETLAB_LANG", "ko")
    minsu = tui(name="민수")
    minsu.expect(lambda line: line == "* 내 이름: 민수 · 접속자: 민수")
    bob = make_client("bob")
    minsu.expect(lambda line: line == "* bob님이 들어왔습니다")
    minsu.send("/help")
    minsu.expect(lambda line: line == "명령어:")
    helped = [minsu.expect(lambda line: True) for _ in range(8)]
    assert helped[0].startswith("  /w 이름 메시지    이름에게만") and "/whisper" in helped[0]
    assert [line.split()[0] for line in helped[1:7]] == [
        "/who", "/fingerprint", "/fingerprint", "/quit", "/help", "//글"
    ]
    assert helped[-1] == "그 밖의 입력은 모두에게 보냅니다"
    minsu.send("/w")
    minsu.expect(lambda line: line == "! 사용법: /w 이름 메시지")
    bob.say("안녕 민수")
    minsu.expect(lambda line: line == "bob: 안녕 민수")
    bob.close()
    minsu.expect(lambda line: line.startswith("* bob님이 나갔습니다"))
    status, _rest, stderr = minsu.finish()
    assert status == 0, stderr
    assert "* 내 종단간 암호화 키: SHA256:" in stderr  # the notice on stderr, the key as is


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_a_korean_locale_asks_for_the_name_in_korean_on_a_terminal(
    server, home: Path, make_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_client("bob")
    monkeypatch.delenv("SOCKETLAB_LANG")
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")  # the locale alone, as on a Korean desktop
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    status, shown = on_a_terminal(server, home, ["BOB", "/quit"])
    assert "이름: " in shown, shown
    assert "! 이미 쓰고 있는 이름입니다: BOB" in shown and "다른 이름: " in shown, shown
    assert status == 0 and "Traceback" not in shown

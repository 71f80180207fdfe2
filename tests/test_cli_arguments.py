"""Bad arguments to any ``socketlab`` command: refused before a socket opens, with
exit status 2, no traceback, and one line naming the option and what it takes.
And every command and option says what it is for (``--help``)."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from socketlab.cli import VERBS, build_parser

REPO = Path(__file__).resolve().parents[1]


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A timeout: before the port checks, `sniff --port 99999` sniffed for ever.
    environ = {k: v for k, v in os.environ.items() if k != "SOCKETLAB_KEYLOG"}
    environ["SOCKETLAB_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "socketlab", *args], cwd=REPO, env=environ,
        capture_output=True, text=True, timeout=30, check=False,
    )


def assert_refused(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The process failed cleanly with one line, which holds every needle; return it."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0], done.stderr
    return lines[0]


PORT_CASES = [
    ("server", "--port", "99999"),
    ("server", "--port", "-1"),
    ("client", "--tui", "--name", "alice", "--port", "99999"),
    ("client", "--tui", "--name", "alice", "--port", "-1"),
    ("client", "--tui", "--name", "alice", "--port", "0"),
    ("proxy", "--target", "127.0.0.1:7777", "--listen", "70000"),
    ("proxy", "--listen", "0", "--target", "127.0.0.1:99999"),
    ("proxy", "--listen", "0", "--target", "127.0.0.1:-5"),
    ("sniff", "--port", "99999"),
    ("sniff", "--port", "0"),
    ("read", "nosuch.pcap", "--port", "70000"),
    ("client", "--forget-server", "127.0.0.1:99999"),
    ("client", "--forget-user", "127.0.0.1:0", "bob"),
]


@pytest.mark.parametrize("args", PORT_CASES, ids=" ".join)
def test_a_port_out_of_range_is_one_clear_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    option = next(a for a in reversed(args) if a.startswith("--"))  # the last: the bad one
    line = assert_refused(run(tmp_path, *args), f"argument {option}", "65535")
    assert line.startswith(f"socketlab {args[0]}: error:")
    assert line.endswith(f"(see 'socketlab {args[0]} --help')")


def test_port_0_still_means_any_free_port_where_we_listen(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "socketlab", "server", "--port", "0"], cwd=REPO,
        env={**os.environ, "SOCKETLAB_HOME": str(tmp_path)},
        stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "listening on 127.0.0.1:" in line and ":0 " not in line, line
    finally:
        proc.terminate()
        proc.wait(10)


SETTING_CASES = [
    pytest.param(args, expected, id=" ".join(args))
    for args, expected in [
        (("--max-clients", "-5"), "1 or more"),
        (("--max-clients", "0"), "1 or more"),
        (("--max-pending", "0"), "1 or more"),
        (("--max-pending-per-address", "-1"), "1 or more"),
        (("--sendq", "-1"), "65536 or more"),
        (("--sendq", "100"), "65536 or more"),
        (("--flood-rate", "-1"), "0 or more"),
        (("--flood-rate", "nan"), "0 or more"),
        (("--flood-burst", "0"), "1 or more"),
    ]
]


@pytest.mark.parametrize(("args", "expected"), SETTING_CASES)
def test_a_server_setting_out_of_range_is_refused(
    tmp_path: Path, args: tuple[str, str], expected: str
) -> None:
    assert_refused(run(tmp_path, "server", "--port", "0", *args),
                   f"argument {args[0]}", expected, args[1])


def test_an_identity_in_a_missing_folder_is_refused_not_created(tmp_path: Path) -> None:
    key = tmp_path / "nonexistent" / "dir" / "key"
    line = assert_refused(run(tmp_path / "home", "server", "--port", "0", "--identity", str(key)),
                          "--identity", str(key.parent), "does not exist")
    assert line.startswith("server:")
    assert not (tmp_path / "nonexistent").exists()


# -- help text -------------------------------------------------------------------------


def verb_parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Each verb's own parser, as ``socketlab VERB --help`` shows it."""
    for name, verb in VERBS.items():
        parser = importlib.import_module(verb.module).build_parser("socketlab")
        if verb.passes_verb:
            parser = subcommands(parser)[name]
        yield f"socketlab {name}", parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def missing_help(where: str, parser: argparse.ArgumentParser) -> Iterator[str]:
    """Every option, argument and subcommand under ``parser`` without help text."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for listed in action._choices_actions:
                if not listed.help:
                    yield f"{where} {listed.dest} (no line in the list of commands)"
            for name, sub in action.choices.items():
                yield from missing_help(f"{where} {name}", sub)
        elif not action.help:  # SUPPRESS is a choice, not a gap: it is a non-empty string
            yield f"{where} {'/'.join(action.option_strings) or action.dest}"


def test_every_command_has_a_description_line() -> None:
    found = dict(verb_parsers())
    assert set(found) == {f"socketlab {name}" for name in VERBS}
    assert build_parser().description
    assert [where for where, parser in found.items() if not parser.description] == []


def test_every_subcommand_and_option_has_help_text() -> None:
    gaps = list(missing_help("socketlab", build_parser()))
    for where, parser in verb_parsers():
        gaps += missing_help(where, parser)
    assert gaps == []


def test_the_walk_finds_the_options_it_checks() -> None:
    """A walk that saw nothing would pass the test above: it sees the ones fixed here."""
    seen = dict(verb_parsers())
    options = {o for a in seen["socketlab proxy"]._actions for o in a.option_strings}
    assert {"--listen", "--listen-host", "--target"} <= options
    assert "handout" in subcommands(seen["socketlab lab"])
    broken = argparse.ArgumentParser(prog="x")
    broken.add_argument("--quiet")
    assert list(missing_help("x", broken)) == ["x --quiet"]


@pytest.mark.parametrize(("name", "says"), [("/w", "start with /"), ("server", "kept for"),
                                            ("al ice", "U+0020")])
def test_a_name_the_server_would_refuse_is_refused_before_connecting(
    tmp_path: Path, name: str, says: str
) -> None:
    assert_refused(run(tmp_path, "client", "--tui", "--port", "9", "--name", name),
                   "argument --name", says)

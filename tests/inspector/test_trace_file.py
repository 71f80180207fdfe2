"""Reading --trace JSON lines: valid files merge by time, bad lines are named by line number."""

import json
from pathlib import Path

import pytest

from socketlab.inspector.trace_file import TraceFileError, TraceRecord, read_trace
from socketlab.protocol import SocketlabError


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def rec(
    t: float, proc: str = "server", thread: str = "accept", state: str = "recv", **extra
) -> str:
    return json.dumps({"t": t, "proc": proc, "thread": thread, "state": state, **extra})


def test_reads_every_field_including_optional_detail(tmp_path):
    path = write_lines(
        tmp_path / "s.trace",
        [
            rec(10.5),
            rec(10.75, thread="reader-alice", state="handling", detail="say"),
        ],
    )
    assert read_trace(path) == [
        TraceRecord(10.5, "server", "accept", "recv"),
        TraceRecord(10.75, "server", "reader-alice", "handling", "say"),
    ]


def test_accepts_str_path_skips_blank_lines_and_ignores_unknown_keys(tmp_path):
    path = write_lines(tmp_path / "s.trace", ["", rec(1, pid=42), "   "])
    assert read_trace(str(path)) == [TraceRecord(1.0, "server", "accept", "recv")]


def test_several_files_merge_sorted_by_time(tmp_path):
    server = write_lines(tmp_path / "server.trace", [rec(1.0), rec(3.0, state="handling")])
    client = write_lines(
        tmp_path / "client.trace",
        [
            rec(2.0, proc="client:alice", thread="receive"),
            rec(4.0, proc="client:alice", thread="receive", state="exit"),
        ],
    )
    records = read_trace([server, client])
    assert [r.t for r in records] == [1.0, 2.0, 3.0, 4.0]
    assert [r.proc for r in records] == ["server", "client:alice", "server", "client:alice"]


def test_equal_times_keep_file_order(tmp_path):
    path = write_lines(tmp_path / "s.trace", [rec(1.0, state="recv"), rec(1.0, state="handling")])
    assert [r.state for r in read_trace(path)] == ["recv", "handling"]


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[" * 100_000, "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"proc": "server", "thread": "accept", "state": "recv"}', '"t" must be a finite number'),
        (
            '{"t": NaN, "proc": "server", "thread": "accept", "state": "recv"}',
            '"t" must be a finite',
        ),
        (
            '{"t": true, "proc": "server", "thread": "accept", "state": "recv"}',
            '"t" must be a finite',
        ),
        ('{"t": "1.0", "proc": "server", "thread": "accept", "state": "recv"}', '"t" must be a'),
        ('{"t": 1, "proc": "", "thread": "accept", "state": "recv"}', '"proc" must be a non-empty'),
        (
            '{"t": 1, "proc": "server", "thread": 7, "state": "recv"}',
            '"thread" must be a non-empty',
        ),
        (
            '{"t": 1, "proc": "server", "thread": "accept", "state": "sleeping"}',
            "unknown state 'sleeping'",
        ),
        (
            '{"t": 1, "proc": "server", "thread": "a", "state": "recv", "detail": 5}',
            '"detail" must be',
        ),
    ],
)
def test_bad_line_is_reported_with_file_and_line_number(tmp_path, bad_line, reason):
    path = write_lines(tmp_path / "s.trace", [rec(1.0), rec(2.0), bad_line, rec(4.0)])
    with pytest.raises(TraceFileError) as info:
        read_trace(path)
    assert info.value.line_no == 3
    assert info.value.path == path
    assert info.value.message.startswith(f"{path}:3: ")
    assert reason in str(info.value)


def test_invalid_utf8_is_reported_with_its_line_number(tmp_path):
    path = tmp_path / "s.trace"
    path.write_bytes(rec(1.0).encode() + b"\n" + b'{"t": 2, "proc": "\xff"}\n')
    with pytest.raises(TraceFileError, match=r":2: .*utf-8"):
        read_trace(path)


def test_error_names_the_second_file_when_it_is_the_bad_one(tmp_path):
    good = write_lines(tmp_path / "good.trace", [rec(1.0)])
    bad = write_lines(tmp_path / "bad.trace", ["oops"])
    with pytest.raises(TraceFileError) as info:
        read_trace([good, bad])
    assert (info.value.path, info.value.line_no) == (bad, 1)


def test_trace_file_error_has_the_kits_stable_code(tmp_path):
    path = write_lines(tmp_path / "s.trace", ["{}"])
    with pytest.raises(SocketlabError) as info:
        read_trace(path)
    assert info.value.code == "bad_trace"

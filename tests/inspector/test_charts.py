"""Charts drawn from small synthetic inputs, checked through the matplotlib objects."""

import matplotlib

matplotlib.use("Agg")  # headless for this module only; never set globally (notebooks need inline)

import json

import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import FancyArrowPatch

from socketlab.inspector import __main__ as inspector_cli
from socketlab.inspector import charts
from socketlab.inspector.chart_data import (
    LadderEvent,
    MessageSize,
    Segment,
    build_timeline,
    byte_counts,
    entropy,
)
from socketlab.inspector.trace_file import TraceRecord

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STATE_NAMES = ["waiting in recv", "handling", "sending", "waiting on queue", "waiting on lock"]
T0 = 1764075123.0


def r(dt: float, proc: str, thread: str, state: str) -> TraceRecord:
    return TraceRecord(T0 + dt, proc, thread, state)


def chat_trace() -> list[TraceRecord]:
    """Two clients; given out of order so the chart must sort lanes itself."""
    return [
        r(0.0, "server", "accept", "recv"),
        r(0.5, "client:bob", "receive", "recv"),
        r(0.5, "server", "reader-bob", "recv"),
        r(0.5, "server", "writer-bob", "queue_wait"),
        r(0.1, "client:alice", "MainThread", "sending"),
        r(0.1, "client:alice", "receive", "recv"),
        r(0.1, "server", "writer-alice", "queue_wait"),
        r(0.1, "server", "reader-alice", "recv"),
        r(0.2, "server", "reader-alice", "handling"),
        r(0.3, "server", "reader-alice", "lock_wait"),
        r(0.4, "server", "reader-alice", "handling"),
        r(0.6, "server", "reader-alice", "recv"),
        r(0.6, "server", "writer-alice", "sending"),
        r(0.7, "server", "writer-alice", "queue_wait"),
        r(0.2, "client:alice", "MainThread", "queue_wait"),
        r(0.05, "server", "MainThread", "handling"),
        r(0.9, "client:alice", "receive", "exit"),
        r(1.0, "server", "accept", "recv"),
    ]


EXPECTED_LANES = [
    "server · accept",
    "server · reader-alice",
    "server · writer-alice",
    "server · reader-bob",
    "server · writer-bob",
    "server · MainThread",
    "client:alice · receive",
    "client:alice · MainThread",
    "client:bob · receive",
]


def drawn_bars(ax) -> list[tuple[int, float, float, str]]:
    """(lane index, start, end, colour) of every timeline bar."""
    bars = []
    for coll in ax.collections:
        colour = to_hex(coll.get_facecolor()[0])
        for path in coll.get_paths():
            box = path.get_extents()
            bars.append((round((box.y0 + box.y1) / 2), box.x0, box.x1, colour))
    return bars


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 5_000


# --- entropy and byte counts -------------------------------------------------


def test_entropy_of_one_repeated_byte_is_zero():
    assert entropy(b"\x00" * 1000) == 0


def test_entropy_of_all_byte_values_equally_often_is_eight():
    assert entropy(bytes(range(256)) * 4) == 8


def test_entropy_of_two_equally_likely_values_is_one_bit_and_empty_is_zero():
    assert entropy(b"ab" * 50) == pytest.approx(1.0)
    assert entropy(b"") == 0.0


def test_byte_counts_has_one_count_per_byte_value():
    counts = byte_counts(b"\x00\x00\xff")
    assert len(counts) == 256
    assert (counts[0], counts[255], counts.sum()) == (2, 1, 3)


# --- timeline data -----------------------------------------------------------


def test_lanes_sorted_accept_then_pairs_per_client_then_clients():
    timeline = build_timeline(chat_trace())
    assert [lane.label for lane in timeline.lanes] == EXPECTED_LANES
    assert timeline.duration == pytest.approx(1.0)


def test_segments_merge_repeats_end_at_exit_and_last_state_runs_to_the_end():
    records = [
        r(0.0, "server", "accept", "recv"),
        r(1.0, "server", "accept", "recv"),  # repeat: same segment
        r(2.0, "server", "accept", "handling"),
        r(3.0, "server", "accept", "exit"),
        r(4.0, "client:a", "receive", "recv"),
        r(5.0, "client:a", "receive", "sending"),
        r(6.0, "client:b", "receive", "recv"),
    ]
    lanes = {lane.label: lane.segments for lane in build_timeline(records).lanes}
    assert lanes["server · accept"] == (Segment(0.0, 2.0, "recv"), Segment(2.0, 3.0, "handling"))
    assert lanes["client:a · receive"] == (Segment(4.0, 5.0, "recv"), Segment(5.0, 6.0, "sending"))
    assert lanes["client:b · receive"] == ()  # starts at the very end: nothing to draw


def test_busy_lane_is_downsampled_to_its_dominant_state_within_the_cap():
    records = []
    for i in range(5000):  # 0.9 ms handling, 0.1 ms recv, for 5 s
        records.append(r(i * 0.001, "server", "reader-a", "handling"))
        records.append(r(i * 0.001 + 0.0009, "server", "reader-a", "recv"))
    records.append(r(5.0, "server", "reader-a", "exit"))
    assert len(build_timeline(records).lanes[0].segments) == 10_000

    timeline = build_timeline(records, max_segments=50)
    assert timeline.bin_width == pytest.approx(0.1)
    (segment,) = timeline.lanes[0].segments
    assert segment.state == "handling"
    assert (segment.start, segment.end) == pytest.approx((0.0, 5.0))


def test_downsampling_keeps_when_a_thread_was_not_alive():
    records = [r(i * 0.001, "server", "reader-a", ("recv", "handling")[i % 2]) for i in range(1000)]
    records += [r(1.0, "server", "reader-a", "exit"), r(4.0, "server", "accept", "recv")]
    timeline = build_timeline(records, max_segments=80)  # 40 bins of 0.1 s per lane
    segments = timeline.lanes[1].segments
    assert timeline.lanes[1].label == "server · reader-a"
    assert 0 < len(segments) <= 40
    assert max(s.end for s in segments) == pytest.approx(1.0)


def test_lanes_beyond_the_limit_are_counted_not_drawn():
    records = [r(i, f"client:c{i:02d}", "receive", "recv") for i in range(10)]
    timeline = build_timeline(records, max_lanes=4)
    assert [lane.proc for lane in timeline.lanes] == [
        "client:c00",
        "client:c01",
        "client:c02",
        "client:c03",
    ]
    assert timeline.hidden_lanes == 6


# --- thread timeline chart ---------------------------------------------------


def test_timeline_has_one_lane_per_thread_and_a_legend_of_states(tmp_path):
    fig = charts.thread_timeline(chat_trace())
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == EXPECTED_LANES
    assert [t.get_text() for t in fig.legends[0].get_texts()] == STATE_NAMES
    assert ax.get_xlabel() == "seconds since first record"
    assert_png(charts.save_png(fig, tmp_path / "timeline.png"))


def test_timeline_draws_each_state_in_its_lane_with_its_colour():
    bars = drawn_bars(charts.thread_timeline(chat_trace()).axes[0])
    lock_colour = charts.STATE_STYLE["lock_wait"][1].lower()
    reader_alice = EXPECTED_LANES.index("server · reader-alice")
    lock_bars = [b for b in bars if b[3] == lock_colour]
    assert lock_bars == [(reader_alice, pytest.approx(0.3), pytest.approx(0.4), lock_colour)]
    alice_receive = EXPECTED_LANES.index("client:alice · receive")
    assert max(b[2] for b in bars if b[0] == alice_receive) == pytest.approx(0.9)  # until exit


def test_timeline_says_when_it_downsampled_or_hid_lanes():
    records = [r(i * 0.001, "server", "reader-a", ("recv", "handling")[i % 2]) for i in range(400)]
    records += [r(0, f"client:c{i}", "receive", "recv") for i in range(5)]
    ax = charts.thread_timeline(records, max_lanes=3, max_segments=60).axes[0]
    note = ax.get_title(loc="right")
    assert "downsampled" in note
    assert "3 more threads not shown" in note
    assert len(ax.get_yticklabels()) == 3


def test_timeline_of_no_records_still_renders(tmp_path):
    assert_png(charts.save_png(charts.thread_timeline([]), tmp_path / "empty.png"))


def test_cli_draws_a_trace_file_to_png(tmp_path, capsys):
    trace = tmp_path / "s.trace"
    trace.write_text(
        "".join(
            json.dumps({"t": rec.t, "proc": rec.proc, "thread": rec.thread, "state": rec.state})
            + "\n"
            for rec in chat_trace()
        )
    )
    out = tmp_path / "out" / "timeline.png"
    assert inspector_cli.main(["chart", "threads", str(trace), "-o", str(out)]) == 0
    assert_png(out)
    assert str(out) in capsys.readouterr().out


def test_cli_reports_a_bad_trace_line_without_traceback(tmp_path, capsys):
    trace = tmp_path / "bad.trace"
    trace.write_text("nonsense\n")
    assert inspector_cli.main(["chart", "threads", str(trace), "-o", str(tmp_path / "x.png")]) == 2
    assert f"{trace}:1:" in capsys.readouterr().err


# --- byte histogram ----------------------------------------------------------


def test_byte_histogram_counts_every_value_and_labels_entropy(tmp_path):
    plain = b'{"type":"say","text":"hi"}' * 10
    cipher = bytes(range(256)) * 2
    fig = charts.byte_histogram(plain, cipher)
    top, bottom = fig.axes
    for ax, data in ((top, plain), (bottom, cipher)):
        heights = [bar.get_height() for bar in ax.containers[0]]
        assert heights == list(byte_counts(data))
        assert ax.get_ylabel() == "count"
    assert (
        top.get_title(loc="left") == f"plaintext: 260 bytes, entropy {entropy(plain):.2f} bits/byte"
    )
    assert bottom.get_title(loc="left") == "ciphertext: 512 bytes, entropy 8.00 bits/byte"
    assert bottom.get_xlabel() == "byte value"
    assert [t.get_text() for t in top.get_legend().get_texts()] == [
        "printable ASCII",
        "uniform (n/256)",
    ]
    assert_png(charts.save_png(fig, tmp_path / "hist.png"))


# --- bytes per message -------------------------------------------------------


def test_bytes_per_message_groups_plain_and_box_bars(tmp_path):
    rows = [MessageSize("login", 32, 72), MessageSize("say", 41, 81), MessageSize("who", 19, 59)]
    fig = charts.bytes_per_message(rows)
    ax = fig.axes[0]
    plain, box = ax.containers
    assert [b.get_height() for b in plain] == [32, 41, 19]
    assert [b.get_height() for b in box] == [72, 81, 59]
    assert all(p.get_x() < b.get_x() for p, b in zip(plain, box, strict=True))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["login", "say", "who"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("message", "bytes on the wire")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["plain", "box (encrypted)"]
    assert_png(charts.save_png(fig, tmp_path / "bytes.png"))


# --- ladder ------------------------------------------------------------------


LADDER = [
    LadderEvent(0.010, "c2s", "login", 72, sealed=True),
    LadderEvent(0.000, "c2s", "hello", 84, sealed=False),  # out of order on purpose
    LadderEvent(0.004, "s2c", "server_hello", 230, sealed=False),
    LadderEvent(0.300, "s2c", None, 88, sealed=True),
]


def arrows(ax) -> list[FancyArrowPatch]:
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def test_ladder_draws_one_labelled_arrow_per_frame_in_time_order(tmp_path):
    fig = charts.ladder(LADDER, client="alice")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.texts if t.get_gid() == "ladder-label"]
    assert labels == ["hello (84 B)", "server_hello (230 B)", "login (72 B)", "encrypted 88 B"]
    drawn = arrows(ax)
    assert len(drawn) == 4
    # Each arrow starts at its sender's lifeline (client x=0, server x=1), one row per frame.
    starts = [tuple(round(v, 1) for v in a.get_path().vertices[0]) for a in drawn]
    assert starts == [(0.0, 1.0), (1.0, 2.0), (0.0, 3.0), (1.0, 4.0)]
    assert {"alice", "server"} <= {t.get_text() for t in ax.texts}
    # Plaintext and sealed frames told apart: colour and dashes, named by the legend.
    assert [a.get_gid() for a in drawn] == ["ladder-plain", "ladder-plain", "ladder-sealed",
                                            "ladder-sealed"]
    plain, sealed = drawn[0], drawn[2]
    assert to_hex(plain.get_edgecolor()) != to_hex(sealed.get_edgecolor())
    assert plain.get_linestyle() != sealed.get_linestyle()
    (legend,) = fig.legends
    assert legend.get_title().get_text() == \
        'each label: message type and size of the whole frame ("encrypted": unread)'
    entries = dict(zip([t.get_text() for t in legend.get_texts()], legend.legend_handles,
                       strict=True))
    assert list(entries) == ["plaintext frame: anyone on the wire can read it",
                             "sealed frame: ciphertext on the wire; only the key log tells its "
                             "type"]
    for handle, arrow in zip(entries.values(), (plain, sealed), strict=True):
        assert to_hex(handle.get_color()) == to_hex(arrow.get_edgecolor())
    assert_png(charts.save_png(fig, tmp_path / "ladder.png"))


def test_ladder_caps_frames_and_says_how_many_are_left_out():
    events = [LadderEvent(i, "c2s", "say", 81, sealed=True) for i in range(10)]
    ax = charts.ladder(events, max_events=4).axes[0]
    assert len(arrows(ax)) == 4
    assert any(t.get_text() == "... 6 more frames not shown" for t in ax.texts)


def test_ladder_event_rejects_an_unknown_direction():
    with pytest.raises(ValueError, match="direction"):
        LadderEvent(0.0, "up", "say", 10, sealed=True)


def test_a_renamed_thread_stays_on_one_lane():
    records = [
        TraceRecord(0.0, "server", "reader-127.0.0.1:5000", "recv"),
        TraceRecord(1.0, "server", "reader-127.0.0.1:5000", "exit", "renamed to reader-ann"),
        TraceRecord(1.0, "server", "reader-ann", "handling"),
        TraceRecord(2.0, "server", "reader-ann", "recv"),
        TraceRecord(3.0, "server", "accept", "recv"),
    ]
    timeline = build_timeline(records)
    assert [lane.thread for lane in timeline.lanes] == ["accept", "reader-ann"]
    ann = timeline.lanes[1]
    assert [(seg.start, seg.state) for seg in ann.segments] == [
        (0.0, "recv"), (1.0, "handling"), (2.0, "recv")]


def test_ladder_of_a_capture_names_the_user_and_marks_sealed_frames(demo_pcap, vector_keylog,
                                                                     tmp_path):
    from socketlab.inspector.chart_inputs import (
        client_name,
        connections,
        frames_of,
        ladder_events,
    )
    from socketlab.inspector.pipeline import read_pcap
    from socketlab.protocol import read_keylog

    frames = frames_of(read_pcap(demo_pcap, read_keylog(vector_keylog)))
    (conn,) = connections(frames)
    events = ladder_events(frames, conn)
    assert [(e.label, e.sealed) for e in events[:4]] == [
        ("hello", False), ("server_hello", False), ("login", True), ("welcome", True)]
    assert all(e.sealed for e in events[2:])
    assert client_name(frames, conn) == "alice"
    # Without the key log the login is unread: the lifeline stays "client".
    unread = frames_of(read_pcap(demo_pcap, None))
    assert client_name(unread, conn) == "client"
    out = tmp_path / "ladder.png"
    assert inspector_cli.main(["chart", "ladder", str(demo_pcap), "--keylog", str(vector_keylog),
                               "-o", str(out)]) == 0
    assert_png(out)

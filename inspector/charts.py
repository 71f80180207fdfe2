"""The inspector's charts, drawn with matplotlib's object-oriented API.

Every chart function returns a ``matplotlib.figure.Figure`` built directly
(no pyplot state), so it renders headless to PNG, displays in a notebook, and
never needs a GUI backend. Only ``show`` (and the ``--show`` option of the
command line) touches pyplot.

    socketlab chart threads server.trace client-*.trace -o timeline.png [--show]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch

from socketlab.inspector.chart_data import (
    DRAWN_STATES,
    LadderEvent,
    MessageSize,
    build_timeline,
    byte_counts,
    entropy,
)
from socketlab.inspector.trace_file import TraceRecord

# Okabe & Ito's colour-blind-safe palette; lock waits get the loudest colour
# because contention is what the lesson wants students to spot.
STATE_STYLE: dict[str, tuple[str, str]] = {
    "recv": ("waiting in recv", "#56B4E9"),
    "handling": ("handling", "#009E73"),
    "sending": ("sending", "#E69F00"),
    "queue_wait": ("waiting on queue", "#CC79A7"),
    "lock_wait": ("waiting on lock", "#D55E00"),
}
PLAIN_COLOUR = "#0072B2"
BOX_COLOUR = "#E69F00"
MUTED = "#666666"


def thread_timeline(
    records: Sequence[TraceRecord],
    *,
    title: str = "Thread activity",
    max_lanes: int = 60,
    max_segments: int = 50_000,
) -> Figure:
    """One lane per (process, thread), coloured by state over time.

    Busy traces are downsampled (see ``chart_data.build_timeline``) and the
    figure says so, as it does when lanes beyond ``max_lanes`` are left out.
    """
    timeline = build_timeline(records, max_lanes=max_lanes, max_segments=max_segments)
    n = len(timeline.lanes)
    fig = Figure(figsize=(11, min(2.2 + 0.34 * n, 30)), layout="constrained")
    ax = fig.subplots()
    fig.suptitle(title, fontweight="bold")

    for y, lane in enumerate(timeline.lanes):
        if y % 2:  # zebra stripes help follow a lane across a wide chart
            ax.axhspan(y - 0.5, y + 0.5, color="#F2F2F2", zorder=0, linewidth=0)
        for state in DRAWN_STATES:
            spans = [(s.start, s.end - s.start) for s in lane.segments if s.state == state]
            if spans:
                ax.broken_barh(
                    spans, (y - 0.36, 0.72), facecolors=STATE_STYLE[state][1], linewidth=0
                )

    ax.set_yticks(range(n), [lane.label for lane in timeline.lanes], fontsize=9 if n < 30 else 7)
    ax.set_ylim(max(n, 1) - 0.5, -0.5)  # first lane on top
    ax.set_xlim(0, timeline.duration or 1.0)
    ax.set_xlabel("seconds since first record")
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if not n:
        ax.text(0.5, 0.5, "no trace records", transform=ax.transAxes, ha="center", color=MUTED)

    notes = []
    if timeline.bin_width is not None:
        notes.append(f"busy lanes downsampled: dominant state per {_duration(timeline.bin_width)}")
    if timeline.hidden_lanes:
        notes.append(f"{timeline.hidden_lanes} more threads not shown")
    if notes:
        ax.set_title("; ".join(notes), loc="right", fontsize=8, color=MUTED)

    handles = [Patch(facecolor=colour, label=label) for label, colour in STATE_STYLE.values()]
    # Below the axis: above it, constrained layout would stack it onto the title.
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    return fig


def byte_histogram(
    plain: bytes, cipher: bytes, *, labels: tuple[str, str] = ("plaintext", "ciphertext")
) -> Figure:
    """Byte-value histograms (0..255) of plaintext over ciphertext, with their entropies."""
    fig = Figure(figsize=(10, 6), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    fig.suptitle("Byte values: plaintext vs ciphertext", fontweight="bold")
    for ax, data, name, colour in zip(
        axes, (plain, cipher), labels, (PLAIN_COLOUR, BOX_COLOUR), strict=True
    ):
        ax.axvspan(0x20 - 0.5, 0x7E + 0.5, color="#EEEEEE", linewidth=0, label="printable ASCII")
        ax.bar(np.arange(256), byte_counts(data), width=1.0, color=colour, linewidth=0)
        if data:
            ax.axhline(
                len(data) / 256,
                color="black",
                linestyle="--",
                linewidth=0.8,
                label="uniform (n/256)",
            )
        ax.set_title(
            f"{name}: {len(data):,} bytes, entropy {entropy(data):.2f} bits/byte",
            loc="left",
            fontsize=10,
        )
        ax.set_ylabel("count")
        ax.spines[["top", "right"]].set_visible(False)
    # Plaintext JSON leaves the high byte values empty, so its legend goes there.
    axes[0].legend(loc="upper right", fontsize=8, frameon=False)
    axes[1].set_xlabel("byte value")
    axes[1].set_xlim(-0.5, 255.5)
    ticks = [*range(0, 256, 32), 255]
    axes[1].set_xticks(ticks, [f"0x{t:02X}" for t in ticks])
    return fig


def bytes_per_message(rows: Sequence[MessageSize], *, title: str = "Bytes per message") -> Figure:
    """Grouped bars: bytes on the wire for each message sent plain vs in a box."""
    n = len(rows)
    fig = Figure(figsize=(min(max(6.0, 1.5 + 0.8 * n), 16), 4.8), layout="constrained")
    ax = fig.subplots()
    x = np.arange(n)
    width = 0.4
    plain = ax.bar(
        x - width / 2, [r.plain_bytes for r in rows], width, label="plain", color=PLAIN_COLOUR
    )
    box = ax.bar(
        x + width / 2, [r.box_bytes for r in rows], width, label="box (encrypted)", color=BOX_COLOUR
    )
    if n <= 16:  # beyond that the numbers collide; the axis still reads
        for bars in (plain, box):
            ax.bar_label(bars, fontsize=8, padding=2)
    crowded = n > 6 or any(len(r.label) > 14 for r in rows)
    ax.set_xticks(
        x,
        [r.label for r in rows],
        rotation=30 if crowded else 0,
        ha="right" if crowded else "center",
    )
    ax.set_xlabel("message")
    ax.set_ylabel("bytes on the wire")
    ax.set_title(title, loc="left", fontweight="bold")
    ax.margins(y=0.12)
    ax.spines[["top", "right"]].set_visible(False)
    # In the title row, so the legend never covers a bar.
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False, fontsize=9)
    return fig


LADDER_LEGEND = (
    "plaintext frame: anyone on the wire can read it",
    "sealed frame: ciphertext on the wire; only the key log tells its type",
)
LADDER_LEGEND_TITLE = 'each label: message type and size of the whole frame ("encrypted": unread)'
# sealed -> (colour, line style): told apart by colour and by dashes (for greyscale prints).
_LADDER_STYLE: dict[bool, tuple[str, Literal["--", "-"]]] = {
    False: (PLAIN_COLOUR, "--"),
    True: (BOX_COLOUR, "-"),
}


def ladder(
    events: Sequence[LadderEvent],
    *,
    client: str = "client",
    server: str = "server",
    title: str = "Message sequence",
    max_events: int = 60,
) -> Figure:
    """Message-sequence diagram of one connection: one arrow per frame, in time order.

    Plaintext frames are blue and dashed, sealed (encrypted) frames orange and
    solid, as the legend under the chart says; each label is the message type
    (read with the key log) and the frame's size on the wire.
    """
    ordered = sorted(events, key=lambda e: e.ts)
    shown = ordered[:max_events]
    n = len(shown)
    fig = Figure(figsize=(8, 2.2 + 0.45 * max(n, 1)), layout="constrained")
    ax = fig.subplots()
    ax.set_title(title, loc="left", fontweight="bold")
    ax.set_xlim(-0.4, 1.35)  # room for the time column and a long server name
    bottom = n + 0.8
    ax.set_ylim(bottom, -0.6)  # time flows down
    ax.axis("off")

    for x, name in ((0.0, client), (1.0, server)):
        ax.plot([x, x], [0.3, bottom - 0.2], color="#999999", linewidth=1.2, zorder=1)
        ax.text(
            x,
            0,
            name,
            ha="center",
            va="center",
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.4", "facecolor": "#F2F2F2", "edgecolor": "#999999"},
        )
    ax.text(-0.08, 0, "time", ha="right", va="center", fontsize=8, color=MUTED)

    t0 = shown[0].ts if shown else 0.0
    for y, event in enumerate(shown, start=1):
        start, end = (0.0, 1.0) if event.direction == "c2s" else (1.0, 0.0)
        colour, style = _LADDER_STYLE[event.sealed]
        ax.add_patch(
            FancyArrowPatch(
                (start, y),
                (end, y),
                arrowstyle="-|>",
                mutation_scale=14,
                color=colour,
                linestyle=style,
                linewidth=1.6,
                shrinkA=2,
                shrinkB=2,
                gid="ladder-sealed" if event.sealed else "ladder-plain",
            )
        )
        ax.text(0.5, y - 0.1, event.text, ha="center", va="bottom", fontsize=9, gid="ladder-label")
        ax.text(
            -0.08, y, f"{event.ts - t0:.3f} s", ha="right", va="center", fontsize=8, color=MUTED
        )
    if len(ordered) > n:
        ax.text(
            0.5,
            n + 0.6,
            f"... {len(ordered) - n} more frames not shown",
            ha="center",
            va="center",
            fontsize=8,
            color=MUTED,
        )
    elif not n:
        ax.text(0.5, 0.8, "no frames", ha="center", va="center", color=MUTED)
    handles = [
        Line2D([], [], color=colour, linestyle=style, linewidth=2, label=label)
        for label, (colour, style) in zip(
            LADDER_LEGEND, (_LADDER_STYLE[False], _LADDER_STYLE[True]), strict=True
        )
    ]
    legend = fig.legend(handles=handles, loc="outside lower center", ncols=1, frameon=False,
                        fontsize=9, title=LADDER_LEGEND_TITLE, title_fontsize=8)
    legend.set_gid("ladder-legend")
    return fig


def save_png(fig: Figure, path: str | Path, *, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG (creating parent folders) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=dpi)
    return path


def show(fig: Figure) -> None:
    """Open ``fig`` in an interactive window (blocks until it is closed)."""
    import matplotlib.pyplot as plt  # only here: pyplot picks a GUI backend on import

    plt.figure(fig)  # hands the stand-alone Figure to pyplot's window manager
    plt.show()


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


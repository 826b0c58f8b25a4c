"""A partner's answers to one item over time as a small SVG line chart, drawn on the server.

Pure: strings in, a string of SVG out; no Flask, no script, no font of its own (its text takes
the page's font). Readable without colour: every point is a marker with its value written
next to it, the baseline is a dashed line with a label, and the chart carries a title and a
description (the page adds a table with the same numbers).
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

WIDTH, HEIGHT = 360, 210
LEFT, RIGHT, TOP, BOTTOM = 28, 10, 28, 40
#: room between the axes and the first and last points
PAD = 16
#: at most this many date labels under the axis (every point keeps its value label)
MAX_DATE_LABELS = 7


def _num(v: float) -> str:
    return f"{v:g}"


def _step(span: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100):
        if span / step <= 6:
            return step
    return 10 ** math.ceil(math.log10(span / 6))


def summary(partner: str, dates: list[str], values: list[float | None]) -> str:
    """The chart in one sentence: the answers in order, the baseline and the latest."""
    answered = [(d, v) for d, v in zip(dates, values, strict=False) if v is not None]
    if not answered:
        return f"{partner} has not answered this yet."
    listed = ", ".join(f"{_num(v)} on {d}" for d, v in answered)
    first, last = answered[0][1], answered[-1][1]
    change = last - first
    way = "no change" if change == 0 else f"{'up' if change > 0 else 'down'} {_num(abs(change))}"
    return (
        f"{partner} answered {listed}. Baseline (first answer) {_num(first)}; "
        f"latest {_num(last)}, {way} from the baseline."
    )


def chart(
    uid: str,
    question: str,
    partner: str,
    dates: list[str],
    values: list[float | None],
    low: float,
    high: float,
) -> str:
    """The SVG of one partner's answers (``values`` per date, None where not answered)."""
    present = [v for v in values if v is not None]
    low = min([low, *present])
    high = max([high, *present])
    if high <= low:
        high = low + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(dates)

    inner = plot_w - 2 * PAD  # the first and last points sit clear of the axes

    def x(i: int) -> float:
        return LEFT + PAD + (inner * i / (n - 1) if n > 1 else inner / 2)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - low) / (high - low))

    title_id, desc_id = f"{uid}-t", f"{uid}-d"
    out = [
        f'<svg class="trend-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">{escape(partner)}: {escape(question)}</title>',
        f'<desc id="{desc_id}">{escape(summary(partner, dates, values))}</desc>',
    ]
    # the value axis: grid lines with their numbers
    step = _step(high - low)
    tick = math.ceil(low / step) * step
    while tick <= high + 1e-9:
        ty = y(tick)
        out.append(
            f'<line class="trend-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" '
            f'y2="{ty:.1f}"/>'
        )
        out.append(
            f'<text class="trend-axis" x="{LEFT - 6}" y="{ty + 4:.1f}" '
            f'text-anchor="end">{_num(tick)}</text>'
        )
        tick += step
    # the dates under the axis, thinned out when there are many
    every = max(1, math.ceil(n / MAX_DATE_LABELS))
    for i, day in enumerate(dates):
        if i % every and i != n - 1:
            continue
        out.append(
            f'<text class="trend-axis" x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 18}" '
            f'text-anchor="middle">{escape(day)}</text>'
        )
    if present:
        base = next(v for v in values if v is not None)
        by = y(base)
        out.append(
            f'<line class="trend-baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{by:.1f}" '
            f'y2="{by:.1f}"/>'
        )
        # its key above the plot, top right, where no point's value is written
        label = f"baseline {_num(base)}"
        key_end = WIDTH - RIGHT - len(label) * 7 - 6
        out.append(
            f'<line class="trend-baseline" x1="{key_end - 22}" x2="{key_end}" y1="9" y2="9"/>'
            f'<text class="trend-axis" x="{WIDTH - RIGHT}" y="13" text-anchor="end">'
            f"{label}</text>"
        )
    # the line through the partner's own answers (a day only another partner answered is
    # on the axis so that the charts of one item line up, but it is no gap in this line),
    # then a marker and its value per answer
    points = [f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if v is not None]
    if len(points) >= 2:
        out.append(f'<polyline class="trend-line" points={quoteattr(" ".join(points))}/>')
    for i, v in enumerate(values):
        if v is None:
            continue
        px, py = x(i), y(v)
        out.append(f'<circle class="trend-point" cx="{px:.1f}" cy="{py:.1f}" r="4.5"/>')
        label_y = py - 9 if py - 9 > TOP - 6 else py + 18
        out.append(
            f'<text class="trend-value" x="{px:.1f}" y="{label_y:.1f}" '
            f'text-anchor="middle">{_num(v)}</text>'
        )
    out.append(
        f'<line class="trend-frame" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"/>'
        f'<line class="trend-frame" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" '
        f'y2="{TOP + plot_h}"/>'
    )
    out.append("</svg>")
    return "".join(out)

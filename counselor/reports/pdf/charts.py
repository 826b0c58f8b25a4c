"""Check-in scores over time as line charts, one line per partner."""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.validators import Auto
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer

from counselor.reports.data import Series
from counselor.reports.pdf.styles import FRAME_W, INK, MUTED, SAND_LINE, SERIES_STYLES, Styles
from counselor.reports.pdf.text import clean, fit_line, markup


def score_chart(series: Series, partners: list[str], st: Styles) -> Flowable:
    """A line per partner of a scale item answered in several check-ins."""
    # partners in the record's order, then anyone else the series names
    names = list(dict.fromkeys([p for p in partners if p in series.values] + list(series.values)))
    ndates = len(series.dates)
    rows = []
    for name in names:
        values = list(series.values.get(name) or [])[:ndates]
        values += [None] * (ndates - len(values))
        rows.append([_finite(v) for v in values])
    present = [v for row in rows for v in row if v is not None]
    low = min([min(series.low, series.high)] + present)
    high = max([max(series.low, series.high)] + present)
    if high <= low:
        high = low + 1

    width, height = FRAME_W, 62 * mm
    legend_w = 40 * mm
    drawing = Drawing(width, height)
    chart = HorizontalLineChart()
    chart.x, chart.y = 26, 30 if ndates <= 8 else 42
    chart.width = width - legend_w - chart.x - 8
    chart.height = height - chart.y - 10
    chart.data = rows or [[None] * ndates]
    # joined per line: a partner with a single answer gets a marker, not a one-point line
    # (reportlab refuses to draw those)
    chart.joinedLines = 0
    chart.categoryAxis.categoryNames = _date_labels(series.dates)
    chart.categoryAxis.labels.fontName = st.family
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.fillColor = MUTED
    chart.categoryAxis.strokeColor = MUTED
    chart.categoryAxis.tickDown = 2
    if ndates > 8:
        chart.categoryAxis.labels.angle = 35
        chart.categoryAxis.labels.boxAnchor = "ne"
        chart.categoryAxis.labels.dy = -2
    chart.valueAxis.valueMin = low
    chart.valueAxis.valueMax = high
    chart.valueAxis.valueStep = _step(high - low)
    chart.valueAxis.labels.fontName = st.family
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labels.fillColor = MUTED
    chart.valueAxis.labelTextFormat = lambda v: f"{v:g}"
    chart.valueAxis.strokeColor = MUTED
    chart.valueAxis.visibleGrid = 1
    chart.valueAxis.gridStrokeColor = SAND_LINE
    chart.valueAxis.gridStrokeWidth = 0.5
    for i, name in enumerate(names):
        colour, marker = SERIES_STYLES[i % len(SERIES_STYLES)]
        line = chart.lines[i]
        line.strokeColor = colors.HexColor(colour)
        line.strokeWidth = 1.6
        if sum(v is not None for v in rows[i]) >= 2:
            line.lineStyle = "joinedLine"
        line.symbol = makeMarker(
            marker, size=5, fillColor=colors.HexColor(colour), strokeColor=colors.HexColor(colour)
        )
        line.name = fit_line(name, st.family, 7.5, legend_w - 16)
    drawing.add(chart)

    if names:
        legend = Legend()
        legend.x = width - legend_w + 6
        legend.y = chart.y + chart.height
        legend.alignment = "right"
        legend.columnMaximum = 6
        legend.fontName = st.family
        legend.fontSize = 7.5
        legend.fillColor = INK
        legend.deltay = 12
        legend.dx, legend.dy = 14, 6
        # Auto: each sample drawn by the chart itself, its line colour with its marker
        legend.colorNamePairs = [
            (Auto(obj=chart, index=i), chart.lines[i].name) for i in range(len(names))
        ]
        drawing.add(legend)

    scale = (
        f"scale {series.low:g}–{series.high:g} · {ndates} check-ins, "
        f"{clean(series.dates[0])} to {clean(series.dates[-1])}"
    )
    return KeepTogether(
        [
            Paragraph(markup(series.question), st.h3),
            Paragraph(escape(scale), ParagraphStyle("chart_meta", parent=st.meta, spaceAfter=2)),
            drawing,
            Spacer(1, 6),
        ]
    )


def chartable(series: Series) -> bool:
    """At least two check-ins with an answer: one point is no trend."""
    ndates = len(series.dates)
    answered = sum(
        _finite(v) is not None
        for values in series.values.values()
        for v in list(values or [])[:ndates]
    )
    return len(series.dates) >= 2 and answered >= 2


def _finite(value: object) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _step(span: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100):
        if span / step <= 10:
            return step
    return 10 ** math.ceil(math.log10(span / 10))


def _date_labels(dates: list[str]) -> list[str]:
    labels = [" ".join(clean(d).split()) for d in dates]
    every = math.ceil(len(labels) / 14)  # keep at most ~14 labels on the axis
    return [d if i % every == 0 or i == len(labels) - 1 else "" for i, d in enumerate(labels)]

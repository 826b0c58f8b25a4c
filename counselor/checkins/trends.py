"""The trends page's data: the clinical record's series (``reports.builders.score_series``),
one chart per partner for every item answered more than once. Counselor only."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

from counselor.cases.models import Case
from counselor.checkins import svg
from counselor.reports.builders import case_series


@dataclass
class PartnerTrend:
    """One partner's answers to one item: the chart and the same numbers in a sentence."""

    partner: str
    chart: Markup
    summary: str


@dataclass
class Trend:
    """One item over time: a chart per partner, and a table of every answer."""

    question: str
    scale: str  # "scale 0–10"
    #: the item's trend rule in words (empty when it has none)
    rule: str
    dates: list[str]
    partners: list[str]
    #: (date, one value per partner: "" when not answered that day)
    rows: list[tuple[str, list[str]]] = field(default_factory=list)
    charts: list[PartnerTrend] = field(default_factory=list)


def _text(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


def case_trends(case: Case) -> list[Trend]:
    """Every item of the case answered on two days or more, by at least one partner twice."""
    trends = []
    for n, series in enumerate(case_series(case)):
        names = [p.display_name for p in case.partners if p.display_name in series.values]
        names += [k for k in series.values if k not in names]
        trend = Trend(
            series.question,
            f"scale {series.low:g}–{series.high:g}",
            series.rule,
            series.dates,
            names,
        )
        for i, day in enumerate(series.dates):
            trend.rows.append((day, [_text(series.values[name][i]) for name in names]))
        for m, name in enumerate(names):
            values = series.values[name]
            if sum(v is not None for v in values) < 2:
                continue  # one answer is no trend (the table still shows it)
            trend.charts.append(
                PartnerTrend(
                    name,
                    Markup(  # noqa: S704 - built by svg.chart, which escapes every text
                        svg.chart(
                            f"trend-{n}-{m}",
                            series.question,
                            name,
                            series.dates,
                            values,
                            series.low,
                            series.high,
                        )
                    ),
                    svg.summary(name, series.dates, values),
                )
            )
        if trend.charts:
            trends.append(trend)
    return trends

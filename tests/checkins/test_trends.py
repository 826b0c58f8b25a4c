"""Trends: every scale or number item answered more than once in a case, a chart per partner
in the app (server-drawn SVG, readable without colour, with a title, a description and a
table), counselor only; and trend rules that raise a review alert on a change from the
partner's own baseline, configured in the definition and checked at import."""

from __future__ import annotations

import copy
import re
from datetime import timedelta

from sqlalchemy import select

from counselor.alerts.models import Alert
from counselor.alerts.services import TREND_PREFIX, evaluate_alerts, open_alert_cards
from counselor.checkins import svg
from counselor.core.models import utcnow
from counselor.extensions import db
from counselor.questionnaires import trends
from counselor.questionnaires.schema import validate_definition
from tests.support import assign, new_case, small_definition
from tests.support.checkins import CHECK_IN
from tests.support.library import sync


def _check_ins(case, rounds: list[dict[int, dict]]):
    """Submit the built-in check-in once per round, a day apart (oldest first); each round
    maps a partner's position to their answers. Alerts are evaluated as on submit."""
    raised = []
    start = utcnow() - timedelta(days=len(rounds))
    for n, answers in enumerate(rounds):
        assignment, _ = assign(case, CHECK_IN)
        by_partner = {r.partner_id: r for r in assignment.responses}
        for partner in case.partners:
            if partner.position not in answers:
                continue
            response = by_partner[partner.id]
            response.answers = answers[partner.position]
            response.status = "submitted"
            response.submitted_at = start + timedelta(days=n)
            db.session.flush()
            raised += evaluate_alerts(assignment, response)
        db.session.commit()
    return raised


def _positions(case) -> tuple[int, int]:
    return case.partners[0].position, case.partners[1].position


def test_a_trend_rule_reads_a_change_from_the_partners_own_baseline():
    rule = {"rise": 3, "over": 2, "message": "m"}
    assert trends.evaluate(rule, [3, 4, 6]).change == 3
    assert trends.evaluate(rule, [3, 4, 5]) is None
    assert trends.evaluate(rule, [4, 7]) is None  # not enough answers yet
    assert trends.evaluate(rule, [2, None, "x", 4, 5]) is not None  # gaps are skipped
    first = {"fall": 2, "over": 1, "baseline": "first", "message": "m"}
    assert trends.evaluate(first, [8, 9, 7, 6]).baseline == 8
    assert trends.describe(rule) == "rises by 3 or more over the last 2 answers"


def test_trend_rules_are_checked_when_a_definition_is_imported():
    doc = small_definition("trend-check")
    rate = doc["items"][0]["items"][3]  # a 0-10 scale
    text = doc["items"][0]["items"][0]

    def problems(item, rule):
        bad = copy.deepcopy(doc)
        target = bad["items"][0]["items"][doc["items"][0]["items"].index(item)]
        target["trend"] = rule
        return " ".join(validate_definition(bad))

    assert problems(rate, {"rise": 3, "over": 2, "message": "Up"}) == ""
    assert "trend rule works on scale and number items" in problems(
        text, {"rise": 3, "message": "Up"}
    )
    assert "cannot happen on a scale from 0 to 10" in problems(rate, {"rise": 12, "message": "x"})
    assert "trend" in problems(rate, {"rise": 2, "fall": 2, "message": "x"})
    assert "trend" in problems(rate, {"message": "x"})
    assert "trend" in problems(rate, {"rise": 2, "over": 40, "message": "x"})
    assert "trend" in problems(rate, {"rise": -1, "message": "x"})
    assert "trend" in problems(rate, {"rise": 2, "baseline": "mean", "message": "x"})


def test_anxiety_rising_3_points_over_two_check_ins_raises_a_review_alert(
    app, client_a, counselor_a
):
    sync()
    case = new_case(counselor_a)
    sam, alex = _positions(case)
    calm = {"wellbeing.anxiety": 2, "wellbeing.pressure": 0}
    rounds = [
        {sam: {**calm}, alex: {**calm}},
        {sam: {**calm, "wellbeing.anxiety": 3}, alex: {**calm, "wellbeing.anxiety": 3}},
        {sam: {**calm, "wellbeing.anxiety": 5}, alex: {**calm, "wellbeing.anxiety": 4}},
    ]
    raised = _check_ins(case, rounds)
    [alert] = [a for a in raised if a.link_id.startswith(TREND_PREFIX)]
    assert alert.link_id == TREND_PREFIX + "wellbeing.anxiety"
    assert alert.partner_id == case.partners[0].id and alert.severity == "review"
    [card] = open_alert_cards(case)
    assert card.items[0].message.startswith("Anxiety rose by 3 points or more")
    # the card names what it rose from: Sam's 2 before the last two check-ins
    assert card.items[0].answer == "5 (was 2)"
    page = client_a.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Anxiety rose by 3 points or more" in page and "5 (was 2)" in page
    # the same response evaluated again raises nothing twice
    db.session.expire_all()
    assert evaluate_alerts(alert.assignment, alert.response) == []
    assert len(db.session.scalars(select(Alert).where(Alert.case_id == case.id)).all()) == 1


def test_the_trends_page_draws_a_chart_per_partner_with_a_table(
    app, client_a, client_b, counselor_a
):
    sync()
    case = new_case(counselor_a)
    sam, alex = _positions(case)
    _check_ins(
        case,
        [
            {sam: {"wellbeing.fatigue": 2}, alex: {"wellbeing.fatigue": 6}},
            {sam: {"wellbeing.fatigue": 4}, alex: {"wellbeing.fatigue": 5}},
            {sam: {"wellbeing.fatigue": 5}},
        ],
    )
    r = client_a.get(f"/cases/{case.id}/trends")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    question = "How tired or worn out do you feel these days?"
    assert page.count('<svg class="trend-chart"') == 2  # fatigue, once per partner
    assert f'<title id="trend-0-0-t">Sam Rivera: {question}</title>' in page
    assert "Sam Rivera answered 2 on" in page and "latest 5, up 3 from the baseline" in page
    # the item's trend rule, as the definition sets it
    assert "when a partner's answer rises by 3 or more over the last 2 answers" in page
    assert "Alex Novak answered 6 on" in page and "down 1 from the baseline" in page
    # the table holds every answer; a day without an answer says so
    assert re.search(r"<td>5</td><td>—</td>", page)
    # no script or font from the chart, and no colour needed: values are written out
    charts = re.findall(r"<svg.*?</svg>", page, re.S)
    assert all("<script" not in c and "@font-face" not in c and "href" not in c for c in charts)
    assert all('class="trend-value"' in c and 'class="trend-baseline"' in c for c in charts)
    assert client_b.get(f"/cases/{case.id}/trends").status_code == 404


def test_the_trends_page_without_repeated_answers_says_how_charts_come(app, client_a, counselor_a):
    case = new_case(counselor_a)
    page = client_a.get(f"/cases/{case.id}/trends").get_data(as_text=True)
    assert "No trends yet" in page


def test_a_chart_joins_the_partners_own_answers_and_escapes_its_text():
    drawn = svg.chart("t", "Q <b>", "Sam & Alex", ["1 Mar", "2 Mar", "3 Mar", "4 Mar"],
                      [1, 2, None, 4], 0, 10)  # fmt: skip
    # one line through the three answers; the day without one is on the axis, not a point
    assert drawn.count("<polyline") == 1 and drawn.count(" ", drawn.index("points=")) > 2
    assert drawn.count('class="trend-point"') == 3
    assert svg.chart("o", "Q", "Sam", ["1 Mar", "2 Mar"], [None, 3], 0, 10).count("<poly") == 0
    assert "Q &lt;b&gt;" in drawn and "Sam &amp; Alex" in drawn
    assert 'role="img"' in drawn and 'aria-labelledby="t-t t-d"' in drawn


def test_a_trend_rule_survives_a_fhir_round_trip():
    from counselor.questionnaires.fhir import to_fhir
    from counselor.questionnaires.fhir_import import from_fhir
    from counselor.questionnaires.services import library_files

    doc = next(d for _, d in library_files() if d["slug"] == CHECK_IN)
    back, notes = from_fhir(to_fhir(doc))
    anxiety = {"link_id": "wellbeing.anxiety"}

    def find(items):
        for item in items:
            if item.get("link_id") == anxiety["link_id"]:
                return item
            found = find(item.get("items", []))
            if found:
                return found
        return None

    assert find(back["items"])["trend"] == find(doc["items"])["trend"]
    assert not [n for n in notes if "trend" in n]


def test_a_trend_reads_only_the_partners_own_earlier_answers(app, counselor_a, counselor_b):
    """The baseline is this partner's, in this case: the other partner's calm check-ins, and
    another case's, never make a rise."""
    sync()
    case, elsewhere = new_case(counselor_a), new_case(counselor_b)
    sam, alex = _positions(case)
    calm = {"wellbeing.anxiety": 0, "wellbeing.pressure": 0}
    _check_ins(elsewhere, [{p.position: {**calm} for p in elsewhere.partners}] * 2)
    raised = _check_ins(
        case, [{alex: {**calm}}, {alex: {**calm}}, {sam: {**calm, "wellbeing.anxiety": 9}}]
    )
    assert [a for a in raised if a.link_id.startswith(TREND_PREFIX)] == []
    # Sam's own answers do make one
    raised = _check_ins(
        case,
        [{sam: {**calm, "wellbeing.anxiety": 2}}] * 2 + [{sam: {**calm, "wellbeing.anxiety": 9}}],
    )
    assert [a.partner_id for a in raised if a.link_id.startswith(TREND_PREFIX)] == [
        case.partners[0].id
    ]

"""Alerts a counselor can work with (issue 9 §5): the rule's severity is stored on the row and
orders every list (urgent first); one card per submitted response lists each triggered item
with the partner's actual answer and closes with one note; the note stays in the case history.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from counselor.alerts.models import Alert
from counselor.extensions import db
from tests.support import assign, load_own, new_case, open_link, small_alert_definition

TIRED = "ALERTMSG-tired: slow down the pace."
PUSHED = "ALERTMSG-pushed: follow up privately."


def graded_definition(slug: str, tired: str | None, pushed: str | None) -> dict:
    """The small alert check with the given severities on its two rules (None: the default)."""
    doc = small_alert_definition(slug)
    items = doc["items"][0]["items"]
    for item, severity in ((items[1], tired), (items[2], pushed)):
        if severity:
            item["alert"]["severity"] = severity
    return doc


def alerts_of(case) -> list[Alert]:
    db.session.expire_all()
    return list(db.session.scalars(select(Alert).where(Alert.case_id == case.id)))


@pytest.fixture
def graded(app, counselor_a):
    """Tired is info, pushed is urgent: the definition's order is the opposite of severity."""
    return load_own(counselor_a, graded_definition("graded-check", "info", "urgent"))


def submit(app, counselor_a, case, answers, slug="graded-check"):
    assignment, tokens = assign(case, slug, owner_id=counselor_a.id)
    open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera").answer_and_submit(answers)
    return assignment


def test_the_rule_severity_is_stored_on_the_alert_row(app, counselor_a, graded):
    case = new_case(counselor_a, "Graded couple")
    submit(app, counselor_a, case, {"check.tired": 9, "check.pushed": "a_bit"})
    assert {a.link_id: a.severity for a in alerts_of(case)} == {
        "check.tired": "info",
        "check.pushed": "urgent",
    }


def test_a_response_makes_one_card_with_each_answer_urgent_first(
    app, counselor_a, client_a, graded
):
    case = new_case(counselor_a, "Graded couple")
    submit(app, counselor_a, case, {"check.tired": 9, "check.pushed": "a_bit"})
    page = client_a.get(f"/cases/{case.id}").get_data(as_text=True)
    assert page.count('class="card shadow-sm mb-2 alert-card') == 1
    assert page.count("<textarea") == 1, "one note closes the card"
    assert "2 screening alerts to look at" in page
    # urgent before info although the definition asks about tiredness first
    assert page.index(PUSHED) < page.index(TIRED)
    assert "Sam Rivera answered: A bit" in page
    assert "Sam Rivera answered: 9" in page


def test_one_note_closes_every_alert_of_the_response_and_stays_in_the_history(
    app, counselor_a, client_a, graded
):
    case = new_case(counselor_a, "Graded couple")
    submit(app, counselor_a, case, {"check.tired": 9, "check.pushed": "yes"})
    first, second = alerts_of(case)
    other = new_case(counselor_a, "Other couple")
    submit(app, counselor_a, other, {"check.pushed": "yes"})

    note = "Called Sam; agreed to pause the exercises for a week."
    r = client_a.post(f"/cases/{case.id}/alerts/{second.id}/acknowledge", data={"note": note})
    assert r.status_code == 302
    closed = alerts_of(case)
    assert all(a.acknowledged_at is not None and a.ack_note == note for a in closed)
    assert [a.acknowledged_at for a in alerts_of(other)] == [None], "other cases stay open"

    page = client_a.get(r.headers["Location"]).get_data(as_text=True)
    assert "2 alerts closed with your note." in page
    assert "alert-card" not in page
    history = page[page.index("Closed screening alerts") :]
    assert note in history and TIRED in history and PUSHED in history
    assert "answered: Yes" in history


def test_the_caseload_lists_urgent_cases_before_other_flagged_ones(app, counselor_a, client_a):
    load_own(counselor_a, graded_definition("review-check", "review", "review"))
    load_own(counselor_a, graded_definition("urgent-check", "review", "urgent"))
    new_case(counselor_a, "Calm couple")
    urgent = new_case(counselor_a, "Urgent couple")
    review = new_case(counselor_a, "Review couple")
    submit(app, counselor_a, urgent, {"check.pushed": "yes"}, slug="urgent-check")
    submit(app, counselor_a, review, {"check.pushed": "yes"}, slug="review-check")
    caseload = client_a.get("/cases").get_data(as_text=True)
    labels = [
        label.strip()
        for label in re.findall(r'<div class="fw-semibold case-label">([^<]+?)\s*<', caseload)
    ]
    assert (
        labels.index("Urgent couple") < labels.index("Review couple") < labels.index("Calm couple")
    )
    assert caseload.count("Urgent screening alert") == 1
    assert caseload.count("case-alert-flag") == 2

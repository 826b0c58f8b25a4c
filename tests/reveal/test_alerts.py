"""Screening alerts: raised on submit from the item's alert rule, shown to the counselor on the
case, the caseload (flagged cases first) and the assignment; never shown to any partner; closed
only with a note, which is stored encrypted.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from counselor.alerts.models import Alert
from counselor.extensions import db
from tests.support import (
    INTAKE,
    assign,
    canary,
    intake_answers,
    load_own,
    new_case,
    open_link,
    small_alert_definition,
    sync,
)
from tests.support.mail import tell_counselors

TIRED = "ALERTMSG-tired: slow down the pace."
PUSHED = "ALERTMSG-pushed: follow up privately."
PRESSURE = "Reports some pressure (or is unsure) about taking part: follow up privately."


def open_alerts(case_id=None) -> list[Alert]:
    db.session.expire_all()
    stmt = select(Alert).where(Alert.acknowledged_at.is_(None))
    if case_id is not None:
        stmt = stmt.where(Alert.case_id == case_id)
    return list(db.session.scalars(stmt))


@pytest.fixture
def own(app, counselor_a):
    """The counselor's own check-in with a scale alert (>= 7) and a choice alert (!= no)."""
    return load_own(counselor_a, small_alert_definition())


def assign_own(counselor_a, case):
    return assign(case, "alert-check", owner_id=counselor_a.id)


@pytest.mark.parametrize(
    "tired,pushed,expected",
    [
        (6, "no", set()),
        (7, "no", {"check.tired"}),  # at the value: ">="
        (10, "no", {"check.tired"}),
        (0, "a_bit", {"check.pushed"}),  # "!=" no
        (9, "yes", {"check.tired", "check.pushed"}),
        (None, None, set()),  # unanswered never triggers
    ],
)
def test_alert_rules_trigger_on_submit(app, counselor_a, own, tired, pushed, expected):
    case = new_case(counselor_a)
    assignment, tokens = assign_own(counselor_a, case)
    partner = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    answers = {"check.feel": "fine"}
    if tired is not None:
        answers["check.tired"] = tired
    if pushed is not None:
        answers["check.pushed"] = pushed
    partner.autosave(answers)
    assert open_alerts() == [], "a draft raises nothing"
    partner.submit()
    alerts = open_alerts(case.id)
    assert {a.link_id for a in alerts} == expected
    for a in alerts:
        assert a.assignment_id == assignment.id
        assert a.partner_id == next(p.id for p in case.partners if p.display_name == "Sam Rivera")


def test_resubmitting_does_not_raise_the_same_alert_twice(app, counselor_a, own):
    case = new_case(counselor_a)
    assignment, tokens = assign_own(counselor_a, case)
    partner = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    partner.answer_and_submit({"check.tired": 8})
    r = partner.client.post("/p/reopen", data={"csrf_token": partner.csrf()})
    assert r.status_code == 302
    partner.answer_and_submit({"check.tired": 9})
    assert [a.link_id for a in open_alerts(case.id)] == ["check.tired"]


def test_alert_shows_to_the_counselor_and_never_to_a_partner(app, counselor_a, client_a, own):
    sync()
    flagged = new_case(counselor_a, "Flagged couple", ("Sam Rivera", "Alex Novak"))
    calm = new_case(counselor_a, "Calm couple", ("Robin Hale", "Kai Moreno"))
    # the calm case had the most recent session: it would be first without the alert
    r = client_a.post(
        f"/cases/{calm.id}/sessions/new",
        data={
            "date": date.today().isoformat(),
            "time": "09:00",
            "duration_minutes": "50",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    caseload = client_a.get("/cases").get_data(as_text=True)
    assert caseload.index("Calm couple") < caseload.index("Flagged couple")
    assert "case-alert-flag" not in caseload

    intake, tokens = assign(flagged, INTAKE)
    check, check_tokens = assign_own(counselor_a, flagged)
    sam = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    alex = open_link(app.test_client(), tokens["Alex Novak"], name="Alex Novak")
    sam_check = open_link(app.test_client(), check_tokens["Sam Rivera"], name="Sam Rivera")
    sam.answer_and_submit(intake_answers(**{"screening.pressure": "a_little"}))
    alex.answer_and_submit(intake_answers())
    sam_check.answer_and_submit({"check.tired": 8, "check.pushed": "yes"})
    assert len(open_alerts(flagged.id)) == 3

    # the case page lists every open alert with its message
    case_page = client_a.get(f"/cases/{flagged.id}").get_data(as_text=True)
    for message in (PRESSURE, TIRED, PUSHED):
        assert message in case_page
    assert "3 screening alerts to look at" in case_page
    assert "Sam Rivera" in case_page

    # the caseload flags it and lists it first, though the other case had a more recent session
    caseload = client_a.get("/cases").get_data(as_text=True)
    labels = re.findall(r'<div class="fw-semibold case-label">([^<]+?)\s*<', caseload)
    assert [label.strip() for label in labels] == ["Flagged couple", "Calm couple"]
    assert caseload.count("case-alert-flag") == 1

    # the assignment page shows only that assignment's alerts
    page = client_a.get(f"/cases/{flagged.id}/assignments/{intake.id}").get_data(as_text=True)
    assert PRESSURE in page and TIRED not in page
    page = client_a.get(f"/cases/{flagged.id}/assignments/{check.id}").get_data(as_text=True)
    assert TIRED in page and PUSHED in page and PRESSURE not in page

    # no partner page mentions an alert, the partner's own or anyone else's
    messages = [PRESSURE, TIRED, PUSHED, "ALERTMSG", "screening alert", "alert-card"]
    for browser, defn in (
        (sam, intake.version.definition),
        (alex, intake.version.definition),
        (sam_check, check.version.definition),
    ):
        for path, body in browser.every_page(defn).items():
            assert [m for m in messages if m in body] == [], (browser.name, path)


@pytest.mark.parametrize(
    "overrides,expected",
    [
        ({}, {}),
        ({"about.adult": False}, {"about.adult": "urgent"}),
        # a single "once" is for review; repeated and still happening is urgent
        ({"screening.fear_guilt": "once"}, {"screening.fear_guilt": "review"}),
        (
            {"screening.fear_guilt": "often", "screening.fear_guilt_now": "still"},
            {"screening.fear_guilt": "review", "screening.fear_guilt_now": "urgent"},
        ),
        # a follow-up the partner never saw raises nothing
        (
            {"screening.fear_guilt": "once", "screening.fear_guilt_now": "still"},
            {"screening.fear_guilt": "review"},
        ),
        ({"mood.asq_wish": "rather_talk"}, {"mood.asq_wish": "urgent"}),
        # the acuity question follows a "rather talk" too, and is not asked after all "no"
        (
            {"mood.asq_wish": "rather_talk", "mood.asq_now": "yes"},
            {"mood.asq_wish": "urgent", "mood.asq_now": "urgent"},
        ),
        ({"mood.asq_now": "yes"}, {}),
        (
            {"mood.asq_thoughts": "yes", "mood.asq_now": "yes"},
            {"mood.asq_thoughts": "urgent", "mood.asq_now": "urgent"},
        ),
        ({"screening.physical": "yes"}, {"screening.physical": "urgent"}),
        ({"screening.harm": "rather_talk"}, {"screening.harm": "urgent"}),
        (
            {"substances.audit_c1": "2", "substances.audit_c3": "1"},
            {"substances.audit_c3": "review"},
        ),
        ({"substances.drugs": "once_twice"}, {"substances.drugs": "info"}),
        ({"function.concerns": ["pain", "arousal"]}, {"function.concerns": "review"}),
    ],
)
def test_intake_alerts_carry_the_severity_their_rule_names(app, counselor_a, overrides, expected):
    from counselor.alerts.services import open_alerts as alert_views

    sync()
    case = new_case(counselor_a, "Screened couple")
    _, tokens = assign(case, INTAKE)
    sam = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    answers = intake_answers(**overrides)
    sam.autosave(answers)
    if answers["about.adult"]:
        sam.submit()
    # else the answer stops the portal: no submit, and the alert is raised on save
    # (tests/reveal/test_age_stop.py)
    db.session.expire_all()
    got = {v.alert.link_id: v.severity for v in alert_views(case)}
    assert got == expected


def test_alert_severity_shows_on_the_case_page(app, counselor_a, client_a):
    sync()
    case = new_case(counselor_a, "Screened couple")
    _, tokens = assign(case, INTAKE)
    sam = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    sam.answer_and_submit(intake_answers(**{"mood.asq_attempt": "yes"}))
    page = client_a.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "alert-severity-urgent" in page and "Positive suicide screen (ASQ)" in page


def test_acknowledging_needs_a_note_and_stores_it_encrypted(
    app, counselor_a, client_a, own, database_url
):
    case = new_case(counselor_a, "Flagged couple")
    assignment, tokens = assign_own(counselor_a, case)
    partner = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    partner.answer_and_submit({"check.pushed": "a_bit"})
    (alert,) = open_alerts(case.id)
    url = f"/cases/{case.id}/alerts/{alert.id}/acknowledge"

    for data in ({}, {"note": ""}, {"note": "   \n "}):
        r = client_a.post(url, data=data)
        assert r.status_code == 400, data
        assert "Write a short note" in r.get_data(as_text=True)
        assert [a.id for a in open_alerts(case.id)] == [alert.id]
    assert r.status_code == 400
    r = client_a.post(url, data={"note": "x" * 4001})
    assert r.status_code == 400
    assert len(open_alerts(case.id)) == 1
    assert PUSHED in client_a.get(f"/cases/{case.id}").get_data(as_text=True)

    note = canary("ack-note") + " talked with Sam alone on Tuesday"
    r = client_a.post(url, data={"note": note, "next_page": "assignment"})
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/cases/{case.id}/assignments/{assignment.id}")
    assert open_alerts(case.id) == []
    db.session.expire_all()
    stored = db.session.get(Alert, alert.id)
    assert stored.acknowledged_at is not None
    assert stored.ack_note == note  # readable through the model
    # not in plain text in the raw column, nor anywhere in the database file
    (raw,) = [
        bytes(r)
        for (r,) in db.session.execute(text("SELECT ack_note_sealed FROM alert"))
        if r is not None
    ]
    assert note.encode() not in raw
    assert b"ack-note" not in raw
    url_parts = make_url(database_url)
    if url_parts.get_backend_name() == "sqlite":
        db.session.commit()
        blob = b"".join(
            p.read_bytes()
            for p in (
                Path(url_parts.database),
                Path(url_parts.database + "-wal"),
                Path(url_parts.database + "-journal"),
            )
            if p.exists()
        )
        assert note.encode() not in blob and note.split()[0].encode() not in blob
    # gone from the open alerts and the caseload, kept with its note in the case's history,
    # and a second acknowledgement is refused
    page = client_a.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "alert-card" not in page and "screening alert to look at" not in page
    history = page[page.index("Closed screening alerts") :]
    assert PUSHED in history and note in history and "answered: A bit" in history
    assert "case-alert-flag" not in client_a.get("/cases").get_data(as_text=True)
    r = client_a.post(url, data={"note": "again"})
    assert r.status_code == 409
    db.session.expire_all()
    assert db.session.get(Alert, alert.id).ack_note == note


def test_an_alert_is_acknowledged_only_through_its_own_case(app, counselor_a, client_a, own):
    case = new_case(counselor_a, "Flagged couple")
    other = new_case(counselor_a, "Other couple")
    _, tokens = assign_own(counselor_a, case)
    open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera").answer_and_submit(
        {"check.tired": 10}
    )
    (alert,) = open_alerts(case.id)
    r = client_a.post(
        f"/cases/{other.id}/alerts/{alert.id}/acknowledge", data={"note": "wrong case"}
    )
    assert r.status_code == 404
    assert len(open_alerts(case.id)) == 1


def test_two_alerts_of_one_submit_each_have_their_audit_event(app, counselor_a, own):
    """The alerts a submit raises are written together; each still has its own
    ``alert.raise`` event, and one mail tells the counselor of them."""
    from counselor.core.audit import AuditEvent
    from counselor.mail.models import Message

    case = new_case(counselor_a)
    _, tokens = assign_own(counselor_a, case)
    partner = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    partner.answer_and_submit({"check.tired": 9, "check.pushed": "yes"})
    alerts = open_alerts(case.id)
    assert {a.link_id for a in alerts} == {"check.tired", "check.pushed"}
    raised = db.session.scalars(
        select(AuditEvent.object_id).where(AuditEvent.action == "alert.raise")
    ).all()
    assert sorted(raised) == sorted(str(a.id) for a in alerts)
    kinds = db.session.scalars(select(Message.kind).where(Message.case_id == case.id)).all()
    # the alert's mail with the submit; the "submitted" one from the worker's sweep
    assert kinds == ["notify.alert"]
    tell_counselors()
    kinds = db.session.scalars(select(Message.kind).where(Message.case_id == case.id)).all()
    assert sorted(kinds) == ["notify.alert", "notify.submitted"]

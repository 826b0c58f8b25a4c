"""First sign-in shows the whole loop (issue 9 §8): the demo's times are in the practice's
zone at plausible hours, cases open before their sessions, and one case has submitted
homework, a released comparison, an open alert and a ready PDF."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from counselor.alerts.models import Alert
from counselor.cases.models import Case
from counselor.core.models import aware, to_local, utcnow
from counselor.extensions import db
from counselor.questionnaires.models import Assignment, Response
from counselor.reports.models import Export
from counselor.steps.models import Step, StepDebrief


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Los_Angeles"])
def test_demo_shows_every_stage_at_plausible_local_hours(make_app, zone):
    app = make_app(COUNSELOR_TIMEZONE=zone)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        email, password = re.search(r"Demo login: (\S+) / (\S+)", result.output).groups()

        cases = db.session.scalars(select(Case)).all()
        for case in cases:
            starts = [aware(s.starts_at) for s in case.sessions]
            assert starts and aware(case.created_at) < min(starts), case.label
            for s in case.sessions:
                local = to_local(s.starts_at)
                assert 8 <= local.hour <= 18 and local.weekday() < 5, (case.label, local)
            past = [s for s in starts if s < utcnow()]
            assert len(past) >= 1
        # the couple acknowledged the practice's informed consent before their intake
        from counselor.consent import services as consent

        couple = next(c for c in cases if c.label == "Sam & Alex")
        assert [p.done for p in consent.case_status(couple)] == [True, True]
        # the ladder three steps in: Alex's debrief of step 3 is still to write
        debriefs = set(db.session.scalars(select(StepDebrief.assignment_id)))
        waiting = db.session.scalars(select(Response).where(Response.status != "submitted")).all()
        assert len(waiting) == 1 and waiting[0].assignment_id in debriefs
        responses = db.session.scalars(select(Response).where(Response.status == "submitted")).all()
        for r in responses:
            assert 7 <= to_local(r.submitted_at).hour <= 22
            assert aware(r.submitted_at) < utcnow()
        released = db.session.scalars(
            select(Assignment)
            .where(Assignment.released_at.is_not(None))
            .order_by(Assignment.created_at)
        ).all()
        # the inventory and the pause signal (the agreement was drafted from both)
        assert len(released) == 2
        released.sort(key=lambda a: a.definition.doc["slug"] != "desires-boundaries")
        alert, trend = sorted(
            db.session.scalars(
                select(Alert).where(
                    Alert.acknowledged_at.is_(None), Alert.assignment_id.not_in(debriefs)
                )
            ),
            key=lambda a: a.link_id.startswith("trend:"),
        )
        # Sam's anxiety rose 3 points over the last two weekly check-ins
        assert trend.link_id == "trend:wellbeing.anxiety" and trend.case_id == alert.case_id
        # Sam's debrief of step 3 asked to slow down: step 4 is paused, the counselor alerted
        assert db.session.scalar(select(Alert).where(Alert.link_id == "steps.pace"))
        steps = db.session.scalars(select(Step).order_by(Step.position)).all()
        assert [s.status for s in steps] == ["done", "done", "done", "paused"]
        (export,) = db.session.scalars(select(Export).where(Export.status == "ready")).all()
        couple = next(c for c in cases if c.label == "Sam & Alex")
        from counselor.steps import views as steps_views

        # steps 1 and 2 are in the shared log; step 3 waits for Alex's debrief
        assert [e.number for e in steps_views.shared_log(couple.partners[0])] == [1, 2]
        assert alert.case_id == released[0].case_id == export.case_id == couple.id
        ids = (couple.id, released[0].id, export.id)
        from counselor.agreements import queries as agreement_queries
        from counselor.agreements import views as agreement_views

        (agreement,) = agreement_views.case_agreements(couple)
        assert [v.number for v in agreement_queries.published(agreement.agreement)] == [1, 2]
        assert agreement.in_force.number == 1 and [v.number for v, _ in agreement.pending] == [2]
        for line in agreement.history:
            assert line.at < utcnow()

    client = app.test_client()
    r = client.post("/login", data={"email": email, "password": password})
    assert r.status_code == 302
    page = client.get(f"/cases/{ids[0]}").get_data(as_text=True)
    assert "alert-card" in page and "Sam Rivera answered: A little" in page
    assert "Our agreement" in page and "version 2 waiting: 1 of 2 agreed" in page
    assert "A step is paused until you resume it" in page and "3 of 4 steps done" in page
    compare = client.get(f"/cases/{ids[0]}/assignments/{ids[1]}/compare").get_data(as_text=True)
    assert "Released" in compare and "What Alex Novak sees" in compare
    preview = re.search(r'href="([^"]+/preview)">What Alex Novak sees<', compare).group(1)
    seen = client.get(preview).get_data(as_text=True)
    assert "What Alex Novak sees" in seen and "Sam Rivera" in seen
    # a weekly check-in schedule, three check-ins in: its next date, and a chart per partner
    assert "every week from" in page and "3 made" in page and "Next: " in page
    trends = client.get(f"/cases/{ids[0]}/trends").get_data(as_text=True)
    assert trends.count('<svg class="trend-chart"') >= 6  # comfort, tiredness, anxiety × 2
    pdf = client.get(f"/cases/{ids[0]}/exports/{ids[2]}/download")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")

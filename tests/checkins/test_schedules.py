"""Recurring check-ins: a schedule turns into homework on its days, once each, catching up
after downtime with one occurrence; the counselor makes, pauses, resumes and ends it from the
case page, and bad input gets a clear 4xx."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from counselor.checkins import services
from counselor.checkins.models import Occurrence, Schedule
from counselor.checkins.tasks import run_schedules
from counselor.core.audit import AuditEvent
from counselor.extensions import db
from counselor.questionnaires.models import Assignment, Response
from tests.support import fresh, new_case
from tests.support.checkins import CHECK_IN, at_noon, local_today, weekly
from tests.support.library import questionnaire


def _occurrences(schedule) -> list[Occurrence]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Occurrence)
            .where(Occurrence.schedule_id == schedule.id)
            .order_by(Occurrence.number)
        )
    )


def _assignments(case) -> int:
    return db.session.scalar(select(func.count()).where(Assignment.case_id == case.id))


def test_a_weekly_schedule_gives_its_check_in_once_on_each_day(app, counselor_a):
    case = new_case(counselor_a)
    schedule = weekly(case)
    assert run_schedules.run() == 1
    assert run_schedules.run() == 0  # beat again within the hour: nothing twice
    [first] = _occurrences(schedule)
    assert first.number == 1 and first.falls_on == local_today()
    assignment = db.session.get(Assignment, first.assignment_id)
    assert assignment.definition.doc["slug"] == CHECK_IN
    assert {r.partner_id for r in assignment.responses} == {p.id for p in case.partners}
    assert fresh(schedule).next_on == local_today() + timedelta(days=7)
    # six days later nothing is due; on the seventh the second check-in comes
    assert services.run_due(at_noon(6)) == 0
    assert services.run_due(at_noon(7)) == 1
    assert [o.number for o in _occurrences(schedule)] == [1, 2]
    assert _assignments(case) == 2
    assert (
        db.session.scalar(
            select(func.count()).where(
                AuditEvent.action == "schedule.run", AuditEvent.object_id == str(schedule.id)
            )
        )
        == 2
    )


def test_after_downtime_one_check_in_is_made_not_a_burst(app, counselor_a):
    case = new_case(counselor_a)
    schedule = weekly(case, every=3, unit="days")
    # beat was down for 16 days: five days of the schedule went by (0, 3, 6, 9, 12, 15)
    assert services.run_due(at_noon(16)) == 1
    [only] = _occurrences(schedule)
    assert only.falls_on == local_today() + timedelta(days=15)  # the latest day that came
    assert fresh(schedule).next_on == local_today() + timedelta(days=18)
    assert services.run_due(at_noon(16)) == 0
    assert services.run_due(at_noon(17)) == 0
    assert services.run_due(at_noon(18)) == 1
    assert _assignments(case) == 2


def test_no_check_in_is_made_after_the_end_date_even_after_downtime(app, counselor_a):
    case = new_case(counselor_a)
    schedule = weekly(case, every=2, unit="days", ends_on=local_today() + timedelta(days=3))
    assert services.run_due(at_noon(10)) == 0  # beat was down past the last day
    assert fresh(schedule).status == "ended" and fresh(schedule).next_on is None
    assert _assignments(case) == 0


def test_a_schedule_ends_after_its_number_of_times_or_its_end_date(app, counselor_a):
    case = new_case(counselor_a)
    twice = weekly(case, times=2)
    until = weekly(case, every=2, unit="days", ends_on=local_today() + timedelta(days=3))
    assert services.run_due(at_noon(0)) == 2
    assert services.run_due(at_noon(2)) == 1  # `until` on day 2; its next (day 4) is past the end
    assert fresh(until).status == "ended" and fresh(until).next_on is None
    assert services.run_due(at_noon(7)) == 1  # `twice`, the second time
    assert fresh(twice).status == "ended" and fresh(twice).made == 2
    assert services.run_due(at_noon(60)) == 0


def test_an_archived_case_gets_no_check_ins_and_a_schedule_without_partners_pauses(
    app, counselor_a
):
    case = new_case(counselor_a, names=("Sam Rivera", "Alex Novak", "Kai Moreno"))
    kept = weekly(case)
    kai = case.partners[2]
    gone = weekly(case, partners=[kai])
    db.session.delete(kai)  # partner removed from the case: the schedule has no one left
    db.session.commit()
    assert not fresh(gone).members
    case.status = "archived"
    db.session.commit()
    assert services.run_due(at_noon(0)) == 0
    case.status = "active"
    db.session.commit()
    assert services.run_due(at_noon(0)) == 1
    assert fresh(kept).made == 1
    assert fresh(gone).status == "paused"  # shown on the case page rather than retried hourly


def _form(**over):
    data = {
        "questionnaire": str(questionnaire(CHECK_IN).id),
        "every": "1",
        "unit": "weeks",
        "starts_on": (local_today() + timedelta(days=1)).isoformat(),
        "ends_on": "",
        "times": "",
    }
    data.update(over)
    return data


def test_the_counselor_schedules_check_ins_and_sees_the_next_date(app, client_a, counselor_a):
    case = new_case(counselor_a)
    weekly(new_case(counselor_a, "Other"))  # loads the library
    page = client_a.get(f"/cases/{case.id}/schedules/new")
    assert page.status_code == 200
    assert "Schedule check-ins" in page.get_data(as_text=True)
    data = _form(partners=[str(case.partners[0].id)], times="6")
    r = client_a.post(f"/cases/{case.id}/schedules/new", data=data)
    assert r.status_code == 302 and r.headers["Location"].endswith("#checkins-h")
    schedule = db.session.scalar(select(Schedule).where(Schedule.case_id == case.id))
    assert schedule.partner_ids == {case.partners[0].id} and schedule.times == 6
    tomorrow = local_today() + timedelta(days=1)
    shown = client_a.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"Next: {tomorrow.strftime('%a')} {tomorrow.day} {tomorrow.strftime('%b')}" in shown
    assert "every week from" in shown and "6 times" in shown and "For Sam Rivera" in shown
    assert schedule.made == 0, "a schedule from tomorrow makes nothing today"
    assert db.session.scalar(
        select(func.count()).where(
            AuditEvent.action == "schedule.create", AuditEvent.object_id == str(schedule.id)
        )
    )


def test_bad_schedules_are_refused_with_a_message(app, client_a, counselor_a):
    case = new_case(counselor_a)
    weekly(new_case(counselor_a, "Other"))
    everyone = [str(p.id) for p in case.partners]
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    tried = {
        "Choose at least one partner.": _form(),
        "Not a valid integer value": _form(partners=everyone, every="often"),
        "Every 1 to 90 days": _form(partners=everyone, every="0"),
        "Every 1 to 26 weeks.": _form(partners=everyone, every="30"),
        "cannot be in the past": _form(partners=everyone, starts_on=yesterday),
        "The end date is before the first check-in.": _form(
            partners=everyone, ends_on=local_today().isoformat()
        ),
        "A schedule runs 1 to 100 times.": _form(partners=everyone, times="500"),
        "Not a valid choice": _form(partners=everyone, unit="months"),
        "Not a valid date value": _form(partners=everyone, starts_on="soon"),
    }
    for message, data in tried.items():
        r = client_a.post(f"/cases/{case.id}/schedules/new", data=data)
        assert r.status_code == 400, message
        assert message in r.get_data(as_text=True), message
    # a partner of another case, or a questionnaire id that is not one: refused, nothing made
    stranger = new_case(counselor_a, "Third").partners[0]
    assert (
        client_a.post(
            f"/cases/{case.id}/schedules/new", data=_form(partners=[str(stranger.id)])
        ).status_code
        == 400
    )
    assert (
        client_a.post(
            f"/cases/{case.id}/schedules/new", data=_form(partners=everyone, questionnaire="x")
        ).status_code
        == 400
    )
    assert db.session.scalar(select(func.count()).where(Schedule.case_id == case.id)) == 0


def test_pause_resume_and_end_are_one_click_each(app, client_a, client_b, counselor_a):
    case = new_case(counselor_a)
    schedule = weekly(case, every=2, unit="days")
    url = f"/cases/{case.id}/schedules/{schedule.id}"
    assert client_b.post(url, data={"action": "pause"}).status_code == 404
    assert client_a.post(url, data={"action": "stop"}).status_code == 400
    assert client_a.post(url, data={"action": "pause"}).status_code == 302
    assert fresh(schedule).status == "paused"
    assert "Paused" in client_a.get(f"/cases/{case.id}").get_data(as_text=True)
    assert services.run_due(at_noon(5)) == 0  # paused: nothing is made
    assert client_a.post(url, data={"action": "resume"}).status_code == 302
    resumed = fresh(schedule)
    assert resumed.status == "active" and resumed.next_on == local_today()
    assert client_a.post(url, data={"action": "end"}).status_code == 302
    assert fresh(schedule).status == "ended" and fresh(schedule).next_on is None
    page = client_a.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Ended" in page
    r = client_a.post(url, data={"action": "resume"})
    assert r.status_code == 409 and "has ended" in r.get_data(as_text=True)
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == str(schedule.id))
    ).all()
    assert {"schedule.pause", "schedule.resume", "schedule.end"} <= set(actions)
    assert services.run_due(at_noon(30)) == 0


def test_a_check_in_made_by_a_schedule_is_on_each_partners_home(app, counselor_a):
    case = new_case(counselor_a)
    weekly(case, partners=[case.partners[1]])
    run_schedules.run()
    responses = db.session.scalars(
        select(Response).join(Assignment).where(Assignment.case_id == case.id)
    ).all()
    assert [r.partner_id for r in responses] == [case.partners[1].id]
    assert responses[0].status == "not_opened"


def test_a_schedule_from_today_makes_its_first_check_in_at_once(app, client_a, counselor_a):
    """Partners need not wait for beat's next hourly run; beat then makes nothing more."""
    case = new_case(counselor_a)
    weekly(new_case(counselor_a, "Other"))  # loads the library
    data = _form(partners=[str(p.id) for p in case.partners], starts_on=local_today().isoformat())
    r = client_a.post(f"/cases/{case.id}/schedules/new", data=data, follow_redirects=True)
    assert "the first is on the partners&#39; homes now" in r.get_data(as_text=True)
    schedule = db.session.scalar(select(Schedule).where(Schedule.case_id == case.id))
    db.session.refresh(schedule)
    assert schedule.made == 1 and schedule.next_on == local_today() + timedelta(weeks=1)
    services.run_due()  # beat's next run (the other case's schedule is its own)
    assert [o.number for o in _occurrences(schedule)] == [1]

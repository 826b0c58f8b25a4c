"""Check-in schedules (made and changed from the case page) and the case's trends page."""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from wtforms import SelectChoice

from counselor.cases.services import get_case_or_404
from counselor.checkins import services, trends
from counselor.checkins.blueprint import bp
from counselor.checkins.forms import ButtonForm, ScheduleForm
from counselor.core import audit
from counselor.core.models import day_text
from counselor.core.ownership import counselor_required
from counselor.core.web import refuse, uuid_or_none
from counselor.extensions import db
from counselor.questionnaires.services import get_questionnaire_or_404, visible_questionnaires


@bp.route("/cases/<uuid:case_id>/schedules/new", methods=["GET", "POST"])
@counselor_required
def new(case_id: uuid.UUID):
    """Schedule a questionnaire for chosen partners every N days or weeks."""
    case = get_case_or_404(case_id)
    form = ScheduleForm()
    found = visible_questionnaires(published_only=True)
    # check-ins first: they are what a schedule is for
    found.sort(key=lambda q: (q.kind != "check-in", q.title))
    form.questionnaire.choices = [SelectChoice("", "Choose…")] + [
        SelectChoice(str(q.id), q.title) for q in found
    ]
    form.partners.choices = [SelectChoice(str(p.id), p.display_name) for p in case.partners]
    if request.method == "GET":
        form.partners.data = [str(p.id) for p in case.partners]
        form.every.data = 1
        form.starts_on.data = services.today() + timedelta(days=1)
        default = next((q for q in found if q.kind == "check-in"), None)
        form.questionnaire.data = str(default.id) if default else ""
    elif form.validate_on_submit():
        qid = uuid_or_none(form.questionnaire.data)
        partner_ids = [uuid_or_none(v) for v in form.partners.data]
        if qid is None or None in partner_ids:
            refuse(400, "This form was changed in the browser. Reload the page and try again.")
        try:
            schedule = services.create(
                case,
                get_questionnaire_or_404(qid),
                partner_ids,
                every=form.every.data,
                unit=form.unit.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                times=form.times.data,
            )
        except services.ScheduleError as exc:
            form.every.errors = [*form.every.errors, str(exc)]
        else:
            db.session.commit()
            if services.run_and_commit(schedule.id):
                flash("Check-ins scheduled: the first is on the partners' homes now.")
            else:
                flash(f"Check-ins scheduled: the first on {day_text(schedule.starts_on)}.")
            return redirect(url_for("cases.show", case_id=case.id) + "#checkins-h")
    audit.record("case.view", "case", case.id)
    db.session.commit()
    return render_template("checkins/new.html", case=case, form=form), (400 if form.errors else 200)


@bp.route("/cases/<uuid:case_id>/schedules/<uuid:schedule_id>", methods=["POST"])
@counselor_required
def change(case_id: uuid.UUID, schedule_id: uuid.UUID):
    """Pause, resume or end a schedule: one click on the case page."""
    case = get_case_or_404(case_id)
    schedule = services.get_schedule_or_404(case, schedule_id)
    action = services.CHANGES.get(request.form.get("action", ""))
    if action is None:
        refuse(400, "Choose pause, resume or end.")
    if not ButtonForm().validate_on_submit():
        refuse(400, "This page was open too long. Reload it and try again.")
    try:
        action(schedule)
    except services.ScheduleError as exc:
        db.session.rollback()
        refuse(409, str(exc))
    db.session.commit()
    flash(
        {"pause": "Check-ins paused.", "resume": "Check-ins resumed.", "end": "Check-ins ended."}[
            request.form["action"]
        ]
    )
    return redirect(url_for("cases.show", case_id=case.id) + "#checkins-h")


@bp.route("/cases/<uuid:case_id>/trends")
@counselor_required
def show_trends(case_id: uuid.UUID):
    """Each scale or number item answered more than once: a chart per partner over time."""
    case = get_case_or_404(case_id)
    found = trends.case_trends(case)
    audit.record("trends.view", "case", case.id)
    db.session.commit()
    return render_template("checkins/trends.html", case=case, trends=found)

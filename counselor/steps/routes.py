"""Step pages: the counselor's (from the case page) and the partner's (under /p/steps)."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from wtforms import SelectChoice

from counselor.cases.services import get_case_or_404
from counselor.core import audit
from counselor.core.ownership import counselor_required
from counselor.core.web import refuse, refused_under
from counselor.extensions import csrf, db
from counselor.portal.access import not_found, partner_required
from counselor.portal.home_page import HomeCard
from counselor.steps import holds, records, services, views
from counselor.steps.blueprint import bp
from counselor.steps.forms import PlainForm, StepForm


@bp.record_once
def _plug_in(state) -> None:
    # The partner's home lists their steps and shared log, and the record PDFs each ladder as
    # it stands, without importing this feature.
    state.app.extensions.setdefault("portal_home_cards", []).append(_home_cards)
    state.app.extensions.setdefault("record_sections", []).append(records.record_section)


def _home_cards(pctx) -> list[HomeCard]:
    """The partner's next step and shared log as cards of their home."""
    s = views.home_summary(pctx.partner)
    if not s.has_ladders:
        return []
    if s.debriefs_waiting:
        text = "A short debrief is waiting for you: how did the last step go?"
    elif s.paused:
        text = "Your next step is paused for now. Your counselor will look at it with you."
    elif s.next_step:
        text = f"Next: {s.next_step}"
    else:
        text = "You have gone through every step for now."
    cards = [
        HomeCard(
            title="Your steps",
            text=text,
            url=url_for("steps.portal_steps"),
            link_text="Open your steps",
            order=12 if s.debriefs_waiting else 25,
        )
    ]
    if s.log_steps:
        cards.append(
            HomeCard(
                title="Your shared log",
                text="What each of you chose to share after each step.",
                url=url_for("steps.portal_log"),
                link_text="Read the log",
                order=26,
            )
        )
    return cards


# ---- the counselor -------------------------------------------------------------------------


def _to_steps(case, anchor: str = ""):
    return redirect(url_for("steps.case_steps", case_id=case.id) + anchor)


def _step_form(case, step=None) -> StepForm:
    form = StepForm()
    form.place.choices = [SelectChoice(v, label) for v, label in services.places(case)]
    form.debrief.choices = [SelectChoice("", "The built-in debrief")] + [
        SelectChoice(str(q.id), q.title) for q in services.debrief_choices()
    ]
    if step is not None:
        del form.place  # a step stays on its ladder
    return form


def _debrief_id(form: StepForm) -> uuid.UUID | None:
    try:
        return uuid.UUID(form.debrief.data) if form.debrief.data else None
    except ValueError:
        raise services.StepError("Choose a debrief from the list.") from None


def _typed(form: StepForm) -> dict:
    """The step as typed in the form, as ``services.add_step`` and ``edit_step`` take it."""
    return {
        "what": form.what.data,
        "size": form.size.data,
        "conditions": form.conditions.data,
        "planned_on": form.planned_on.data,
        "questionnaire_id": _debrief_id(form),
    }


def _check_plain() -> None:
    if not PlainForm().validate_on_submit():
        refuse(400, "This page was open too long. Reload it and try again.")


@bp.route("/cases/<uuid:case_id>/steps", methods=["GET", "POST"])
@counselor_required
def case_steps(case_id: uuid.UUID):
    """The case's ladders of steps, the partners' proposals, and a form to add a step."""
    case = get_case_or_404(case_id)
    form = _step_form(case)
    status = 200
    if request.method == "GET" and request.args.get("place"):
        form.place.data = request.args["place"]
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                ladder = services.ladder_at(case, form.place.data)
                services.add_step(ladder, **_typed(form))
            except services.StepError as exc:
                refused_under(form.what, exc)
            else:
                db.session.commit()
                flash("Step added. The partners see it on their page.", "success")
                # the next step most often goes on the same ladder
                return redirect(
                    url_for("steps.case_steps", case_id=case.id, place=form.place.data) + "#add"
                )
        status = 400
    audit.record("steps.view", "case", case.id)
    db.session.commit()
    return render_template(
        "steps/case.html",
        case=case,
        ladders=views.counselor_ladders(case),
        form=form,
        plain=PlainForm(),
    ), status


@bp.route("/cases/<uuid:case_id>/steps/<uuid:step_id>/edit", methods=["GET", "POST"])
@counselor_required
def edit(case_id: uuid.UUID, step_id: uuid.UUID):
    """Change a step that is not done or skipped yet."""
    case = get_case_or_404(case_id)
    step = services.get_step_or_404(case, step_id)
    form = _step_form(case, step)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.edit_step(step, **_typed(form))
            except services.Stale as exc:
                db.session.rollback()
                refuse(409, str(exc))
            except services.StepError as exc:
                refused_under(form.what, exc)
            else:
                db.session.commit()
                flash("Step saved.", "success")
                return _to_steps(case, f"#step-{step.id}")
        status = 400
    else:
        form.what.data, form.size.data = step.what, step.size
        form.conditions.data, form.planned_on.data = step.conditions, step.planned_on
        form.debrief.data = str(step.debrief_questionnaire_id or "")
    audit.record("steps.edit_view", "step", step.id)
    db.session.commit()
    return render_template("steps/edit.html", case=case, step=step, form=form), status


def _counselor_act(case_id, step_id, action, message: str):
    case = get_case_or_404(case_id)
    step = services.get_step_or_404(case, step_id)
    _check_plain()
    try:
        action(step)
    except services.Stale as exc:
        db.session.rollback()
        refuse(409, str(exc))
    except services.StepError as exc:
        db.session.rollback()
        refuse(400, str(exc))
    db.session.commit()
    if message:
        flash(message, "success")
    return _to_steps(case, f"#step-{step.id}")


@bp.route("/cases/<uuid:case_id>/steps/<uuid:step_id>/move", methods=["POST"])
@counselor_required
def move(case_id: uuid.UUID, step_id: uuid.UUID):
    """Move a step one place up or down."""
    direction = request.form.get("direction", "")
    return _counselor_act(case_id, step_id, lambda s: services.move(s, direction), "")


@bp.route("/cases/<uuid:case_id>/steps/<uuid:step_id>/decide", methods=["POST"])
@counselor_required
def decide(case_id: uuid.UUID, step_id: uuid.UUID):
    """Accept a partner's proposed step onto the ladder, or decline it."""
    accept = request.form.get("decision") == "accept"
    return _counselor_act(
        case_id,
        step_id,
        lambda s: services.decide(s, accept),
        "Added to the ladder." if accept else "Declined. The partner sees it was not added.",
    )


@bp.route("/cases/<uuid:case_id>/steps/<uuid:step_id>/resume", methods=["POST"])
@counselor_required
def resume(case_id: uuid.UUID, step_id: uuid.UUID):
    """Lift a pause: the partners can go on with the step."""
    return _counselor_act(
        case_id, step_id, services.resume, "The step is open again for the partners."
    )


# ---- the partner ---------------------------------------------------------------------------


def _portal_page(ctx, *, status: int = 200, message: str | None = None):
    return render_template(
        "steps/portal.html",
        ctx=ctx,
        ladders=views.partner_ladders(ctx.partner),
        message=message,
        notice=request.args.get("done", ""),
        held_text=holds.HELD,
    ), status


@bp.route("/p/steps")
@partner_required
def portal_steps(ctx):
    """The partner's steps: the one they are on, their debriefs, and what to share."""
    audit.by_partner(ctx.partner.id, "portal.steps")
    db.session.commit()
    return _portal_page(ctx)


@bp.route("/p/steps/log")
@partner_required
def portal_log(ctx):
    """The shared log: per step, what each partner chose to share, once everyone has."""
    log = views.shared_log(ctx.partner)
    audit.by_partner(ctx.partner.id, "portal.steps_log")
    db.session.commit()
    return render_template("steps/portal_log.html", ctx=ctx, log=log)


def _uuid_field(name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.form.get(name, ""))
    except ValueError:
        return None


def _partner_act(ctx, ladder_id, action, done: str):
    ladder = services.for_partner(ctx.partner, ladder_id)
    if ladder is None:  # a ladder the partner is not in looks like a link that does not work
        return not_found()
    try:
        action(ladder)
    except services.Stale as exc:
        db.session.rollback()
        return _portal_page(ctx, status=409, message=str(exc))
    except services.StepError as exc:
        db.session.rollback()
        return _portal_page(ctx, status=400, message=str(exc))
    db.session.commit()
    return redirect(url_for("steps.portal_steps", done=done) + f"#ladder-{ladder.id}")


@bp.route("/p/steps/<uuid:ladder_id>/mark", methods=["POST"])
@partner_required
def portal_mark(ctx, ladder_id: uuid.UUID):
    """Mark the current step done, skipped or paused, for everyone."""
    step_id = _uuid_field("step")
    action = request.form.get("action", "")

    def act(ladder):
        if step_id is None:
            raise services.StepError("The form is missing which step; reload the page.")
        services.mark(ladder, ctx.partner, step_id, action)

    return _partner_act(ctx, ladder_id, act, action)


@bp.route("/p/steps/<uuid:ladder_id>/share", methods=["POST"])
@partner_required
def portal_share(ctx, ladder_id: uuid.UUID):
    """Send what of one's debrief goes into the shared log."""
    step_id = _uuid_field("step")

    def act(ladder):
        if step_id is None:
            raise services.StepError("The form is missing which step; reload the page.")
        services.share(ladder, ctx.partner, step_id, request.form.getlist("share"))

    return _partner_act(ctx, ladder_id, act, "shared")


@bp.route("/p/steps/<uuid:ladder_id>/propose", methods=["POST"])
@partner_required
def portal_propose(ctx, ladder_id: uuid.UUID):
    """Propose a step to the counselor, who adds it or talks it through first."""
    form = request.form

    def act(ladder):
        services.add_step(
            ladder,
            form.get("what", ""),
            form.get("size", ""),
            form.get("conditions", ""),
            proposed_by=ctx.partner,
        )

    return _partner_act(ctx, ladder_id, act, "proposed")


# The partner's forms carry the portal's own CSRF token, checked by partner_required.
for _view in (portal_mark, portal_share, portal_propose):
    csrf.exempt(_view)

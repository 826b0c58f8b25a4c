"""Counselor pages: library, preview, assignment, links and the assignment page."""

from __future__ import annotations

import re
import secrets
import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from wtforms import SelectChoice

from counselor.cases import homes
from counselor.cases.caseload import list_cases
from counselor.cases.models import Case
from counselor.cases.services import get_case_or_404, owned_cases
from counselor.core import audit, shown
from counselor.core.ownership import counselor_required
from counselor.core.qr import qr_svg
from counselor.core.web import public_url, refuse, refused_under, refusing
from counselor.extensions import db
from counselor.questionnaires import authoring, services
from counselor.questionnaires.answer_html import answer_html
from counselor.questionnaires.blueprint import bp
from counselor.questionnaires.forms import CaseAssignForm, DueForm, LibraryAssignForm

STATUS_LABELS = {
    "not_opened": "Not opened",
    "opened": "Opened",
    "draft": "Draft",
    "submitted": "Submitted",
}


# one answer, read-only, on every page that shows answers (was a macro: see the module)
bp.add_app_template_global(answer_html)


@bp.app_template_global()
def response_status_label(status: str) -> str:
    """Human label of a response status."""
    return STATUS_LABELS.get(status, status)


def _homes_page(assignments: list, title: str):
    """After assigning: the homework is on each partner's home. A partner without a working
    home link gets one now, shown once (copy or scan); the others need nothing new."""
    rows, on_home = [], []
    for assignment in assignments:
        for response in sorted(assignment.responses, key=lambda r: r.partner.position):
            partner = response.partner
            if homes.home_link_state(homes.home_of(partner)) == "active":
                on_home.append(partner)
                continue
            token = homes.issue_home_link(partner)
            url = public_url("portal.home_landing", home_token=token)
            rows.append(
                {"partner": partner, "home": homes.home_of(partner), "url": url, "qr": qr_svg(url)}
            )
    db.session.commit()
    cases = {a.case_id for a in assignments}
    back = (
        url_for("cases.show", case_id=assignments[0].case_id)
        if len(cases) == 1
        else url_for("cases.index")
    )
    return render_template(
        "questionnaires/assigned.html", rows=rows, on_home=on_home, title=title, back=back
    )


def _links_page(issued: list[services.IssuedLink], title: str):
    """Show freshly issued links once: the tokens exist nowhere else."""
    rows = []
    for item in issued:
        url = public_url("portal.landing", token=item.token)
        rows.append({"issued": item, "url": url, "qr": qr_svg(url)})
    return render_template("questionnaires/links.html", rows=rows, title=title)


@bp.route("/questionnaires")
@counselor_required
def library():
    """The built-in library and the counselor's own questionnaires."""
    return render_template(
        "questionnaires/library.html", questionnaires=services.visible_questionnaires()
    )


@bp.route("/questionnaires/<uuid:questionnaire_id>")
@counselor_required
def preview(questionnaire_id: uuid.UUID):
    """A questionnaire as partners will see it, with its versions."""
    questionnaire = services.get_questionnaire_or_404(questionnaire_id)
    versions = authoring.readable_versions(questionnaire)  # another's drafts stay theirs
    number = request.args.get("v", type=int) or (versions[-1].number if versions else 0)
    version = next((v for v in versions if v.number == number), None)
    if version is None:
        abort(404)
    return render_template(
        "questionnaires/preview.html",
        questionnaire=questionnaire,
        version=version,
        versions=versions,
        mine=authoring.is_mine(questionnaire),
    )


#: the form's idempotency key as _new_key makes it; anything else posted is replaced
_REQUEST_KEY = re.compile(r"^[0-9a-f]{32}$")


def _new_key(form) -> None:
    # A posted key is the primary key of a 32-character column: a longer one would fail the
    # INSERT on PostgreSQL, and only keys the server made can name a form.
    if not _REQUEST_KEY.match(form.request_key.data or ""):
        form.request_key.data = secrets.token_hex(16)


ALREADY_DONE = "These links were already created and shown once. Reissue a link to get a new one."


def _already_done(form):
    """A resubmitted form (refresh, double click): nothing is created twice."""
    if form.request_key.data and services.already_assigned(form.request_key.data):
        flash(ALREADY_DONE, "warning")
        return True
    return False


def _lost_race(back: str):
    """Two copies of the form arrived at once: the unique request key let only one through."""
    db.session.rollback()
    flash(ALREADY_DONE, "warning")
    return redirect(back)


@bp.route("/questionnaires/<uuid:questionnaire_id>/assign", methods=["GET", "POST"])
@counselor_required
def assign_many(questionnaire_id: uuid.UUID):
    """Give a questionnaire to every partner of several cases at once."""
    questionnaire = services.get_questionnaire_or_404(questionnaire_id)
    form = LibraryAssignForm()
    cases = list_cases(current_user, status="active")
    form.cases.choices = [SelectChoice(str(c.id), c.label) for c in cases]
    _new_key(form)
    if form.validate_on_submit():
        if _already_done(form):
            return redirect(url_for("questionnaires.library"))
        chosen = {uuid.UUID(v) for v in form.cases.data}
        try:
            made = services.assign_to_cases(
                owned_cases(current_user, [c.id for c in cases if c.id in chosen]),
                questionnaire.latest,
                due_on=form.due_on.data,
                instructions=form.instructions.data,
                ttl_days=form.ttl_days.data,
            )
            services.claim_form(form.request_key.data, current_user.id)
        except services.AssignmentError as exc:
            refused_under(form.cases, exc)
        except IntegrityError:
            return _lost_race(url_for("questionnaires.library"))
        else:
            db.session.commit()
            return _homes_page(made, f"{questionnaire.title}: assigned")
    status = 400 if form.errors else 200
    return render_template(
        "questionnaires/assign_many.html", form=form, questionnaire=questionnaire
    ), status


@bp.route("/cases/<uuid:case_id>/assign", methods=["GET", "POST"])
@counselor_required
def assign(case_id: uuid.UUID):
    """Give a questionnaire to partners of this case and show their links."""
    case = get_case_or_404(case_id)
    form = CaseAssignForm()
    questionnaires = services.visible_questionnaires(published_only=True)
    form.questionnaire.choices = [SelectChoice("", "Choose…")] + [
        SelectChoice(str(q.id), q.title) for q in questionnaires
    ]
    form.partners.choices = [SelectChoice(str(p.id), p.display_name) for p in case.partners]
    if request.method == "GET":
        form.partners.data = [str(p.id) for p in case.partners]
        form.questionnaire.data = request.args.get("questionnaire", "")
    _new_key(form)
    if form.validate_on_submit():
        if _already_done(form):
            return redirect(url_for("cases.show", case_id=case.id))
        questionnaire = next(q for q in questionnaires if str(q.id) == form.questionnaire.data)
        # the section boxes of the chosen questionnaire, when the page showed them
        shown = request.form.get(f"sections-{questionnaire.id}-shown")
        sections = request.form.getlist(f"sections-{questionnaire.id}") if shown else None
        try:
            assignment, _ = services.assign(
                case,
                questionnaire.latest,
                [uuid.UUID(p) for p in form.partners.data],
                due_on=form.due_on.data,
                instructions=form.instructions.data,
                ttl_days=form.ttl_days.data,
                sections=sections,
            )
            services.claim_form(form.request_key.data, current_user.id)
        except services.AssignmentError as exc:
            form.partners.errors.append(str(exc))
        except IntegrityError:
            return _lost_race(url_for("cases.show", case_id=case_id))
        else:
            db.session.commit()
            return _homes_page([assignment], f"{questionnaire.title}: assigned")
    status = 400 if form.errors else 200
    return render_template(
        "questionnaires/assign.html", form=form, case=case, questionnaires=questionnaires
    ), status


def _assignment_action(case_id: uuid.UUID, assignment_id: uuid.UUID):
    case = get_case_or_404(case_id)
    return case, services.get_assignment_or_404(case, assignment_id)


def _back(case: Case, item):
    return redirect(url_for("questionnaires.assignment", case_id=case.id, assignment_id=item.id))


@bp.route("/cases/<uuid:case_id>/assignments/<uuid:assignment_id>/lock", methods=["POST"])
@counselor_required
def lock(case_id: uuid.UUID, assignment_id: uuid.UUID):
    """Close the assignment for changes by partners."""
    return _set_locked(case_id, assignment_id, True)


@bp.route("/cases/<uuid:case_id>/assignments/<uuid:assignment_id>/unlock", methods=["POST"])
@counselor_required
def unlock(case_id: uuid.UUID, assignment_id: uuid.UUID):
    """Reopen the assignment for changes."""
    return _set_locked(case_id, assignment_id, False)


def _set_locked(case_id: uuid.UUID, assignment_id: uuid.UUID, locked: bool):
    case, item = _assignment_action(case_id, assignment_id)
    services.set_locked(item, locked)
    db.session.commit()
    if locked:
        flash("Locked: partners can read but no longer change their answers.", "success")
    else:
        flash("Unlocked: partners can change their answers until the due date.", "success")
    return _back(case, item)


@bp.route("/cases/<uuid:case_id>/assignments/<uuid:assignment_id>/due", methods=["POST"])
@counselor_required
def change_due(case_id: uuid.UUID, assignment_id: uuid.UUID):
    """Extend (or clear) the due date."""
    case, item = _assignment_action(case_id, assignment_id)
    form = DueForm()
    if not form.validate_on_submit():
        refuse(400, "Enter the new due date as a date.")
    with refusing(400, services.AssignmentError):
        services.set_due(item, form.due_on.data)
    db.session.commit()
    flash("Due date changed.", "success")
    return _back(case, item)


@bp.route(
    "/cases/<uuid:case_id>/assignments/<uuid:assignment_id>/partners/<uuid:partner_id>/reissue",
    methods=["POST"],
)
@counselor_required
def reissue(case_id: uuid.UUID, assignment_id: uuid.UUID, partner_id: uuid.UUID):
    """A new link for a partner; the old one stops working at once."""
    case, item = _assignment_action(case_id, assignment_id)
    try:
        issued = services.reissue(item, partner_id)
    except services.AssignmentError:
        abort(404)
    db.session.commit()
    key = shown.hold(issued.token, issued.link.id)
    return redirect(
        url_for("questionnaires.new_link", case_id=case.id, assignment_id=item.id, key=key)
    )


@bp.route("/cases/<uuid:case_id>/assignments/<uuid:assignment_id>/new-link/<key>")
@counselor_required
def new_link(case_id: uuid.UUID, assignment_id: uuid.UUID, key: str):
    """Show a reissued link once; a reload says it was shown and mints nothing."""
    case, item = _assignment_action(case_id, assignment_id)
    ref = shown.held_ref(key)
    link = next((x for x in item.links if str(x.id) == ref), None) if ref else None
    token = shown.take(key, link.id) if link is not None and link.revoked_at is None else None
    if token is None:
        flash(
            "That new link was shown once and is not kept. It still works if you sent it; "
            "if it got lost, reissue it again.",
            "info",
        )
        return _back(case, item)
    audit.record("link.shown", "link", link.id)
    db.session.commit()
    issued = services.IssuedLink(link=link, token=token, case=case, partner=link.partner)
    return _links_page([issued], "New personal link")


@bp.route(
    "/cases/<uuid:case_id>/assignments/<uuid:assignment_id>/partners/<uuid:partner_id>/revoke",
    methods=["POST"],
)
@counselor_required
def revoke(case_id: uuid.UUID, assignment_id: uuid.UUID, partner_id: uuid.UUID):
    """Stop a partner's link working; their answers stay."""
    case, item = _assignment_action(case_id, assignment_id)
    try:
        services.revoke(item, partner_id)
    except services.AssignmentError as exc:
        flash(str(exc), "warning")
        return _back(case, item)
    db.session.commit()
    flash("Link revoked. It stops working at once; reissue to give a new one.", "success")
    return _back(case, item)

"""Comparison, release, alerts and counselor-only exports."""

from __future__ import annotations

import json
import uuid

from flask import Response as HTTPResponse
from flask import abort, flash, g, redirect, render_template, request, url_for

from counselor.cases.models import Case
from counselor.cases.services import get_case_or_404
from counselor.core import audit
from counselor.core.ownership import counselor_required
from counselor.core.web import refuse
from counselor.extensions import db
from counselor.questionnaires.services import get_assignment_or_404
from counselor.reveal import matching, services
from counselor.reveal.blueprint import bp
from counselor.reveal.forms import AcknowledgeForm, ReleaseForm


@bp.app_template_global()
def case_alerts(case: Case) -> list:
    """Open alert cards of a case (the case page shows them; cases knows nothing of alerts)."""
    return services.open_alert_cards(case)


@bp.record_once
def _flag_cases_with_alerts(state) -> None:
    # Cases with an open alert lead the caseload, urgent first; cases asks for them without
    # importing reveal.
    state.app.extensions.setdefault("caseload_flags", []).append(
        lambda counselor: services.caseload_alert_flags(counselor.id)
    )


@bp.app_template_global()
def case_closed_alerts(case: Case) -> list:
    """Closed alert cards of a case with their notes (the case's history)."""
    return services.closed_alert_cards(case)


@bp.app_context_processor
def _classes():
    return {
        "CLASS_LABELS": matching.CLASS_LABELS,
        "CLASS_ORDER": matching.CLASS_ORDER,
        "CLASS_HELP": matching.CLASS_HELP,
        "who_does_what": matching.who_does_what,
    }


def _load(case_id: uuid.UUID, assignment_id: uuid.UUID):
    case = get_case_or_404(case_id)
    owned = get_assignment_or_404(case, assignment_id)
    return case, services.load_assignment(owned.id)


@bp.route("/cases/<uuid:case_id>/assignments/<uuid:assignment_id>/compare")
@counselor_required
def compare(case_id: uuid.UUID, assignment_id: uuid.UUID):
    """Every partner's answers side by side, with the desire matrix by pair."""
    case, assignment = _load(case_id, assignment_id)
    cmp = services.compare(assignment)
    wanted = request.args.get("class", "")
    if wanted and wanted not in matching.CLASS_ORDER:
        wanted = ""
    audit.record("assignment.compare", "assignment", assignment.id)
    # Render before the commit: a commit expires every loaded object, and the template would
    # then reload the assignment, its responses and each partner one by one (an N+1).
    page = render_template(
        "reveal/compare.html",
        case=case,
        assignment=assignment,
        cmp=cmp,
        wanted=wanted,
        release_form=ReleaseForm(),
        all_submitted=services.all_submitted(assignment),
        open_alerts=services.open_alerts(case),
        previews=services.preview_for_partners(assignment),
    )
    db.session.commit()
    return page


@bp.route("/cases/<uuid:case_id>/assignments/<uuid:assignment_id>/release", methods=["POST"])
@counselor_required
def release(case_id: uuid.UUID, assignment_id: uuid.UUID):
    """Let each partner see their matches and the shared items."""
    case, assignment = _load(case_id, assignment_id)
    form = ReleaseForm()
    if not form.validate_on_submit():
        refuse(400, "Tick the confirmation box to release the results.")
    confirmed: set[uuid.UUID] = set()
    if form.confirm_alerts.data:
        try:
            confirmed = {uuid.UUID(v) for v in request.form.getlist("alert_id")}
        except ValueError:
            refuse(400, "The list of confirmed alerts was not understood. Reload the page.")
    try:
        services.release(assignment, confirmed)
    except services.ReleaseError as exc:
        refuse(409, str(exc))
    db.session.commit()
    flash(
        "Released. Each partner now sees their matches and the shared items through their link.",
        "success",
    )
    return redirect(url_for("reveal.compare", case_id=case.id, assignment_id=assignment.id))


@bp.route("/cases/<uuid:case_id>/assignments/<uuid:assignment_id>/withdraw", methods=["POST"])
@counselor_required
def withdraw(case_id: uuid.UUID, assignment_id: uuid.UUID):
    """Hide the shared view from the partners again."""
    case, assignment = _load(case_id, assignment_id)
    try:
        services.withdraw(assignment)
    except services.ReleaseError as exc:
        refuse(409, str(exc))
    db.session.commit()
    flash("Withdrawn. Partners no longer see anything of each other.", "success")
    return redirect(url_for("reveal.compare", case_id=case.id, assignment_id=assignment.id))


@bp.route("/cases/<uuid:case_id>/alerts/<uuid:alert_id>/acknowledge", methods=["POST"])
@counselor_required
def acknowledge(case_id: uuid.UUID, alert_id: uuid.UUID):
    """Close an alert with a note."""
    case = get_case_or_404(case_id)
    alert = services.get_alert_or_404(case, alert_id)
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        if "csrf_token" not in form.errors and form.note.errors:
            # An empty note (browser validation skipped) gets its page back, with the message
            # under that alert's note field, not a bare error page.
            from counselor.cases.routes import show as case_page
            from counselor.questionnaires.routes import assignment as assignment_page

            g.alert_note_error = (alert.id, form.note.errors[0])
            if request.form.get("next_page") == "assignment":
                page = assignment_page(case_id=case.id, assignment_id=alert.assignment_id)
            else:
                page = case_page(case_id=case.id)
            return page, 400
        refuse(400, "Write a short note of what you did before closing the alert.")
    try:
        closed = services.acknowledge(alert, form.note.data)
    except services.ReleaseError as exc:
        refuse(409, str(exc))
    db.session.commit()
    flash(
        "Alert closed with your note."
        if len(closed) == 1
        else f"{len(closed)} alerts closed with your note.",
        "success",
    )
    if request.form.get("next_page") == "assignment":
        return redirect(
            url_for("questionnaires.assignment", case_id=case.id, assignment_id=alert.assignment_id)
        )
    return redirect(url_for("cases.show", case_id=case.id))


@bp.route(
    "/cases/<uuid:case_id>/assignments/<uuid:assignment_id>/partners/<uuid:partner_id>/fhir.json"
)
@counselor_required
def fhir(case_id: uuid.UUID, assignment_id: uuid.UUID, partner_id: uuid.UUID):
    """One partner's answers as a FHIR R4 QuestionnaireResponse (counselor only)."""
    case, assignment = _load(case_id, assignment_id)
    response = next((r for r in assignment.responses if r.partner_id == partner_id), None)
    if response is None:
        abort(404)
    body = json.dumps(services.fhir_response(assignment, response), ensure_ascii=False, indent=2)
    filename = f"questionnaire-response-{response.id}.json"
    db.session.commit()
    return HTTPResponse(
        body,
        mimetype="application/fhir+json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/cases/<uuid:case_id>/assignments/<uuid:assignment_id>/export.csv")
@counselor_required
def export_csv(case_id: uuid.UUID, assignment_id: uuid.UUID):
    """An assignment as CSV: one row per item, one column per partner (counselor only)."""
    case, assignment = _load(case_id, assignment_id)
    body = services.csv_export(assignment)
    db.session.commit()
    return HTTPResponse(
        "\ufeff" + body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="assignment-{assignment.id}.csv"'},
    )

"""Comparison, release and the counselor-only exports."""

from __future__ import annotations

import json
import uuid

from flask import Response as HTTPResponse
from flask import abort, flash, redirect, render_template, request, url_for

from counselor.cases.services import get_case_or_404
from counselor.core import audit
from counselor.core.ownership import counselor_required
from counselor.core.web import refuse
from counselor.extensions import db
from counselor.questionnaires.services import get_assignment_or_404
from counselor.reveal import exports, matching, services
from counselor.reveal.blueprint import bp
from counselor.reveal.forms import ReleaseForm


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
    body = json.dumps(exports.fhir_response(assignment, response), ensure_ascii=False, indent=2)
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
    body = exports.csv_export(assignment)
    db.session.commit()
    return HTTPResponse(
        "\ufeff" + body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="assignment-{assignment.id}.csv"'},
    )

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


#: a comparison with more answer and matrix cells than this is shown one section at a time
#: (the desire inventory of 200 items for a couple or a triad stays on one page; for six
#: partners, 15 pairs would make some 4,000 cells and 5 MB of HTML)
PAGE_CELLS = 1_500


def _sections_shown(cmp: services.Comparison, defn, wanted: str):
    """(the sections with rows, whether the comparison is long enough to page, the section
    shown or None when every section is on the page)."""
    asked = request.args.get("section", "")
    rows = cmp.section_counts()
    with_rows = [s for s in defn.sections if rows.get(s.index)]
    if cmp.cells <= PAGE_CELLS or len(with_rows) < 2:
        return with_rows, False, None
    if asked == "all":
        return with_rows, True, None
    if asked:
        current = next((s for n, s in enumerate(defn.sections, 1) if str(n) == asked), None)
        if current is None or current not in with_rows:
            refuse(404, "This questionnaire has no such section. Choose one from the list.")
        return with_rows, True, current
    counts = cmp.section_counts(wanted)  # start where the class is found
    return with_rows, True, next((s for s in with_rows if counts.get(s.index)), with_rows[0])


@bp.route("/cases/<uuid:case_id>/assignments/<uuid:assignment_id>/compare")
@counselor_required
def compare(case_id: uuid.UUID, assignment_id: uuid.UUID):
    """Every partner's answers side by side, with the desire matrix by pair; a long comparison
    one section at a time (``?section=N``, or ``all``)."""
    case, assignment = _load(case_id, assignment_id)
    cmp = services.compare(assignment)
    wanted = request.args.get("class", "")
    if wanted and wanted not in matching.CLASS_ORDER:
        wanted = ""
    defn = assignment.definition
    sections, paged, current = _sections_shown(cmp, defn, wanted)
    audit.record("assignment.compare", "assignment", assignment.id)
    # Render before the commit: a commit expires every loaded object, and the template would
    # then reload the assignment, its responses and each partner one by one (an N+1).
    page = render_template(
        "reveal/compare.html",
        case=case,
        assignment=assignment,
        cmp=cmp,
        wanted=wanted,
        sections=sections,
        shown={current.index} if current is not None else {s.index for s in sections},
        current=current,
        paged=paged,
        release_form=ReleaseForm(),
        all_submitted=services.all_submitted(assignment),
        open_alerts=services.open_alerts(case),
        previews=services.preview_for_partners(
            assignment, current.index if current is not None else None
        ),
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

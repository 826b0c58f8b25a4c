"""Comparison, release and the counselor-only exports."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from flask import Response as HTTPResponse
from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import bindparam, select
from sqlalchemy.orm import contains_eager, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from counselor.cases.models import Case, PartnerRelationship
from counselor.core import audit
from counselor.core.ownership import counselor_required, get_owned_or_404
from counselor.core.web import refuse, refusing
from counselor.extensions import db
from counselor.questionnaires.models import Assignment, QuestionnaireVersion, Response
from counselor.reveal import exports, matching, overview, services, summary
from counselor.reveal.blueprint import bp
from counselor.reveal.forms import ReleaseForm, release_checkboxes
from counselor.reveal.shared_pages import NoSuchSection, shared_page


@bp.app_context_processor
def _classes():
    return {
        "CLASS_LABELS": matching.CLASS_LABELS,
        "CLASS_ORDER": matching.CLASS_ORDER,
        "CLASS_HELP": matching.CLASS_HELP,
    }


@bp.app_template_global()
def kept(cmp: services.Comparison, name: str, caller, keep: bool = True):
    """A part of a comparison page rendered once per kept summary (``Summary.derived``):
    ``{% call kept(cmp, name) %}…{% endcall %}`` around markup that shows only the summary,
    the definition and what ``name`` holds (the page's URL). A summary of drafts is made anew
    on every request, and so are its parts; ``keep=False`` renders the part every time."""
    return cmp.summary.derived(("page part", name), caller) if keep else caller()


#: what every page here but the comparison's reads with the assignment (the comparison reads
#: plain rows: ``overview.head``), in three statements whatever the number of partners: the
#: assignment with its case (the join that checks ownership), the case's partners and the
#: version, all in one row per partner (the version's 100 KB definition text is read only when
#: this process has not parsed it yet: ``parsed_definition``); then its responses and the
#: case's relationship map, each by a plain select of its rows. A ``selectinload`` of each
#: cost twice the CPU of these (its loader options were adapted anew on every request: about
#: 1 ms of a page).
LOAD = (
    contains_eager(Assignment.case).joinedload(Case.partners),
    joinedload(Assignment.version).defer(QuestionnaireVersion.definition_json),
)
RESPONSES = select(Response).where(Response.assignment_id == bindparam("assignment_id"))
RELATIONSHIPS = select(PartnerRelationship).where(
    PartnerRelationship.case_id == bindparam("case_id")
)


def _load(case_id: uuid.UUID, assignment_id: uuid.UUID):
    assignment = get_owned_or_404(
        Assignment,
        assignment_id,
        owner=Case.counselor_id,
        via=(Assignment.case,),
        where=(Assignment.case_id == case_id,),
        load=LOAD,
    )
    case = assignment.case
    rows = db.session.scalars(RESPONSES, {"assignment_id": assignment.id}).all()
    set_committed_value(assignment, "responses", rows)
    rows = db.session.scalars(RELATIONSHIPS, {"case_id": case.id}).all()
    set_committed_value(case, "relationships", rows)
    return case, assignment


#: a comparison with more answer and matrix cells than this is shown one section at a time:
#: the desire inventory (202 items) for a couple makes 606 cells and 580 KB of HTML on one
#: page, for six partners some 4,000 cells and 5 MB; a 30-item exercise for a triad (180
#: cells) or an intake for a couple stays on one page
PAGE_CELLS = 400
#: what a counselor reads for a ``?section=`` of a preview that shows nothing
NO_SECTION = (
    "This partner's page has no such section: a section without shared items is not listed. "
    "Choose one from the list."
)


@dataclass
class Paging:
    """Which sections a comparison page shows."""

    #: the sections with rows (the section list)
    sections: list
    #: whether the comparison is long enough to be shown a part at a time
    paged: bool
    #: the one section shown, or None
    current: object = None
    #: the indexes of the sections on this page
    shown: set[int] = field(default_factory=set)
    #: a class filter's items from every section on one page
    across: bool = False
    #: the first page of a long comparison: its overview, no answer of any section
    overview: bool = False


def _sections(defn, cells_per_row: int) -> tuple[list, bool]:
    """The sections with rows (the section list), and whether the comparison is long enough
    to be shown a part at a time: both follow from the definition (its rows, worked out once
    per parsed definition) and the partners and pairs compared."""
    rows = summary.rows_of(defn)
    with_rows = [s for s in defn.sections if rows.get(s.index)]
    return with_rows, sum(rows.values()) * cells_per_row > PAGE_CELLS and len(with_rows) >= 2


def _paging(cmp: services.Comparison, defn, wanted: str) -> Paging:
    """A short comparison on one page; a long one an overview first, then a section at a time
    (``?section=N``, or ``all``), or, filtered by a class whose items fit on one page, all of
    them at once."""
    asked = request.args.get("section", "")
    with_rows, paged = _sections(defn, cmp.cells_per_row)
    everything = {s.index for s in with_rows}
    if not paged:
        return Paging(with_rows, False, shown=everything)
    if asked == "all":
        return Paging(with_rows, True, shown=everything)
    if asked:
        current = next((s for n, s in enumerate(defn.sections, 1) if str(n) == asked), None)
        if current is None or current not in with_rows:
            refuse(404, "This questionnaire has no such section. Choose one from the list.")
        return Paging(with_rows, True, current, {current.index})
    if not wanted:
        return Paging(with_rows, True, overview=True)
    per_section = cmp.section_counts(wanted)
    found = sum(per_section.values())
    if found and found * cmp.cells_per_row <= PAGE_CELLS:
        in_class = {i for i, n in per_section.items() if n}
        return Paging(with_rows, True, shown=in_class, across=True)
    first = next((s for s in with_rows if per_section.get(s.index)), with_rows[0])
    return Paging(with_rows, True, first, {first.index})


@bp.route("/cases/<uuid:case_id>/assignments/<uuid:assignment_id>/compare")
@counselor_required
def compare(case_id: uuid.UUID, assignment_id: uuid.UUID):
    """Every partner's answers side by side, with the desire matrix by pair; a long comparison
    opens with an overview, then one section at a time (``?section=N``, or ``all``)."""
    wanted = request.args.get("class", "")
    if wanted and wanted not in matching.CLASS_ORDER:
        wanted = ""
    # Every page of a comparison reads its head as plain rows (the overview shows no answer
    # and reads nothing more); the answers are read by one statement more, and decrypted and
    # parsed, only when what the page shows needs them: no ORM object is loaded
    head = overview.head(case_id, assignment_id)
    cmp = head.comparison()
    paging = _paging(cmp, head.assignment.definition, wanted)
    return _page(head.case, head.assignment, cmp, wanted, paging, head.all_submitted)


def _page(case, assignment, cmp, wanted: str, paging: Paging, submitted: bool) -> str:
    """A comparison page, its read audited in the same transaction, rendered before the
    commit (a commit expires every loaded object, and the template would then reload them).
    The audit row is written with the commit (``core.audit``), so on SQLite the write lock is
    not held while the page renders."""
    # the release controls are on the overview and on every page that shows every section;
    # a section's page says where they are
    controls = not paging.paged or paging.overview or (not paging.current and not paging.across)
    # the open alerts are named on the release form, which only a releasable assignment has
    releasable = controls and submitted and assignment.released_at is None
    page = render_template(
        "reveal/compare.html",
        case=case,
        assignment=assignment,
        cmp=cmp,
        wanted=wanted,
        paging=paging,
        sections=paging.sections,
        shown=paging.shown,
        current=paging.current,
        controls=controls,
        release_form=ReleaseForm() if releasable else None,
        checkboxes=release_checkboxes() if releasable else None,
        all_submitted=submitted,
        open_alerts=services.release_alerts(case.id) if releasable else (),
    )
    audit.record("assignment.compare", "assignment", assignment.id)
    db.session.commit()
    return page


@bp.route(
    "/cases/<uuid:case_id>/assignments/<uuid:assignment_id>/partners/<uuid:partner_id>/preview"
)
@counselor_required
def preview(case_id: uuid.UUID, assignment_id: uuid.UUID, partner_id: uuid.UUID):
    """What one partner's shared page shows once released (or shows now, if released): built
    by the same partner filter as that page and paged the same way (``?section=N``), so the
    counselor reads exactly what is shared, section by section."""
    # plain rows, as every page of the comparison (``overview.head``): no ORM object is loaded
    head = overview.head(case_id, assignment_id)
    case, assignment = head.case, head.assignment
    response = next((r for r in assignment.responses if r.partner_id == partner_id), None)
    if response is None:
        abort(404)
    view = head.reader(partner_id, as_released=True)
    with refusing(404, NoSuchSection):
        shown = shared_page(
            view, assignment.definition, request.args.get("section", ""), NO_SECTION
        )
    audit.record("assignment.preview", "response", response.id)
    ids = {"case_id": case.id, "assignment_id": assignment.id, "partner_id": partner_id}
    page = render_template(
        "reveal/preview.html",
        case=case,
        assignment=assignment,
        partner=next(p for p in head.partners if p.id == partner_id),
        partners=head.partners,
        view=view,
        page=shown,
        section_url=lambda number: url_for(".preview", **ids, section=number),
        contents_url=url_for(".preview", **ids),
        all_submitted=head.all_submitted,
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

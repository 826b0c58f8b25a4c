"""The views of the composed pages; each calls its read model, commits once, renders.

They attach to the blueprint of the feature the page belongs to, so that their endpoints
(``cases.show``, ``questionnaires.assignment``, …) and URLs stay what every link names.
"""

from __future__ import annotations

import uuid

from flask import render_template, request
from flask_login import current_user

from counselor.cases import flags
from counselor.cases.blueprint import bp as cases_bp
from counselor.cases.services import get_case_or_404, get_session_or_404
from counselor.core.ownership import counselor_required
from counselor.extensions import db
from counselor.pages import case_page, read_models
from counselor.questionnaires.blueprint import bp as questionnaires_bp
from counselor.questionnaires.forms import DueForm
from counselor.questionnaires.services import get_assignment_or_404
from counselor.reports.forms import session_export_form


@cases_bp.record_once
def _plug_in(state) -> None:
    # a flag's close asks every flag source of the caseload before it clears a case's mark
    # (cases.flags), and only this page knows them all
    state.app.extensions[flags.FLAGS_KEY] = read_models.CASELOAD_FLAGS


@cases_bp.route("/cases")
@counselor_required
def index():
    """The caseload: search, filter by status, most recent session first."""
    status = request.args.get("status", "active")
    if status not in ("active", "archived", "all"):
        status = "active"
    query = request.args.get("q", "")[:200]
    page = request.args.get("page", 1, type=int)
    caseload = read_models.caseload_page(current_user, query, status, page)
    db.session.commit()
    return render_template("cases/index.html", caseload=caseload, status=status, query=query)


@cases_bp.route("/cases/<uuid:case_id>")
@counselor_required
def show(case_id: uuid.UUID):
    """A case: its partners, the timeline of sessions, homework, alerts and exports."""
    return _render("cases/show.html", case_page.case_page(case_id))


@cases_bp.route("/cases/<uuid:case_id>/sessions/<uuid:session_id>")
@counselor_required
def show_session(case_id: uuid.UUID, session_id: uuid.UUID):
    """One counseling session with its notes and its exports."""
    case = get_case_or_404(case_id)
    page = read_models.session_page(case, get_session_or_404(case, session_id))
    return _render("cases/session.html", page, export_form=session_export_form(case))


@questionnaires_bp.route("/cases/<uuid:case_id>/assignments/<uuid:assignment_id>")
@counselor_required
def assignment(case_id: uuid.UUID, assignment_id: uuid.UUID):
    """Status per partner and each partner's answers."""
    case = get_case_or_404(case_id)
    page = read_models.assignment_page(case, get_assignment_or_404(case, assignment_id))
    return _render(
        "questionnaires/assignment.html", page, due_form=DueForm(due_on=page.assignment.due_on)
    )


def _render(template: str, page, **extra):
    """Commit the page's audit event, then render the template with the read model's fields
    (and ``extra``, such as the page's forms)."""
    db.session.commit()
    return render_template(template, **vars(page), **extra)

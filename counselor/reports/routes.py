"""Export pages: request, status (polled), download, retry, delete."""

from __future__ import annotations

import uuid

from flask import Response as HTTPResponse
from flask import flash, jsonify, redirect, render_template, request, url_for

from counselor.cases.models import Case
from counselor.cases.services import get_case_or_404, get_session_or_404
from counselor.core import audit
from counselor.core.ownership import counselor_required
from counselor.core.web import refuse, refusing
from counselor.extensions import db
from counselor.reports import services
from counselor.reports.blueprint import bp
from counselor.reports.forms import session_export_form


@bp.app_template_global()
def export_label(export) -> str:
    """Human name of an export."""
    return services.export_label(export)


def _load(case_id: uuid.UUID, export_id: uuid.UUID):
    case = get_case_or_404(case_id)
    return case, services.get_export_or_404(case, export_id)


def _publish_and_redirect(case: Case, export):
    published = services.publish(export.id)
    if not published:
        flash(
            "Your export is saved and queued, but the background worker cannot be reached "
            "right now. It will start by itself as soon as the worker is back; "
            "you can leave this page.",
            "warning",
        )
    return redirect(url_for("reports.show", case_id=case.id, export_id=export.id))


@bp.route("/cases/<uuid:case_id>/sessions/<uuid:session_id>/exports", methods=["POST"])
@counselor_required
def request_session_export(case_id: uuid.UUID, session_id: uuid.UUID):
    """Ask for a clinical record or a client handout of a session."""
    case = get_case_or_404(case_id)
    session = get_session_or_404(case, session_id)
    form = session_export_form(case)
    if not form.validate_on_submit():
        refuse(400, "Choose Clinical record, or Client handout and the partner it is for.")
    partner_id = (
        uuid.UUID(form.partner.data) if form.kind.data == "handout" and form.partner.data else None
    )
    with refusing(400, services.ExportError):
        export = services.request_export(case, form.kind.data, session, partner_id)
    db.session.commit()
    return _publish_and_redirect(case, export)


@bp.route("/cases/<uuid:case_id>/exports", methods=["POST"])
@counselor_required
def request_case_export(case_id: uuid.UUID):
    """Ask for the case record: every session of the case in one PDF."""
    case = get_case_or_404(case_id)
    if not case.sessions:
        refuse(400, "This case has no sessions to export yet.")
    export = services.request_export(case, "case_record", None, None)
    db.session.commit()
    return _publish_and_redirect(case, export)


@bp.route("/cases/<uuid:case_id>/exports/<uuid:export_id>")
@counselor_required
def show(case_id: uuid.UUID, export_id: uuid.UUID):
    """Progress of one export; refreshes itself (with or without JavaScript) until done."""
    case, export = _load(case_id, export_id)
    return render_template(
        "reports/export.html", case=case, export=export, status=services.STATUS_TEXT
    )


@bp.route("/cases/<uuid:case_id>/exports/<uuid:export_id>/status.json")
@counselor_required
def status(case_id: uuid.UUID, export_id: uuid.UUID):
    """The export's state for the polling script."""
    case, export = _load(case_id, export_id)
    url = url_for("reports.download", case_id=case.id, export_id=export.id)
    return jsonify(services.status_payload(export, url))


@bp.route("/cases/<uuid:case_id>/exports/<uuid:export_id>/download")
@counselor_required
def download(case_id: uuid.UUID, export_id: uuid.UUID):
    """The PDF as an attachment (never cached)."""
    case, export = _load(case_id, export_id)
    if export.status != "ready":
        refuse(409, "This export is not ready yet.")
    audit.record("export.download", "export", export.id)
    db.session.commit()
    kind = export.kind.replace("_", "-")
    name = f"counselor-{kind}-{export.requested_at:%Y%m%d}-{str(export.id)[:8]}.pdf"
    return HTTPResponse(
        export.pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/cases/<uuid:case_id>/exports/<uuid:export_id>/retry", methods=["POST"])
@counselor_required
def retry(case_id: uuid.UUID, export_id: uuid.UUID):
    """Try a failed export again."""
    case, export = _load(case_id, export_id)
    with refusing(409, services.ExportError):
        services.retry_export(export)
    db.session.commit()
    return _publish_and_redirect(case, export)


@bp.route("/cases/<uuid:case_id>/exports/<uuid:export_id>/delete", methods=["POST"])
@counselor_required
def delete(case_id: uuid.UUID, export_id: uuid.UUID):
    """Delete an export and its PDF now."""
    case, export = _load(case_id, export_id)
    back = request.form.get("next_session")
    services.delete_export(export)
    db.session.commit()
    flash("Export deleted.", "success")
    if back and back == str(export.session_id):
        return redirect(
            url_for("cases.show_session", case_id=case.id, session_id=export.session_id)
        )
    return redirect(url_for("cases.show", case_id=case.id))

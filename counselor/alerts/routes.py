"""Closing an alert with a note (the cards themselves are on the case and assignment pages)."""

from __future__ import annotations

import uuid

from flask import current_app, flash, g, redirect, request, url_for

from counselor.alerts import services
from counselor.alerts.blueprint import bp
from counselor.alerts.forms import AcknowledgeForm
from counselor.cases.services import get_case_or_404
from counselor.core.ownership import counselor_required
from counselor.core.web import refuse, refusing
from counselor.extensions import db


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
            # The page is called by its endpoint, as a redirect would name it: the pages that
            # show alert cards sit above this feature and import it, not the other way round.
            g.alert_note_error = (alert.id, form.note.errors[0])
            pages = current_app.view_functions
            if request.form.get("next_page") == "assignment":
                page = pages["questionnaires.assignment"](
                    case_id=case.id, assignment_id=alert.assignment_id
                )
            else:
                page = pages["cases.show"](case_id=case.id)
            return page, 400
        refuse(400, "Write a short note of what you did before closing the alert.")
    with refusing(409, services.AlertError):
        closed = services.acknowledge(alert, form.note.data)
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

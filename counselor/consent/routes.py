"""Consent pages: the admin's text (Practice settings), the partner's page under /p/, and the
counselor's record of who acknowledged which version."""

from __future__ import annotations

import uuid
from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from counselor.cases.services import get_case_or_404
from counselor.consent import records, services
from counselor.consent.blueprint import bp
from counselor.consent.forms import ConsentTextForm
from counselor.core import audit
from counselor.core.models import day_text
from counselor.core.ownership import admin_required, counselor_required
from counselor.core.web import uuid_or_none
from counselor.extensions import csrf, db
from counselor.portal import services as portal_services
from counselor.portal.access import partner_required
from counselor.portal.home_page import HomeCard


@bp.record_once
def _plug_in(state) -> None:
    # The portal knows nothing of consent: it asks its plug-ins before an intake is answered,
    # and for the cards of a partner's home.
    ext = state.app.extensions
    ext.setdefault("portal_homework_gates", []).append(_intake_gate)
    ext.setdefault("portal_home_cards", []).append(_home_cards)
    # and the record PDFs carry who acknowledged which version
    ext.setdefault("record_sections", []).append(records.record_section)


def _intake_gate(ctx) -> str | None:
    """Before an intake can be answered: the practice's current consent text, acknowledged."""
    if ctx.assignment.kind != "intake":
        return None
    if not portal_services.editable(ctx) or services.status_of(ctx.partner).done:
        return None
    return url_for("consent.portal_consent")


def _home_cards(pctx) -> list[HomeCard]:
    status = services.status_of(pctx.partner)
    if status.done:
        day = day_text(status.latest.signed_on, long=True)
        return [
            HomeCard(
                title="How we work together",
                text=f"You read and agreed to this on {day}.",
                url=url_for("consent.portal_consent"),
                link_text="Read it again",
                order=90,
            )
        ]
    if status.older or services.has_intake(pctx.partner):
        return [
            HomeCard(
                title="Before you begin: how we work together",
                text=(
                    "Your counselor's practice has updated how it describes privacy and "
                    "working together. Please read the new version."
                    if status.older
                    else "Please read how your counselor keeps what you share private, and "
                    "what happens with things you tell your counselor on your own."
                ),
                url=url_for("consent.portal_consent"),
                link_text="Read it",
                order=5,
            )
        ]
    return []


# ---- the practice admin ---------------------------------------------------------------------


@bp.route("/admin/practice/consent", methods=["GET", "POST"])
@admin_required
def text():
    """The practice's consent text: the current version, its history, the default."""
    form = ConsentTextForm()
    current = services.current_text()
    if request.method == "GET":
        form.text.data = current.text
    elif form.validate_on_submit():
        try:
            saved = services.save_text(form.text.data, current_user.id)
        except services.ConsentError as exc:
            form.text.errors.append(str(exc))
        else:
            db.session.commit()
            if saved is None:
                flash("The text is unchanged; no new version was made.", "info")
            else:
                flash(
                    f"Saved as version {saved.number}. Partners will be asked to read it.",
                    "success",
                )
            return redirect(url_for("consent.text"))
    audit.record("consent.settings_view")
    versions = [(v, services.ack_count(v.id)) for v in services.versions()]
    db.session.commit()
    return render_template(
        "consent/text.html",
        form=form,
        current=current,
        versions=versions,
        default=services.DEFAULT_CONSENT_TEXT,
    ), 400 if form.errors else 200


# ---- the counselor --------------------------------------------------------------------------


@bp.route("/cases/<uuid:case_id>/consent")
@counselor_required
def case_record(case_id: uuid.UUID):
    """Who in the case acknowledged which version of the consent text, when, by what name."""
    case = get_case_or_404(case_id)
    status = services.case_status(case)
    history = services.history(case)
    audit.record("consent.view", "case", case.id)
    db.session.commit()
    return render_template("consent/case.html", case=case, status=status, history=history)


# ---- the partner ----------------------------------------------------------------------------


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


@bp.route("/p/consent", methods=["GET", "POST"])
@partner_required
def portal_consent(pctx):
    """The practice's consent text; the partner acknowledges it by typed name and date."""
    error, code = None, 200
    typed = {"name": "", "date": services.local_today().isoformat()}
    if request.method == "POST":
        typed = {"name": request.form.get("name", ""), "date": request.form.get("date", "")}
        try:
            services.acknowledge(
                pctx.partner,
                uuid_or_none(request.form.get("text_id")),
                typed["name"],
                _date(typed["date"]),
            )
        except services.ConsentError as exc:
            db.session.rollback()
            error, code = str(exc), 409 if isinstance(exc, services.StaleText) else 400
        else:
            db.session.commit()
            return redirect(url_for("portal.start"))
    consent = services.status_of(pctx.partner)
    audit.by_partner(pctx.partner.id, "consent.portal_view")
    db.session.commit()
    return render_template(
        "consent/portal.html",
        ctx=pctx,
        consent=consent,
        consent_blocks=services.blocks(consent.current.text),
        error=error,
        typed=typed,
    ), code


# The partner's page checks the portal's own CSRF token (partner_required) instead of Flask-WTF's
# (the counselor's token lives in a cookie a partner's pages never read or write).
csrf.exempt(portal_consent)

"""Case and session forms: thin routes that parse, call one service, commit once.

The caseload, case and session pages show other features too: their views are in
`counselor.pages.routes` (attached to this blueprint).
"""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from counselor.cases import homes, services
from counselor.cases.blueprint import bp
from counselor.cases.forms import CaseForm, ConfirmDeleteForm, RelationshipMapForm, SessionForm
from counselor.core import audit, shown
from counselor.core.models import to_local, utcnow
from counselor.core.ownership import counselor_required
from counselor.core.qr import qr_svg
from counselor.core.web import public_url
from counselor.extensions import db, flush_erased_pages


def _status(form) -> int:
    return 400 if form.errors else 200


@bp.route("/")
def home():
    """Counselors land on their caseload, admins on the account list."""
    if current_user.is_authenticated and current_user.is_admin:
        return redirect(url_for("admin.counselors"))
    return redirect(url_for("cases.index"))


@bp.route("/cases/new", methods=["GET", "POST"])
@counselor_required
def new():
    """Open a new case."""
    form = CaseForm()
    if form.validate_on_submit():
        try:
            case = services.create_case(current_user, form.label.data, form.partner_rows())
        except services.CaseError as exc:
            form.label.errors.append(str(exc))
        else:
            db.session.commit()
            flash("Case created.", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    return render_template("cases/form.html", form=form, case=None), _status(form)


def _partner_or_404(case_id: uuid.UUID, partner_id: uuid.UUID):
    case = services.get_case_or_404(case_id)
    partner = next((p for p in case.partners if p.id == partner_id), None)
    if partner is None:
        audit.record_now("access.denied", "partner", partner_id)
        abort(404)
    return case, partner


@bp.route("/cases/<uuid:case_id>/partners/<uuid:partner_id>/home-link", methods=["POST"])
@counselor_required
def issue_home_link(case_id: uuid.UUID, partner_id: uuid.UUID):
    """Give a partner their home link (or a new one: the old one stops working at once)."""
    case, partner = _partner_or_404(case_id, partner_id)
    token = homes.issue_home_link(partner)
    db.session.commit()
    key = shown.hold(token, partner.id)
    return redirect(url_for("cases.home_link", case_id=case.id, partner_id=partner.id, key=key))


@bp.route("/cases/<uuid:case_id>/partners/<uuid:partner_id>/home-link/<key>")
@counselor_required
def home_link(case_id: uuid.UUID, partner_id: uuid.UUID, key: str):
    """Show a new home link once (copy or scan); a reload says it was shown and mints nothing."""
    case, partner = _partner_or_404(case_id, partner_id)
    token = shown.take(key, partner.id)
    if token is None:
        flash(
            "That home link was shown once and is not kept. It still works if you sent it; "
            "if it got lost, give a new one.",
            "info",
        )
        return redirect(url_for("cases.show", case_id=case.id))
    audit.record("home.shown", "partner", partner.id)
    db.session.commit()
    url = public_url("portal.home_landing", home_token=token)
    home = homes.home_of(partner)
    return render_template(
        "cases/home_link.html",
        case=case,
        rows=[{"partner": partner, "home": home, "url": url, "qr": qr_svg(url)}],
    )


@bp.route("/cases/<uuid:case_id>/partners/<uuid:partner_id>/home-link/revoke", methods=["POST"])
@counselor_required
def revoke_home_link(case_id: uuid.UUID, partner_id: uuid.UUID):
    """Stop a partner's home link (and the sign-in links of their mails) working at once."""
    case, partner = _partner_or_404(case_id, partner_id)
    if homes.revoke_home_link(partner):
        db.session.commit()
        flash(
            f"{partner.display_name}'s home link is revoked; it stops working at once. "
            "Give a new one when they need it.",
            "success",
        )
    else:
        flash(f"{partner.display_name} has no working home link to revoke.", "warning")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.route("/cases/<uuid:case_id>/edit", methods=["GET", "POST"])
@counselor_required
def edit(case_id: uuid.UUID):
    """Change the label and partners of a case."""
    case = services.get_case_or_404(case_id)
    form = CaseForm()
    if request.method == "GET":
        form.label.data = case.label
        for entry, partner in zip(form.partners.entries, case.partners, strict=False):
            entry.partner_id.data = str(partner.id)
            entry.display_name.data = partner.display_name
            entry.pronouns.data = partner.pronouns
            entry.email.data = partner.email
    elif form.validate_on_submit():
        try:
            services.update_case(case, form.label.data, form.partner_rows())
        except services.CaseError as exc:
            form.label.errors.append(str(exc))
        else:
            db.session.commit()
            flash("Case saved.", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    return render_template("cases/form.html", form=form, case=case), _status(form)


@bp.route("/cases/<uuid:case_id>/relationships", methods=["GET", "POST"])
@counselor_required
def relationships(case_id: uuid.UUID):
    """Who in a case is in a relationship with whom (comparison and matching follow it)."""
    case = services.get_case_or_404(case_id)
    form = RelationshipMapForm()
    pairs = services.partner_pairs(case)
    if form.validate_on_submit():
        chosen = {
            frozenset((a.id, b.id)) for a, b in pairs if request.form.get(f"pair-{a.id}-{b.id}")
        }
        services.set_relationships(case, chosen)
        db.session.commit()
        flash("Relationship map saved.", "success")
        return redirect(url_for("cases.show", case_id=case.id))
    audit.record("case.view", "case", case.id)
    db.session.commit()
    return render_template("cases/relationships.html", form=form, case=case, pairs=pairs), _status(
        form
    )


@bp.route("/cases/<uuid:case_id>/archive", methods=["POST"])
@counselor_required
def archive(case_id: uuid.UUID):
    """Move a case to the archive (its records stay)."""
    return _set_status(case_id, "archived", "Case archived.")


@bp.route("/cases/<uuid:case_id>/unarchive", methods=["POST"])
@counselor_required
def unarchive(case_id: uuid.UUID):
    """Bring an archived case back to the active caseload."""
    return _set_status(case_id, "active", "Case is active again.")


def _set_status(case_id: uuid.UUID, status: str, message: str):
    case = services.get_case_or_404(case_id)
    services.set_status(case, status)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.route("/cases/<uuid:case_id>/delete", methods=["GET", "POST"])
@counselor_required
def delete(case_id: uuid.UUID):
    """Erase a case for good after its label is typed out."""
    case = services.get_case_or_404(case_id)
    form = ConfirmDeleteForm()
    if form.validate_on_submit():
        try:
            services.delete_case(case, form.confirm_label.data)
        except services.CaseError as exc:
            form.confirm_label.errors.append(str(exc))
        else:
            db.session.commit()
            flush_erased_pages()
            flash("The case and everything in it were deleted.", "success")
            return redirect(url_for("cases.index"))
    return render_template("cases/delete.html", form=form, case=case), _status(form)


@bp.route("/cases/<uuid:case_id>/sessions/new", methods=["GET", "POST"])
@counselor_required
def new_session(case_id: uuid.UUID):
    """Record a counseling session."""
    case = services.get_case_or_404(case_id)
    form = SessionForm()
    if request.method == "GET":
        now = to_local(utcnow())
        form.date.data, form.time.data = now.date(), now.time().replace(second=0, microsecond=0)
    if form.validate_on_submit():
        session = services.save_session(case, form.data)
        db.session.commit()
        flash("Session saved.", "success")
        return redirect(url_for("cases.show_session", case_id=case.id, session_id=session.id))
    return render_template("cases/session_form.html", form=form, case=case, session=None), _status(
        form
    )


@bp.route("/cases/<uuid:case_id>/sessions/<uuid:session_id>/edit", methods=["GET", "POST"])
@counselor_required
def edit_session(case_id: uuid.UUID, session_id: uuid.UUID):
    """Change a counseling session."""
    case = services.get_case_or_404(case_id)
    session = services.get_session_or_404(case, session_id)
    form = SessionForm(obj=session)
    if request.method == "GET":
        local = to_local(session.starts_at)
        form.date.data, form.time.data = local.date(), local.time()
    if form.validate_on_submit():
        services.save_session(case, form.data, session)
        db.session.commit()
        flash("Session saved.", "success")
        return redirect(url_for("cases.show_session", case_id=case.id, session_id=session.id))
    return render_template(
        "cases/session_form.html", form=form, case=case, session=session
    ), _status(form)


@bp.route("/cases/<uuid:case_id>/sessions/<uuid:session_id>/delete", methods=["POST"])
@counselor_required
def delete_session(case_id: uuid.UUID, session_id: uuid.UUID):
    """Delete a counseling session and its notes."""
    case = services.get_case_or_404(case_id)
    session = services.get_session_or_404(case, session_id)
    services.delete_session(case, session)
    db.session.commit()
    flash("Session deleted.", "success")
    return redirect(url_for("cases.show", case_id=case.id))

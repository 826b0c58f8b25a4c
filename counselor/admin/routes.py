"""Account list, creation, disabling."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from counselor.admin.blueprint import bp
from counselor.admin.forms import NewCounselorForm, PracticeSettingsForm
from counselor.auth import services
from counselor.auth.models import Counselor
from counselor.core import audit
from counselor.core import practice as settings
from counselor.core.ownership import admin_required
from counselor.core.practice import DEFAULT_SAFETY_TEXT
from counselor.extensions import db


@bp.route("/counselors", methods=["GET", "POST"])
@admin_required
def counselors():
    """List accounts and create a new one."""
    form = NewCounselorForm()
    if form.validate_on_submit():
        try:
            services.create_counselor(
                form.email.data, form.name.data, form.password.data, admin=form.admin.data
            )
        except services.AccountError as exc:
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Account for {form.email.data} created.", "success")
            return redirect(url_for("admin.counselors"))
    accounts = db.session.scalars(select(Counselor).order_by(Counselor.name)).all()
    audit.record("account.list")
    db.session.commit()
    status = 400 if form.errors else 200
    return render_template("admin/counselors.html", form=form, accounts=accounts), status


def _account_or_404(counselor_id: uuid.UUID) -> Counselor:
    account = db.session.get(Counselor, counselor_id)
    if account is None:
        abort(404)
    return account


@bp.route("/counselors/<uuid:counselor_id>/disable", methods=["POST"])
@admin_required
def disable(counselor_id: uuid.UUID):
    """Disable an account; its open sessions end at their next request."""
    account = _account_or_404(counselor_id)
    if account.id == current_user.id:
        flash("You cannot disable your own account.", "warning")
        return redirect(url_for("admin.counselors"))
    services.set_active(account, False)
    db.session.commit()
    flash(f"{account.email} is disabled and signed out everywhere.", "success")
    return redirect(url_for("admin.counselors"))


@bp.route("/counselors/<uuid:counselor_id>/enable", methods=["POST"])
@admin_required
def enable(counselor_id: uuid.UUID):
    """Enable a disabled account again."""
    account = _account_or_404(counselor_id)
    services.set_active(account, True)
    db.session.commit()
    flash(f"{account.email} can sign in again.", "success")
    return redirect(url_for("admin.counselors"))


@bp.route("/practice", methods=["GET", "POST"])
@admin_required
def practice():
    """Practice settings: partners' safety resources and the Quick exit page."""
    row = settings.current()
    form = PracticeSettingsForm(
        data={
            "safety_text": row.safety_text or "",
            "quick_exit_url": row.quick_exit_url or "",
            "partner_subject": row.partner_subject or "",
            "reminder_days": row.reminder_days,
            "quiet_from": row.quiet_from_hour,
            "quiet_until": row.quiet_until_hour,
        }
    )
    if form.validate_on_submit():
        settings.update(form.safety_text.data or "", form.quick_exit_url.data or "")
        settings.update_mail(
            form.partner_subject.data or "",
            form.reminder_days.data,
            form.quiet_from.data,
            form.quiet_until.data,
        )
        db.session.commit()
        flash("Practice settings saved.", "success")
        return redirect(url_for("admin.practice"))
    audit.record("practice.settings_view")
    db.session.commit()
    status = 400 if form.errors else 200
    return render_template(
        "admin/practice.html",
        form=form,
        default_safety=DEFAULT_SAFETY_TEXT,
        default_exit=settings.quick_exit_url() if not row.quick_exit_url else None,
    ), status

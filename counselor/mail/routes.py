"""Notification settings, and the development mailbox (the .eml files of instance/mail/)."""

from __future__ import annotations

import uuid

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from counselor.cases import homes
from counselor.core import audit
from counselor.core.ownership import counselor_required
from counselor.extensions import csrf, db, limiter
from counselor.mail import notify, services
from counselor.mail.blueprint import bp
from counselor.mail.forms import NotificationsForm


@bp.route("/account/notifications", methods=["GET", "POST"])
@counselor_required
def notifications():
    """Choose which mails to get and whether as a daily digest; see mails that failed."""
    form = NotificationsForm()
    if form.validate_on_submit():
        notify.save_settings(
            current_user.id,
            submitted=form.submitted.data,
            alert=form.alert.data,
            undeliverable=form.undeliverable.data,
            digest=form.delivery.data == "digest",
        )
        db.session.commit()
        flash("Your notification choices are saved.", "success")
        return redirect(url_for("mail.notifications"))
    if not form.is_submitted():
        setting = notify.settings_for(current_user.id)
        form.submitted.data = setting.submitted
        form.alert.data = setting.alert
        form.undeliverable.data = setting.undeliverable
        form.delivery.data = "digest" if setting.digest else "each"
    failed = services.undelivered_for(current_user.id)
    status = 400 if form.errors else 200
    return render_template("mail/notifications.html", form=form, failed=failed), status


def dev_mailbox_on() -> bool:
    """The development mailbox page exists only in development and without SMTP settings."""
    config = current_app.config
    return not config["PRODUCTION"] and not config["COUNSELOR_SMTP_HOST"]


@bp.app_template_global("dev_mailbox_on")
def _dev_mailbox_on() -> bool:
    return dev_mailbox_on()


def _require_dev_mailbox() -> None:
    if not dev_mailbox_on():
        abort(404)


@bp.route("/dev/mail")
@login_required
def dev_mailbox():
    """Development only: the mails written to instance/mail/, newest first."""
    _require_dev_mailbox()
    mails = services.mailbox_list()
    audit.record("mail.dev_list", "message")
    db.session.commit()
    return render_template("mail/dev_mailbox.html", mails=mails, folder=str(services.mailbox()))


@bp.route("/dev/mail/<uuid:message_id>")
@login_required
def dev_mail(message_id: uuid.UUID):
    """Development only: one mail, its links clickable (a new user follows a sign-in link)."""
    _require_dev_mailbox()
    shown = services.mailbox_read(message_id)
    if shown is None:
        audit.record_now("access.denied", "message", message_id)
        abort(404)
    audit.record("mail.dev_read", "message", message_id)
    db.session.commit()
    return render_template("mail/dev_mail.html", headers=shown[0], lines=shown[1])


@bp.route("/mail/opt-out/<opt_out_token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token in the URL is the secret; the partner has no session here
@limiter.limit("20 per 10 minutes")
def opt_out(opt_out_token: str):
    """A partner's "no more mail" link: a button (a mail scanner's GET changes nothing),
    then a page confirming it. Honoured at once, also for mails already waiting."""
    partner = homes.partner_for_opt_out(opt_out_token)
    if partner is None:
        audit.record("access.denied", "opt_out_link")
        db.session.commit()
        return render_template("portal/not_found.html"), 404
    done = False
    if request.method == "POST":
        homes.opt_out(partner)
        db.session.commit()
        done = True
    response = make_response(render_template("mail/opt_out.html", done=done))
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response

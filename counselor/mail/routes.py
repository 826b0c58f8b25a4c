"""Notification settings, and the development mailbox (the .eml files of instance/mail/)."""

from __future__ import annotations

import re
import uuid
from email import policy
from email.parser import BytesParser

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from counselor.core import audit
from counselor.core.ownership import counselor_required
from counselor.extensions import db
from counselor.mail import notify, services
from counselor.mail.blueprint import bp
from counselor.mail.forms import NotificationsForm

URL = re.compile(r"(https?://[^\s<>\"]+)")


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


def _read(path):
    with path.open("rb") as fh:
        return BytesParser(policy=policy.default).parse(fh)


@bp.route("/dev/mail")
@login_required
def dev_mailbox():
    """Development only: the mails written to instance/mail/, newest first."""
    _require_dev_mailbox()
    box = services.mailbox()
    files = (
        sorted(box.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
        if (box.is_dir())
        else []
    )
    mails = []
    for path in files[:200]:
        email = _read(path)
        mails.append(
            {"id": path.stem, "to": email["To"], "subject": email["Subject"], "date": email["Date"]}
        )
    audit.record("mail.dev_list", "message")
    db.session.commit()
    return render_template("mail/dev_mailbox.html", mails=mails, folder=str(box))


@bp.route("/dev/mail/<uuid:message_id>")
@login_required
def dev_mail(message_id: uuid.UUID):
    """Development only: one mail, its links clickable (a new user follows a sign-in link)."""
    _require_dev_mailbox()
    path = services.mailbox() / f"{message_id}.eml"
    if not path.is_file():
        audit.record_now("access.denied", "message", message_id)
        abort(404)
    email = _read(path)
    body = email.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    # Split into text and links, so the template escapes the text and links only the URLs.
    lines = [
        [(part, bool(URL.fullmatch(part))) for part in URL.split(line) if part]
        for line in text.splitlines()
    ]
    audit.record("mail.dev_read", "message", message_id)
    db.session.commit()
    return render_template(
        "mail/dev_mail.html",
        headers=[(k, email[k]) for k in ("From", "To", "Subject", "Date", "Message-ID")],
        lines=lines,
    )

"""Login (with the optional TOTP step), logout, password change and TOTP enrolment."""

from __future__ import annotations

import functools
import time
import uuid
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from counselor.auth import device, services
from counselor.auth.blueprint import bp
from counselor.auth.forms import LoginForm, PasswordChangeForm, TotpCodeForm, TotpDisableForm
from counselor.auth.models import Counselor
from counselor.core import audit
from counselor.core.qr import qr_svg
from counselor.core.web import refused_under
from counselor.extensions import db, limiter

#: the signed-session key of a login whose password was right and whose code is awaited
PENDING = "totp_pending"


def _pending_counselor() -> Counselor | None:
    """The account waiting for its TOTP code in this browser, within the time allowed."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    try:
        started = float(pending["at"])
        counselor_id = uuid.UUID(str(pending["id"]))
    except (KeyError, TypeError, ValueError):
        return None
    if not 0 <= time.time() - started <= services.TOTP_PENDING_SECONDS:
        return None
    counselor = db.session.get(Counselor, counselor_id)
    if counselor is None or not counselor.active or not counselor.totp_on:
        return None
    return counselor


def _account_key() -> str:
    """Rate-limit key for failed logins per account (the email typed, normalised); the code
    step counts against the same account as the password step.

    A browser that signed in to this account before counts against its own device key
    instead, so strangers failing at the account cannot lock its owner out (device.py).
    """
    if request.endpoint == "auth.login_totp":
        counselor = _pending_counselor()
        email = counselor.email if counselor is not None else ""
    else:
        email = services.normalise_email(request.form.get("email", ""))[:254]
    known = device.known_device(email)
    if known is not None:
        return "login-device:" + known
    return "login-account:" + email


def _failed(response) -> bool:
    # Only failed attempts count: a successful login redirects.
    return response.status_code != 302


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login."""
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
        ):
            return target
    # The start page, not the caseload: it sends an admin (who has no caseload) to the
    # account list instead of a 403 page.
    return url_for("cases.home")


def _login_step(view):
    """A step of signing in: a counselor already signed in goes to the start page, and failed
    attempts (a wrong password or a wrong code) count per account and per address."""

    @functools.wraps(view)
    def step(*args, **kwargs):
        if current_user.is_authenticated:
            return redirect(url_for("cases.home"))
        return view(*args, **kwargs)

    limited = limiter.shared_limit(
        lambda: current_app.config["COUNSELOR_LOGIN_LIMIT_ADDRESS"],
        scope="login-address",
        methods=["POST"],
        deduct_when=_failed,
    )(step)
    return limiter.shared_limit(
        lambda: current_app.config["COUNSELOR_LOGIN_LIMIT_ACCOUNT"],
        scope="login-account",
        key_func=_account_key,
        methods=["POST"],
        deduct_when=_failed,
    )(limited)


def _finish_login(counselor: Counselor, next_url: str):
    # A fresh cookie session at login: nothing from before (or planted) carries over.
    session.clear()
    services.start_login_session(counselor)
    login_user(counselor, remember=False)
    db.session.commit()
    response = redirect(next_url)
    device.remember(response, counselor.email)
    return response


@bp.route("/login", methods=["GET", "POST"])
@_login_step
def login():
    """Show the login form and sign a counselor in (or lead on to the code step)."""
    form = LoginForm()
    if form.validate_on_submit():
        counselor = services.authenticate(form.email.data, form.password.data)
        if counselor is None:
            audit.record("auth.login_failed", actor_kind="anonymous")
            db.session.commit()
            form.password.errors.append("That email and password do not match an active account.")
            return render_template("auth/login.html", form=form), 401
        next_url = _safe_next(request.args.get("next"))
        if counselor.totp_on:
            # Not signed in yet: only the signed session remembers whose code is awaited.
            db.session.commit()  # a password rehash, if any
            session.clear()
            session[PENDING] = {"id": str(counselor.id), "at": time.time(), "next": next_url}
            return redirect(url_for("auth.login_totp"))
        return _finish_login(counselor, next_url)
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/login/code", methods=["GET", "POST"])
@_login_step
def login_totp():
    """The second login step: a current code from the authenticator app."""
    counselor = _pending_counselor()
    if counselor is None:
        if session.pop(PENDING, None) is not None:
            flash("That took too long. Please sign in again.", "warning")
        return redirect(url_for("auth.login"))
    form = TotpCodeForm()
    if form.validate_on_submit():
        try:
            services.verify_totp(counselor, form.code.data)
        except services.TotpError as exc:
            _code_refused(counselor, form.code, exc)
            return render_template("auth/login_totp.html", form=form), 401
        return _finish_login(counselor, _safe_next(session.get(PENDING, {}).get("next")))
    status = 400 if form.errors else 200
    return render_template("auth/login_totp.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the login session on the server and clear the cookie."""
    services.end_login_session(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; other browsers signed in to the account are signed out."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user.account(), form.current.data, form.new.data)
        except services.AccountError as exc:
            form.current.errors.append(str(exc))
        else:
            db.session.commit()
            flash(
                "Password changed. Other browsers signed in to your account were signed out.",
                "success",
            )
            return redirect(url_for("cases.home"))
    status = 400 if form.errors else 200
    return render_template("auth/password.html", form=form), status


@bp.route("/account/totp", methods=["GET", "POST"])
@login_required
def totp():
    """Switch two-step sign-in (TOTP) on, by scanning a QR code and confirming a code, or off,
    with the password and a code."""
    counselor = current_user.account()
    return _totp_off(counselor) if counselor.totp_on else _totp_on(counselor)


def _totp_off(counselor: Counselor):
    """Switching two-step sign-in off: the password and a current code."""
    form = TotpDisableForm()
    if form.validate_on_submit():
        try:
            services.disable_totp(counselor, form.password.data, form.code.data)
        except services.TotpError as exc:
            _code_refused(counselor, form.code, exc)
        except services.AccountError as exc:
            refused_under(form.password, exc)
        else:
            return _switched("Two-step sign-in is off.")
    status = 400 if form.errors else 200
    return render_template("auth/totp.html", form=form, enabled=True), status


def _totp_on(counselor: Counselor):
    """Switching two-step sign-in on: scan the QR code of a new secret, confirm a code."""
    form = TotpCodeForm()
    secret = services.begin_totp_enrolment(counselor)
    db.session.commit()  # the secret being enrolled stays the same across reloads
    if form.validate_on_submit():
        try:
            services.confirm_totp(counselor, form.code.data)
        except services.AccountError as exc:
            refused_under(form.code, exc)
        else:
            return _switched("Two-step sign-in is on. Signing in now asks for a code.")
    status = 400 if form.errors else 200
    return render_template(
        "auth/totp.html",
        form=form,
        enabled=False,
        secret=secret,
        qr=qr_svg(services.totp_uri(counselor), "QR code to add this account to an app"),
    ), status


def _switched(message: str):
    """Two-step sign-in was switched: keep it, say so, show the page in its new state."""
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("auth.totp"))


def _code_refused(counselor: Counselor, field, exc: Exception) -> None:
    """A refused code: nothing of the attempt is kept but its audit event; the field says why."""
    db.session.rollback()
    services.totp_failed(counselor)
    db.session.commit()
    field.errors.append(str(exc))

"""Login, logout and password change."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from counselor.auth import bp, services
from counselor.auth.forms import LoginForm, PasswordChangeForm
from counselor.core import audit
from counselor.extensions import db, limiter


def _account_key() -> str:
    """Rate-limit key for failed logins per account (the email typed, normalised)."""
    return "login-account:" + services.normalise_email(request.form.get("email", ""))[:254]


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


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["COUNSELOR_LOGIN_LIMIT_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
)
@limiter.limit(
    lambda: current_app.config["COUNSELOR_LOGIN_LIMIT_ADDRESS"],
    methods=["POST"],
    deduct_when=_failed,
)
def login():
    """Show the login form and sign a counselor in."""
    if current_user.is_authenticated:
        return redirect(url_for("cases.home"))
    form = LoginForm()
    if form.validate_on_submit():
        counselor = services.authenticate(form.email.data, form.password.data)
        if counselor is None:
            audit.record("auth.login_failed", actor_kind="anonymous")
            db.session.commit()
            form.password.errors.append("That email and password do not match an active account.")
            return render_template("auth/login.html", form=form), 401
        next_url = _safe_next(request.args.get("next"))
        # A fresh cookie session at login: nothing from before (or planted) carries over.
        session.clear()
        services.start_login_session(counselor)
        login_user(counselor, remember=False)
        db.session.commit()
        return redirect(next_url)
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


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
            services.change_password(
                current_user._get_current_object(), form.current.data, form.new.data
            )
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

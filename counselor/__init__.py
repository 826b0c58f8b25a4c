"""Counselor: caseload, homework and private answers for sex therapists and sex educators.

Importing this package imports no Flask, SQLAlchemy or Celery: the pure modules below it (the
definition engine, matching, the partner filter, PDF data and rendering) stay importable on
their own. ``create_app`` imports the web side when it is called.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, CLI."""
    from counselor.config import ConfigError, load_config, private_sqlite_file
    from counselor.core.cookies import SessionCookieInterface
    from counselor.core.crypto import KeyConfigError, KeyRing
    from counselor.core.web import App
    from counselor.extensions import bootstrap, csrf, db, init_limiter, migrate

    config = dict(config or {})
    app = App(
        __name__,
        template_folder=str(ROOT / "templates"),
        instance_path=str(config.pop("INSTANCE_PATH", ROOT / "instance")),
    )
    try:
        app.config.update(load_config(Path(app.instance_path)))
        app.config.update(config)
        app.extensions["counselor_keyring"] = KeyRing(app.config["COUNSELOR_ENCRYPTION_KEYS"])
    except (ConfigError, KeyConfigError) as exc:
        # One clear sentence for the operator instead of a trace.
        print(f"Counselor cannot start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None

    # Before SQLite makes it with the umask's mode: the database is nobody else's to read.
    private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])

    proxies = app.config["COUNSELOR_TRUSTED_PROXIES"]
    if proxies:
        # Behind a TLS proxy: the client address (login throttling, audit) and https scheme
        # come from the proxy's headers, trusted only for the configured number of hops.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    # the counselor's session cookie as Flask signs it, its serializer made once (core.cookies)
    app.session_interface = SessionCookieInterface()
    db.init_app(app)
    from counselor.core.pool import ping_when_in_doubt, share_connection_dispatch
    from counselor.core.prepared import keep_prepared_statements
    from counselor.core.sqlite_writers import queue_writers

    with app.app_context():
        ping_when_in_doubt(db.engine)
        share_connection_dispatch(db.engine)
        keep_prepared_statements(db.engine)
        queue_writers(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    _skip_csrf_on_portal(app)
    _csrf_token_of_ours(app)
    bootstrap.init_app(app)
    init_limiter(app)
    _init_login(app)
    _redact_link_tokens_in_logs()

    from counselor.core.urls import init_urls
    from counselor.core.web import init_web

    init_web(app)
    init_urls(app)

    _register_blueprints(app)

    from counselor.mail.blueprint import bp as mail_bp

    app.register_blueprint(mail_bp)

    from counselor.worker import celery_init_app

    celery_init_app(app)

    from counselor.cli import register_cli

    register_cli(app)
    _import_models()
    return app


def _register_blueprints(app: Flask) -> None:
    """Each feature's blueprint, after its routes module has attached the views to it."""
    # The routes modules are imported for what they do: their decorators fill the blueprints.
    from counselor.admin import routes as _admin_routes  # noqa: F401
    from counselor.admin.blueprint import bp as admin_bp
    from counselor.agreements import routes as _agreements_routes  # noqa: F401
    from counselor.agreements.blueprint import bp as agreements_bp
    from counselor.alerts import routes as _alerts_routes  # noqa: F401
    from counselor.alerts.blueprint import bp as alerts_bp
    from counselor.auth import routes as _auth_routes  # noqa: F401
    from counselor.auth.blueprint import bp as auth_bp
    from counselor.cases import routes as _cases_routes  # noqa: F401
    from counselor.cases.blueprint import bp as cases_bp
    from counselor.checkins import routes as _checkins_routes  # noqa: F401
    from counselor.checkins.blueprint import bp as checkins_bp
    from counselor.consent import routes as _consent_routes  # noqa: F401
    from counselor.consent.blueprint import bp as consent_bp
    from counselor.learning import routes as _learning_routes  # noqa: F401
    from counselor.learning.blueprint import bp as learning_bp
    from counselor.pages import routes as _pages_routes  # noqa: F401
    from counselor.portal import homework_routes as _homework_routes  # noqa: F401
    from counselor.portal import routes as _portal_routes  # noqa: F401
    from counselor.portal.blueprint import bp as portal_bp
    from counselor.questionnaires import builder_routes as _builder_routes  # noqa: F401
    from counselor.questionnaires import routes as _questionnaires_routes  # noqa: F401
    from counselor.questionnaires import rules_routes as _rules_routes  # noqa: F401
    from counselor.questionnaires.blueprint import bp as questionnaires_bp
    from counselor.reports import routes as _reports_routes  # noqa: F401
    from counselor.reports.blueprint import bp as reports_bp
    from counselor.reveal import routes as _reveal_routes  # noqa: F401
    from counselor.reveal.blueprint import bp as reveal_bp
    from counselor.steps import routes as _steps_routes  # noqa: F401
    from counselor.steps.blueprint import bp as steps_bp

    for bp in (
        auth_bp,
        cases_bp,
        admin_bp,
        questionnaires_bp,
        alerts_bp,
        portal_bp,
        reveal_bp,
        reports_bp,
        agreements_bp,
        consent_bp,
        learning_bp,
        steps_bp,
        checkins_bp,
    ):
        app.register_blueprint(bp)


def _import_models() -> None:
    """Every model module, so that metadata, migrations and key rotation see all tables."""
    import counselor.agreements.models  # noqa: F401
    import counselor.agreements.tasks  # noqa: F401
    import counselor.alerts.models  # noqa: F401
    import counselor.auth.models  # noqa: F401
    import counselor.cases.models  # noqa: F401
    import counselor.checkins.models  # noqa: F401
    import counselor.checkins.tasks  # noqa: F401
    import counselor.consent.models  # noqa: F401
    import counselor.core.audit  # noqa: F401
    import counselor.core.practice  # noqa: F401
    import counselor.learning.models  # noqa: F401
    import counselor.mail.models  # noqa: F401
    import counselor.mail.tasks  # noqa: F401
    import counselor.portal.models  # noqa: F401
    import counselor.questionnaires.models  # noqa: F401
    import counselor.reports.models  # noqa: F401
    import counselor.reports.tasks  # noqa: F401
    import counselor.steps.models  # noqa: F401
    import counselor.steps.services  # noqa: F401 - its receiver pauses steps on a debrief


class _RedactLinkTokens(logging.Filter):
    """Personal link tokens must never reach a log: replace /l/<token> in request lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):  # gunicorn's access log passes its atoms as a mapping
            record.args = {k: _redact(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_redact(a) for a in record.args)
        if isinstance(record.msg, str):
            record.msg = LINK_PATH.sub(_REDACTED, record.msg)
        return True


#: per-assignment, home, mail sign-in and opt-out links all carry a secret in their path
LINK_PATH = re.compile(r"/(l|h|in|mail/opt-out)/[A-Za-z0-9_\-.]+")
_REDACTED = r"/\1/[redacted]"


def _redact(value):
    return LINK_PATH.sub(_REDACTED, value) if isinstance(value, str) else value


def _redact_link_tokens_in_logs() -> None:
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactLinkTokens) for f in logger.filters):
            logger.addFilter(_RedactLinkTokens())


def _not_on_portal(hook):
    """``hook`` (a before- or after-request hook), run on every request but the partner
    portal's: there an after-request hook's response passes through unchanged."""
    from functools import wraps

    from flask import request

    @wraps(hook)
    def run(*response):
        if request._get_current_object().blueprint == "portal":  # see core.crypto.keyring
            return response[0] if response else None
        return hook(*response)

    return run


def _skip_csrf_on_portal(app: Flask) -> None:
    """The portal checks its own CSRF token, bound to the portal session (``portal.access``),
    and is exempt from Flask-WTF's (``csrf.exempt``). Flask-WTF's before-request hook found
    that out on every portal request by reading five settings and the request's blueprint
    through their proxies (about 1% of an autosave): a portal request skips the hook."""
    before = app.before_request_funcs.setdefault(None, [])
    for i, hook in enumerate(before):
        if getattr(hook, "__module__", "") == "flask_wtf.csrf":
            before[i] = _not_on_portal(hook)


def _csrf_token_of_ours(app: Flask) -> None:
    """Templates' ``csrf_token()`` is ``core.forms.csrf_token``: Flask-WTF's token, made
    without compressing it again on every page. Flask-WTF hands templates its own both as a
    global and from a context processor, whose value wins: its processor goes (the globals
    keep ``csrf_meta_tag``)."""
    from counselor.core.forms import csrf_token

    app.jinja_env.globals["csrf_token"] = csrf_token
    processors = app.template_context_processors[None]
    processors[:] = [p for p in processors if getattr(p, "__module__", "") != "flask_wtf.csrf"]


def _init_login(app: Flask) -> None:
    from counselor.extensions import login_manager

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    # Our own server-side sessions make Flask-Login's session fingerprinting unnecessary.
    login_manager.session_protection = None
    # Its after-request hook sets or clears the remember-me cookie that a sign-in or a
    # sign-out of the same request asked for, and reads the counselor's session cookie to
    # find out (which also gives every response ``Vary: Cookie``). The partner portal signs
    # no counselor in or out, and its pages do not read the counselor's session
    # (portal.access): a portal request skips it (about 2% of an autosave). Its pages are
    # never stored by a cache (``Cache-Control: no-store``), so the Vary header meant nothing.
    after = app.after_request_funcs.setdefault(None, [])
    hook = login_manager._update_remember_cookie
    if hook in after:
        after[after.index(hook)] = _not_on_portal(hook)

    from counselor.auth.services import load_login_session

    @login_manager.user_loader
    def load_user(token: str):
        return load_login_session(token)

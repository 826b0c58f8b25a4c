"""Settings read from the environment, with safe development defaults.

Production (``COUNSELOR_ENV=production``) refuses to start without its secrets; development
creates them once under ``instance/`` so that ``make run`` works on a fresh clone.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

#: the shortest SECRET_KEY production accepts: it signs login, portal and device cookies
MIN_SECRET_KEY_BYTES = 32
#: where ``make run`` serves when nothing else is configured (development only)
DEV_BASE_URL = "http://127.0.0.1:5000"


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message is one sentence for the operator."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true or false), got {raw!r}.")


def _timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"COUNSELOR_TIMEZONE {name!r} is not a known time zone (e.g. Europe/Berlin)."
        ) from None
    return name


def _instance_secret(instance_path: Path, filename: str, make: callable) -> str:
    """Read a development secret from instance/, creating it once with owner-only permissions."""
    path = instance_path / filename
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def private_sqlite_file(url: str) -> None:
    """Create the file of a SQLite URL owner-only (0600) before SQLite creates it world-readable.

    SQLite gives its journal and WAL files the mode of the database file, so they follow.
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix) :] in ("", ":memory:"):
        return
    path = Path(url[len(prefix) :].split("?", 1)[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _base_url(raw: str, production: bool) -> str:
    """The public origin links are built from: scheme and host, never taken from a request."""
    if not raw:
        if production:
            raise ConfigError(
                "Counselor will not start in production without COUNSELOR_BASE_URL, the address "
                "partners open (for example https://counselor.example.org)."
            )
        return DEV_BASE_URL
    parts = urlsplit(raw)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise ConfigError(
            f"COUNSELOR_BASE_URL must be a scheme and host such as https://counselor.example.org, "
            f"got {raw!r}."
        )
    if production and parts.scheme != "https":
        raise ConfigError("COUNSELOR_BASE_URL must start with https:// in production.")
    return f"{parts.scheme}://{parts.netloc.lower()}"


#: a plain public page that says nothing about counseling
DEFAULT_QUICK_EXIT_URL = "https://www.bbc.com/weather"


def _exit_url(url: str) -> str:
    """A quick exit target must be an absolute http(s) URL (a browser leaves for it at once)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("COUNSELOR_QUICK_EXIT_URL must be an absolute https:// address.")
    return url


def new_encryption_key() -> str:
    """Return a fresh 256-bit key, urlsafe base64, as used in COUNSELOR_ENCRYPTION_KEYS."""
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


SMTP_SECURITY = {"starttls": 587, "tls": 465, "none": 25}
#: the subject of every mail to a partner: it must not hint at what the counseling is about
DEFAULT_MAIL_SUBJECT = "A message from your counselor's practice"


def _mail_settings(production: bool) -> dict:
    """SMTP settings; production refuses to start without a server and a sender."""
    host = os.environ.get("COUNSELOR_SMTP_HOST", "").strip()
    sender = os.environ.get("COUNSELOR_MAIL_SENDER", "").strip()
    security = os.environ.get("COUNSELOR_SMTP_SECURITY", "starttls").strip().lower()
    user = os.environ.get("COUNSELOR_SMTP_USER", "").strip()
    password = os.environ.get("COUNSELOR_SMTP_PASSWORD", "")
    if production:
        required = (("COUNSELOR_SMTP_HOST", host), ("COUNSELOR_MAIL_SENDER", sender))
        missing = [name for name, value in required if not value]
        if missing:
            raise ConfigError(
                f"Counselor will not start in production without {' and '.join(missing)}: "
                "mail must leave the machine through an SMTP server (see README, Mail)."
            )
    if security not in SMTP_SECURITY:
        raise ConfigError("COUNSELOR_SMTP_SECURITY must be 'starttls', 'tls' or 'none'.")
    if bool(user) != bool(password):
        raise ConfigError("COUNSELOR_SMTP_USER and COUNSELOR_SMTP_PASSWORD must be set together.")
    if production and user and security == "none":
        raise ConfigError(
            "COUNSELOR_SMTP_SECURITY=none would send the SMTP password unencrypted; "
            "use starttls or tls."
        )
    if sender:
        from email.utils import parseaddr

        from email_validator import EmailNotValidError, validate_email

        try:
            validate_email(parseaddr(sender)[1], check_deliverability=False)
        except EmailNotValidError:
            raise ConfigError(
                f"COUNSELOR_MAIL_SENDER {sender!r} is not a mail address "
                "(e.g. 'Practice <mail@example.org>')."
            ) from None
    port = _env_int("COUNSELOR_SMTP_PORT", SMTP_SECURITY[security])
    if not 0 < port < 65536:
        raise ConfigError(f"COUNSELOR_SMTP_PORT must be between 1 and 65535, got {port}.")
    return {
        #: unset: mail is written as .eml files under instance/mail/ (development only)
        "COUNSELOR_SMTP_HOST": host or None,
        "COUNSELOR_SMTP_PORT": port,
        "COUNSELOR_SMTP_SECURITY": security,
        "COUNSELOR_SMTP_USER": user or None,
        "COUNSELOR_SMTP_PASSWORD": password or None,
        "COUNSELOR_SMTP_TIMEOUT_SECONDS": _env_int("COUNSELOR_SMTP_TIMEOUT_SECONDS", 15),
        "COUNSELOR_MAIL_SENDER": sender or "Counselor <counselor@localhost>",
        "COUNSELOR_MAIL_SUBJECT": os.environ.get("COUNSELOR_MAIL_SUBJECT", "").strip()
        or DEFAULT_MAIL_SUBJECT,
        # Retries: a temporary failure waits RETRY_SECONDS, doubling per try (at most an
        # hour), and the message fails after MAX_ATTEMPTS tries.
        "COUNSELOR_MAIL_MAX_ATTEMPTS": _env_int("COUNSELOR_MAIL_MAX_ATTEMPTS", 8),
        # a step debrief's fatigue or anxiety (0-10) from which the next step pauses
        "COUNSELOR_STEP_PAUSE_AT": _env_int("COUNSELOR_STEP_PAUSE_AT", 7),
        "COUNSELOR_MAIL_RETRY_SECONDS": _env_int("COUNSELOR_MAIL_RETRY_SECONDS", 30),
        "COUNSELOR_MAIL_LEASE_SECONDS": _env_int("COUNSELOR_MAIL_LEASE_SECONDS", 120),
        "COUNSELOR_MAIL_SWEEP_SECONDS": _env_int("COUNSELOR_MAIL_SWEEP_SECONDS", 15),
        "COUNSELOR_MAIL_REPUBLISH_SECONDS": _env_int("COUNSELOR_MAIL_REPUBLISH_SECONDS", 60),
        # how often the worker tells counselors of their partners' submits (the submit only
        # marks its response; counselor.mail.submitted makes the mail): the longest wait for
        # a "homework submitted" mail, besides the outbox's own
        "COUNSELOR_NOTICE_SWEEP_SECONDS": _env_int("COUNSELOR_NOTICE_SWEEP_SECONDS", 10),
        #: practice-local hour from which the daily digest is sent
        "COUNSELOR_MAIL_DIGEST_HOUR": _env_int("COUNSELOR_MAIL_DIGEST_HOUR", 7),
    }


def load_config(instance_path: Path) -> dict:
    """Build the Flask config mapping from the environment."""
    env = os.environ.get("COUNSELOR_ENV", "development").strip().lower()
    if env not in {"development", "production"}:
        raise ConfigError("COUNSELOR_ENV must be 'development' or 'production'.")
    production = env == "production"

    secret_key = os.environ.get("SECRET_KEY", "").strip()
    keys = os.environ.get("COUNSELOR_ENCRYPTION_KEYS", "").strip()
    if production:
        missing = [
            n for n, v in (("SECRET_KEY", secret_key), ("COUNSELOR_ENCRYPTION_KEYS", keys)) if not v
        ]
        if missing:
            raise ConfigError(
                f"Counselor will not start in production without {' and '.join(missing)}; "
                "set it in the environment (see README, Configuration)."
            )
        if len(secret_key.encode()) < MIN_SECRET_KEY_BYTES:
            raise ConfigError(
                f"SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes long in production; "
                "set a long random string."
            )
    else:
        secret_key = secret_key or _instance_secret(
            instance_path, "secret_key", lambda: secrets.token_urlsafe(48)
        )
        keys = keys or _instance_secret(instance_path, "encryption_keys", new_encryption_key)

    database_url = os.environ.get("DATABASE_URL", "").strip()
    if not database_url:
        if production:
            raise ConfigError("Counselor will not start in production without DATABASE_URL.")
        instance_path.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance_path / 'counselor.sqlite3'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://") :]
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]

    redis_url = os.environ.get("REDIS_URL", "").strip() or None
    base_url = _base_url(os.environ.get("COUNSELOR_BASE_URL", "").strip(), production)

    return {
        **_mail_settings(production),
        "ENV_NAME": env,
        "PRODUCTION": production,
        "SECRET_KEY": secret_key,
        "COUNSELOR_ENCRYPTION_KEYS": keys,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # no pool_pre_ping: a pooled PostgreSQL connection is pinged only when it may be gone
        # (counselor.core.pool), not before every request
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "REDIS_URL": redis_url,
        #: the public origin of every link Counselor makes (the request's Host is never used)
        "COUNSELOR_BASE_URL": base_url,
        #: how many reverse proxies in front of gunicorn set X-Forwarded-For/-Proto (0: trust none)
        "COUNSELOR_TRUSTED_PROXIES": _env_int("COUNSELOR_TRUSTED_PROXIES", 0),
        #: PostgreSQL: the audit rows of reads wait for the log's flush like every change
        #: (off: a transaction that wrote only those rows commits without waiting; README,
        #: *PostgreSQL durability*)
        "COUNSELOR_READ_AUDIT_DURABLE": _env_flag("COUNSELOR_READ_AUDIT_DURABLE", False),
        #: overrides the broker (default: REDIS_URL, else the embedded SQLite broker)
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "").strip() or None,
        "COUNSELOR_TIMEZONE": _timezone(os.environ.get("COUNSELOR_TIMEZONE", "UTC")),
        # PDF exports: how long a render may hold its claim, how often beat looks for stuck
        # exports, how many tries before "failed", how long a PDF is kept.
        "COUNSELOR_EXPORT_LEASE_SECONDS": _env_int("COUNSELOR_EXPORT_LEASE_SECONDS", 120),
        "COUNSELOR_EXPORT_SWEEP_SECONDS": _env_int("COUNSELOR_EXPORT_SWEEP_SECONDS", 15),
        "COUNSELOR_EXPORT_REPUBLISH_SECONDS": _env_int("COUNSELOR_EXPORT_REPUBLISH_SECONDS", 20),
        "COUNSELOR_EXPORT_MAX_ATTEMPTS": _env_int("COUNSELOR_EXPORT_MAX_ATTEMPTS", 3),
        "COUNSELOR_EXPORT_RETENTION_DAYS": _env_int("COUNSELOR_EXPORT_RETENTION_DAYS", 30),
        "COUNSELOR_EXPORT_VISIBILITY_SECONDS": _env_int("COUNSELOR_EXPORT_VISIBILITY_SECONDS", 300),
        "COUNSELOR_PDF_FONT_DIR": os.environ.get(
            "COUNSELOR_PDF_FONT_DIR", "/usr/share/fonts/truetype/dejavu"
        ),
        "COUNSELOR_LINK_TTL_DAYS": _env_int("COUNSELOR_LINK_TTL_DAYS", 30),
        #: a partner's standing home link works this long (reissue gives a new one)
        "COUNSELOR_HOME_LINK_TTL_DAYS": _env_int("COUNSELOR_HOME_LINK_TTL_DAYS", 180),
        #: a sign-in link in a partner mail works this long, and starts one session only
        "COUNSELOR_SIGN_IN_TTL_DAYS": _env_int("COUNSELOR_SIGN_IN_TTL_DAYS", 7),
        #: where a partner's "Quick exit" goes unless Practice settings name another page
        "COUNSELOR_QUICK_EXIT_URL": _exit_url(
            os.environ.get("COUNSELOR_QUICK_EXIT_URL", "").strip() or DEFAULT_QUICK_EXIT_URL
        ),
        # Sessions: the cookie only names a server-side login session (see auth.sessions),
        # so idle and absolute limits are enforced on the server, not trusted to the browser.
        "SESSION_COOKIE_NAME": "counselor_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "COUNSELOR_IDLE_TIMEOUT": timedelta(minutes=_env_int("COUNSELOR_IDLE_MINUTES", 30)),
        "COUNSELOR_ABSOLUTE_TIMEOUT": timedelta(hours=_env_int("COUNSELOR_ABSOLUTE_HOURS", 12)),
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        "MAX_CONTENT_LENGTH": _env_int("COUNSELOR_MAX_REQUEST_BYTES", 1024 * 1024),
        "MAX_FORM_MEMORY_SIZE": _env_int("COUNSELOR_MAX_REQUEST_BYTES", 1024 * 1024),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the login session it sits in
        "BOOTSTRAP_SERVE_LOCAL": True,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": False,
        "RATELIMIT_STRATEGY": "moving-window",
        "COUNSELOR_LOGIN_LIMIT_ACCOUNT": os.environ.get(
            "COUNSELOR_LOGIN_LIMIT_ACCOUNT", "5 per 10 minutes"
        ),
        "COUNSELOR_LOGIN_LIMIT_ADDRESS": os.environ.get(
            "COUNSELOR_LOGIN_LIMIT_ADDRESS", "20 per 10 minutes"
        ),
    }

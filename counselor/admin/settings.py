"""Reading and changing the practice settings (one row, defaults when unset)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app

from counselor.admin.models import DEFAULT_SAFETY_TEXT, PracticeSettings
from counselor.core import audit
from counselor.core.models import utcnow
from counselor.extensions import db


def _row() -> PracticeSettings | None:
    return db.session.get(PracticeSettings, 1)


def safety_text() -> str:
    """The safety resources partners see after a screening alert answer."""
    row = _row()
    return (row.safety_text if row and row.safety_text else DEFAULT_SAFETY_TEXT).strip()


def quick_exit_url() -> str:
    """Where Quick exit goes: the practice's page, else COUNSELOR_QUICK_EXIT_URL."""
    row = _row()
    return (row.quick_exit_url if row and row.quick_exit_url else None) or current_app.config[
        "COUNSELOR_QUICK_EXIT_URL"
    ]


def valid_exit_url(url: str) -> bool:
    """An absolute http(s) address (anything else could run script or stay on this site)."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def current() -> PracticeSettings:
    """The settings row as it stands (not added to the session when missing)."""
    return _row() or PracticeSettings(id=1)


def update(safety: str, exit_url: str) -> None:
    """Store both settings (empty means the default) and flush."""
    row = _row()
    if row is None:
        row = PracticeSettings(id=1)
        db.session.add(row)
    row.safety_text = safety.strip() or None
    row.quick_exit_url = exit_url.strip() or None
    row.updated_at = utcnow()
    db.session.flush()
    audit.record("practice.settings", "practice_settings", 1)

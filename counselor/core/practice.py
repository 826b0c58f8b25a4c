"""Practice-wide settings an admin sets once (stored in the database, defaults when unset)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from counselor.core import audit
from counselor.core.models import utcnow
from counselor.extensions import db

#: shown to a partner after an answer that raises a screening alert, until an admin sets it
DEFAULT_SAFETY_TEXT = (
    "If you are in danger right now, call your local emergency number (112 in Europe, 911 in "
    "North America).\n"
    "You can also reach your counselor through the practice's usual phone number or email, and "
    "ask for a call. You do not have to explain anything here."
)


class PracticeSettings(db.Model):
    """The one row of practice settings (id 1); missing means every default applies."""

    __tablename__ = "practice_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: safety resources shown to a partner after a screening alert answer (plain text)
    safety_text: Mapped[str | None] = mapped_column(Text)
    #: where "Quick exit" goes; empty: COUNSELOR_QUICK_EXIT_URL
    quick_exit_url: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow)


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

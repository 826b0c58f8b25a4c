"""Practice-wide settings an admin sets once (stored in the database, defaults when unset)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from counselor.core import audit
from counselor.core.models import practice_zone, stamped, utcnow
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
    #: the subject of every mail to a partner (neutral: it must not tell what the mail is about)
    partner_subject: Mapped[str | None] = mapped_column(String(150))
    #: a reminder goes this many days before a due date (None: the default)
    reminder_days: Mapped[int | None] = mapped_column(Integer)
    #: no mail to partners from this hour ... (practice time zone; None: the default)
    quiet_from_hour: Mapped[int | None] = mapped_column(Integer)
    #: ... until this hour
    quiet_until_hour: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = stamped()


#: the subject of partner mails until an admin sets another (says nothing of the content)
DEFAULT_PARTNER_SUBJECT = "A message from your counselor's practice"
#: days before a due date that a partner is reminded
DEFAULT_REMINDER_DAYS = 2
#: quiet hours: no partner mail from 21:00 until 08:00 in the practice's time zone
DEFAULT_QUIET_FROM = 21
DEFAULT_QUIET_UNTIL = 8


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


def partner_subject() -> str:
    """The neutral subject line of every mail to a partner: the practice's, else
    COUNSELOR_MAIL_SUBJECT, else the default."""
    row = _row()
    if row and row.partner_subject:
        return row.partner_subject.strip()
    return current_app.config.get("COUNSELOR_MAIL_SUBJECT") or DEFAULT_PARTNER_SUBJECT


def reminder_days() -> int:
    """How many days before a due date a partner is reminded."""
    row = _row()
    return row.reminder_days if row and row.reminder_days is not None else DEFAULT_REMINDER_DAYS


def quiet_hours() -> tuple[int, int]:
    """(from hour, until hour) of the quiet hours, in the practice's time zone."""
    row = _row()
    start = row.quiet_from_hour if row and row.quiet_from_hour is not None else DEFAULT_QUIET_FROM
    end = row.quiet_until_hour if row and row.quiet_until_hour is not None else DEFAULT_QUIET_UNTIL
    return start, end


def quiet_until(now: datetime, hours: tuple[int, int] | None = None) -> datetime | None:
    """When the quiet hours around ``now`` end (UTC), or None if ``now`` is not in them.

    Partner mails wait in the outbox until then. Equal hours mean no quiet hours at all.
    """
    start, end = hours or quiet_hours()
    if start == end:
        return None
    zone = practice_zone()
    local = now.astimezone(zone)
    hour = local.hour
    quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return None
    day = local.date() if hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end), tzinfo=zone).astimezone(now.tzinfo)


def update_mail(subject: str, days: int | None, quiet_from: int | None, quiet_to: int | None):
    """Store the partner-mail settings (empty means the default) and flush."""
    row = _row()
    if row is None:
        row = PracticeSettings(id=1)
        db.session.add(row)
    row.partner_subject = subject.strip() or None
    row.reminder_days = days
    row.quiet_from_hour = quiet_from
    row.quiet_until_hour = quiet_to
    row.updated_at = utcnow()
    db.session.flush()
    audit.record("practice.mail_settings", "practice_settings", 1)

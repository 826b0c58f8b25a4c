"""Practice-wide settings an admin sets once: what partners see in a hard moment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

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

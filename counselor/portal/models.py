"""The server-side record of a partner's portal session."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from counselor.core.models import utcnow
from counselor.extensions import db


class PortalSessionRecord(db.Model):
    """One portal session in one browser; deleting it ends the session at once.

    The signed cookie alone would stay valid until it expires, so a copied cookie would
    outlive "Forget this device". The cookie is honoured only while this row exists.
    """

    __tablename__ = "portal_session"

    #: SHA-256 (hex) of the random session id in the signed portal cookie
    sid_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    link_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("link.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: the link's PIN was entered in this session (always true while the link has no PIN)
    pin_ok: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: the last portal request; after PIN_IDLE_MINUTES without one the PIN is asked again
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow)

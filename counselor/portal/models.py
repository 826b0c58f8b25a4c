"""The server-side record of a partner's portal session."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
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

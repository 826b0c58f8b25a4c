"""The server-side record of a partner's portal session."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from counselor.core.models import stamped
from counselor.extensions import db


class PortalSessionRecord(db.Model):
    """One portal session in one browser: one partner of one case; deleting it ends it at once.

    The signed cookie alone would stay valid until it expires, so a copied cookie would
    outlive "Forget this device". The cookie is honoured only while this row exists, and
    while the link that opened it still works (a reissued or revoked link ends it).
    """

    __tablename__ = "portal_session"

    #: SHA-256 (hex) of the random session id in the signed portal cookie
    sid_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), index=True
    )
    #: the per-assignment link that opened this session (None: the home or a mail's link)
    link_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("link.id", ondelete="CASCADE"), index=True
    )
    #: first characters of the home link's token hash when the home link opened it
    home_generation: Mapped[str | None] = mapped_column(String(16))
    #: the assignment the short legacy URLs (/p/s/1, /p/review, …) act on: the one this
    #: session last opened (a per-assignment link, or an assignment chosen on the home)
    focus_assignment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("assignment.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = stamped()
    #: the partner's PIN was entered in this session (always true while they have no PIN)
    pin_ok: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: the last portal request; after PIN_IDLE_MINUTES without one the PIN is asked again
    last_seen_at: Mapped[datetime | None] = stamped()

"""Export: one requested PDF, the job a worker fulfils (the source of truth, not the broker)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

import counselor.cases.models  # noqa: F401  (relationship("Case"), "CounselingSession", "Partner")
from counselor.core.crypto import encrypted, sealed_column
from counselor.core.models import UUIDPrimaryKey, cascade_key, one_of, stamped
from counselor.extensions import db

EXPORT_KINDS = ("clinical", "handout", "case_record", "agreement")
EXPORT_STATUSES = ("queued", "rendering", "ready", "failed")


class Export(UUIDPrimaryKey, db.Model):
    """A requested PDF: queued → rendering → ready (or failed), stored encrypted."""

    __tablename__ = "export"
    __table_args__ = (
        one_of("kind", EXPORT_KINDS),
        one_of("status", EXPORT_STATUSES),
        CheckConstraint("kind != 'handout' OR partner_id IS NOT NULL", name="handout_partner"),
        CheckConstraint(
            "kind IN ('case_record', 'agreement') OR session_id IS NOT NULL", name="session_needed"
        ),
        CheckConstraint(
            "kind != 'agreement' OR (agreement_id IS NOT NULL AND partner_id IS NOT NULL)",
            name="agreement_partner",
        ),
    )

    case_id: Mapped[uuid.UUID] = cascade_key("case.id")
    session_id: Mapped[uuid.UUID | None] = cascade_key("counseling_session.id")
    #: the partner a client handout is for, or who asked for their agreement's PDF
    partner_id: Mapped[uuid.UUID | None] = cascade_key("partner.id", index=False)
    #: the agreement of a partner's agreement PDF (the agreements feature renders it)
    agreement_id: Mapped[uuid.UUID | None] = cascade_key("agreement.id")
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    requested_at: Mapped[datetime] = stamped()
    #: last time a message for this export was handed to the broker (None: never reached it)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: a render holds the export until then; after it, beat hands the export to another worker
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: random value of the current claim, so only the claim holder can finish the export
    claim: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: a sentence for the counselor when the export failed
    error: Mapped[str | None] = mapped_column(String(400))
    pdf = encrypted(nullable=True, binary=True)
    pdf_sealed: Mapped[bytes | None] = sealed_column(nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

    case = relationship("Case")
    session = relationship("CounselingSession")
    partner = relationship("Partner")

"""Safety alerts raised by screening answers; visible to the counselor only."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, String, UniqueConstraint, bindparam, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

import counselor.questionnaires.models  # noqa: F401  (relationship("Assignment"), "Response")
from counselor.cases import flags
from counselor.core.crypto import encrypted, sealed_column
from counselor.core.models import UUIDPrimaryKey, cascade_key, one_of, stamped
from counselor.extensions import db
from counselor.questionnaires.schema import ALERT_SEVERITIES


class Alert(UUIDPrimaryKey, db.Model):
    """A screening answer that met its item's alert rule, until acknowledged with a note."""

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("response_id", "link_id", name="uq_alert_response_item"),
        one_of("severity", ALERT_SEVERITIES),
        # A case's open alerts (the caseload's flags, cases.flags): a few entries, however
        # many alerts were acknowledged before (PostgreSQL read every alert of the practice
        # for the open ones)
        Index(
            "ix_alert_open",
            "case_id",
            sqlite_where=text("acknowledged_at IS NULL"),
            postgresql_where=text("acknowledged_at IS NULL"),
        ),
    )

    case_id: Mapped[uuid.UUID] = cascade_key("case.id")
    assignment_id: Mapped[uuid.UUID] = cascade_key("assignment.id")
    response_id: Mapped[uuid.UUID] = cascade_key("response.id")
    partner_id: Mapped[uuid.UUID] = cascade_key("partner.id", index=False)
    #: the item whose answer triggered it (its alert message comes from the definition);
    #: "trend:<link_id>" for the item's trend rule
    link_id: Mapped[str] = mapped_column(String(80))
    #: copied from the item's rule when raised, so ordering is a query and a later definition
    #: edit does not silently change how pressing an old alert was
    severity: Mapped[str] = mapped_column(String(8), default="review", server_default="review")
    triggered_at: Mapped[datetime] = stamped()
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ack_note = encrypted(nullable=True)
    ack_note_sealed: Mapped[bytes | None] = sealed_column(nullable=True)

    partner = relationship("Partner")
    assignment = relationship("Assignment")
    response = relationship("Response")
    case_rel = relationship("Case")


# every open alert's case is marked (cases.flags): the caseload asks the flags of those only
flags.marks_its_case(Alert, bindparam("case_id"), "case_id", closed="acknowledged_at")

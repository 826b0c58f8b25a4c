"""The practice's consent text, as immutable numbered versions, and acknowledgements.

A partner acknowledges one version by typing their name and the date; the row keeps the
version it names and a hash of that version's exact text, so what was agreed to can always be
shown again word for word. A newer version is never counted as acknowledged by an older row.
Both texts are sealed like other clinical text (a typed name is a client's name).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from counselor.core.crypto import encrypted, only_rewrapped, sealed_column
from counselor.core.models import UUIDPrimaryKey, cascade_key, stamped
from counselor.extensions import db


def text_hash(text: str) -> str:
    """SHA-256 of a consent text exactly as shown (what an acknowledgement names)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ConsentText(UUIDPrimaryKey, db.Model):
    """One numbered version of the practice's consent text (never changed once stored)."""

    __tablename__ = "consent_text"
    __table_args__ = (
        UniqueConstraint("number", name="uq_consent_text_number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    number: Mapped[int] = mapped_column(Integer)
    text = encrypted()
    text_sealed: Mapped[bytes] = sealed_column()
    #: SHA-256 of ``text``
    text_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = stamped()
    #: the admin who saved it (None: the built-in default, stored when first needed)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("counselor.id", ondelete="SET NULL")
    )


@event.listens_for(ConsentText, "before_update")
def _versions_are_immutable(mapper, connection, target) -> None:
    # Partners acknowledged this exact text: a change is a new version, never an edit.
    if not only_rewrapped(target):
        raise RuntimeError("consent text versions are immutable; save a new version")


class ConsentAck(UUIDPrimaryKey, db.Model):
    """A partner's acknowledgement of one consent text version (append-only)."""

    __tablename__ = "consent_ack"
    __table_args__ = (
        UniqueConstraint("partner_id", "text_id", name="uq_consent_ack_partner_text"),
    )

    case_id: Mapped[uuid.UUID] = cascade_key("case.id")
    partner_id: Mapped[uuid.UUID] = cascade_key("partner.id")
    text_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent_text.id"), index=True)
    #: the hash of the text as the partner saw it (equal to the version's own)
    text_hash: Mapped[str] = mapped_column(String(64))
    #: the name the partner typed as their acknowledgement
    typed_name = encrypted()
    typed_name_sealed: Mapped[bytes] = sealed_column()
    #: the date the partner typed
    signed_on: Mapped[date] = mapped_column(Date)
    acknowledged_at: Mapped[datetime] = stamped()

    version: Mapped[ConsentText] = relationship()


@event.listens_for(ConsentAck, "before_update")
def _acks_are_append_only(mapper, connection, target) -> None:
    if not only_rewrapped(target):
        raise RuntimeError("consent acknowledgements never change")

"""Agreements, their immutable numbered versions, acknowledgements and pauses.

Every clinical text (titles, clauses, notes) is sealed like answers. Acknowledgements and
pauses are events: rows are never deleted by the application; an acknowledgement never
changes, and a pause changes only twice (its optional note added once, its lift once).
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Uuid,
    bindparam,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from counselor.cases import flags
from counselor.cases.models import PartnerMember, WithMembers
from counselor.core.crypto import encrypted, only_rewrapped, sealed_column
from counselor.core.models import (
    UUIDPrimaryKey,
    cascade_key,
    children,
    numbered_within,
    one_of,
    stamped,
)
from counselor.extensions import db

ANSWERS = ("agree", "talk")


class Agreement(UUIDPrimaryKey, WithMembers, db.Model):
    """A living record between some partners of a case (default: all of them)."""

    __tablename__ = "agreement"

    case_id: Mapped[uuid.UUID] = cascade_key("case.id")
    #: the name partners see (never the case label)
    title = encrypted()
    title_sealed: Mapped[bytes] = sealed_column()
    created_at: Mapped[datetime] = stamped()
    #: the newest version every partner agreed to (kept under the agreement's row lock, so two
    #: partners agreeing at once both count)
    #: (no foreign key: versions go only with their agreement, and a cycle of keys between
    #: the two tables would buy nothing)
    in_force_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    #: the version whose review reminder went out (the beat job sends each once)
    reminded_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    members: Mapped[list[AgreementPartner]] = children()
    versions: Mapped[list[AgreementVersion]] = children(
        back_populates="agreement", order_by="AgreementVersion.number"
    )
    case = relationship("Case")


class AgreementPartner(PartnerMember, db.Model):
    """One partner of an agreement."""

    __tablename__ = "agreement_partner"

    agreement_id: Mapped[uuid.UUID] = cascade_key("agreement.id", index=False, primary_key=True)


class AgreementVersion(UUIDPrimaryKey, db.Model):
    """One numbered version: a draft while the counselor writes it, immutable once published."""

    __tablename__ = "agreement_version"
    __table_args__ = numbered_within("agreement_id", "agreement_version")

    agreement_id: Mapped[uuid.UUID] = cascade_key("agreement.id")
    number: Mapped[int] = mapped_column(Integer)
    #: JSON {"title": ..., "clauses": [...]}, sealed
    content_json = encrypted()
    content_json_sealed: Mapped[bytes] = sealed_column()
    #: SHA-256 of the canonical content, set when published (what acknowledgements name)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    review_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = stamped()
    #: None while a draft
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    agreement: Mapped[Agreement] = relationship(back_populates="versions")

    @property
    def content(self) -> dict:
        """The decrypted content: title and clauses."""
        return json.loads(self.content_json)

    @property
    def clauses(self) -> list[dict]:
        """The clauses, in order."""
        return self.content["clauses"]

    @property
    def title(self) -> str:
        """The title as it stood in this version."""
        return self.content["title"]


@event.listens_for(AgreementVersion, "before_update")
def _published_versions_are_immutable(mapper, connection, target) -> None:
    # A published version is what partners acknowledged (by hash): it never changes, but
    # for its ciphertext re-encrypted under a new key (`flask keys rotate`).
    if only_rewrapped(target):
        return
    history = inspect(target).attrs.published_at.history
    if history.deleted and history.deleted[0] is not None:
        raise RuntimeError("published agreement versions are immutable; draft a new version")
    if not history.added and target.published_at is not None:
        raise RuntimeError("published agreement versions are immutable; draft a new version")


class AgreementAck(UUIDPrimaryKey, db.Model):
    """A partner's answer to one version: agree, or want to talk first (append-only)."""

    __tablename__ = "agreement_ack"
    __table_args__ = (
        one_of("answer", ANSWERS),
        Index("ix_agreement_ack_version_partner", "version_id", "partner_id"),
    )

    agreement_id: Mapped[uuid.UUID] = cascade_key("agreement.id")
    version_id: Mapped[uuid.UUID] = cascade_key("agreement_version.id", index=False)
    partner_id: Mapped[uuid.UUID] = cascade_key("partner.id", index=False)
    answer: Mapped[str] = mapped_column(String(8))
    #: the exact version content answered (its SHA-256), printed in the PDFs
    content_hash: Mapped[str] = mapped_column(String(64))
    #: for the counselor only
    note = encrypted(nullable=True)
    note_sealed: Mapped[bytes | None] = sealed_column(nullable=True)
    at: Mapped[datetime] = stamped()

    partner = relationship("Partner")


@event.listens_for(AgreementAck, "before_update")
def _acks_are_append_only(mapper, connection, target) -> None:
    if not only_rewrapped(target):  # key rotation re-encrypts the note, words unchanged
        raise RuntimeError("acknowledgements are append-only")


class ClausePause(UUIDPrimaryKey, db.Model):
    """A partner paused one clause for everyone; only that partner lifts it."""

    __tablename__ = "clause_pause"
    __table_args__ = (
        # An agreement's pauses not lifted (the caseload's flags, cases.flags): a few entries
        Index(
            "ix_clause_pause_open",
            "agreement_id",
            sqlite_where=text("lifted_at IS NULL"),
            postgresql_where=text("lifted_at IS NULL"),
        ),
    )

    agreement_id: Mapped[uuid.UUID] = cascade_key("agreement.id")
    #: the version in force when the clause was paused
    version_id: Mapped[uuid.UUID] = cascade_key("agreement_version.id", index=False)
    #: the clause's key (it holds across the versions that keep the clause)
    clause_key: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[uuid.UUID] = cascade_key("partner.id", index=False)
    paused_at: Mapped[datetime] = stamped()
    #: for the counselor only; may be added once, after the pause
    note = encrypted(nullable=True)
    note_sealed: Mapped[bytes | None] = sealed_column(nullable=True)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    partner = relationship("Partner")


# every pause's case is marked (cases.flags), the case of its agreement: the caseload asks
# the flags of marked cases only (a lift is written once and never undone, below)
flags.marks_its_case(
    ClausePause,
    select(Agreement.case_id).where(Agreement.id == bindparam("agreement_id")).scalar_subquery(),
    "agreement_id",
    closed="lifted_at",
)


@event.listens_for(ClausePause, "before_update")
def _pauses_change_once(mapper, connection, target) -> None:
    # Append-only but for two one-time facts: the note added after, and the lift (and key
    # rotation, which re-encrypts the note, words unchanged).
    if only_rewrapped(target):
        return
    state = inspect(target)
    for name in ("agreement_id", "version_id", "clause_key", "partner_id", "paused_at"):
        if state.attrs[name].history.has_changes():
            raise RuntimeError("pauses are append-only")
    for name in ("note_sealed", "lifted_at"):
        deleted = state.attrs[name].history.deleted
        if deleted and deleted[0] is not None:
            raise RuntimeError("a pause's note and lift are written once")

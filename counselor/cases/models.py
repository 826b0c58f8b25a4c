"""Cases, partners and counseling sessions. Every text a client could be identified by is sealed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from counselor.core.crypto import encrypted, sealed_column
from counselor.core.models import Timestamps, UUIDPrimaryKey, cascade_key, children, one_of, stamped
from counselor.extensions import db

MAX_PARTNERS = 6
CASE_STATUSES = ("active", "archived")


class PartnerMember:
    """A row naming one partner of something (an agreement, a schedule): its table's primary
    key is the thing's key, then this partner."""

    partner_id: Mapped[uuid.UUID] = cascade_key("partner.id", primary_key=True)


class WithMembers:
    """Something some partners of a case take part in, through ``members`` (PartnerMember
    rows)."""

    @property
    def partner_ids(self) -> set[uuid.UUID]:
        """The partners taking part."""
        return {m.partner_id for m in self.members}


class Case(UUIDPrimaryKey, Timestamps, db.Model):
    """One client relationship with 1–6 partners, owned by exactly one counselor."""

    __tablename__ = "case"
    __table_args__ = (
        one_of("status", CASE_STATUSES),
        # The caseload's order (counselor_id leads it, so it also serves every look-up by
        # counselor): a page is a walk of it that stops after a page's cases, and the count
        # of all a counselor's cases reads only an index (counselor.cases.caseload).
        Index("ix_case_caseload", "counselor_id", "last_session_at", "created_at", "id", "status"),
        # The count of a counselor's cases of one status, on every full caseload page: a
        # range of small entries, not a walk of the one above reading each one's status.
        Index("ix_case_counselor_status", "counselor_id", "status"),
        # The counselor's cases that may have an open flag: the caseload asks the flags of
        # these only (counselor.cases.flags), a few entries however large the caseload.
        Index(
            "ix_case_maybe_flagged",
            "counselor_id",
            # the mark as a key too: SQLite's planner, without statistics, then prefers this
            # index (two equalities) to the others that lead with counselor_id
            "maybe_flagged",
            # as each dialect writes the query's condition: SQLite's planner uses a partial
            # index only for a query that has its very condition
            sqlite_where=text("maybe_flagged = 1"),
            postgresql_where=text("maybe_flagged"),
        ),
    )

    counselor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("counselor.id", ondelete="RESTRICT"))
    label = encrypted()
    label_sealed: Mapped[bytes] = sealed_column()
    status: Mapped[str] = mapped_column(String(16), default="active")
    #: start of the latest counseling session, kept for sorting the caseload
    last_session_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: true while the case may have an open flag (an open alert, a paused clause): set with
    #: every flag that opens, cleared only under the case's row lock when none is left
    #: (counselor.cases.flags); never false while a flag is open
    maybe_flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    partners: Mapped[list[Partner]] = children(back_populates="case", order_by="Partner.position")
    sessions: Mapped[list[CounselingSession]] = children(
        back_populates="case", order_by="CounselingSession.starts_at.desc()"
    )
    relationships: Mapped[list[PartnerRelationship]] = children()

    def related(self, a: uuid.UUID, b: uuid.UUID) -> bool:
        """Whether two partners of this case are in a relationship with each other."""
        return frozenset((a, b)) in {r.pair for r in self.relationships}


class Partner(UUIDPrimaryKey, db.Model):
    """One person in a case; answers homework through a personal link (no account)."""

    __tablename__ = "partner"
    __table_args__ = (
        CheckConstraint(f"position BETWEEN 1 AND {MAX_PARTNERS}", name="position_range"),
        UniqueConstraint("case_id", "position", name="uq_partner_case_position"),
    )

    case_id: Mapped[uuid.UUID] = cascade_key("case.id")
    #: 1..6, the order partners are listed in; unique per case, which also caps a case at six
    position: Mapped[int] = mapped_column(Integer)
    display_name = encrypted()
    display_name_sealed: Mapped[bytes] = sealed_column()
    pronouns = encrypted(nullable=True)
    pronouns_sealed: Mapped[bytes | None] = sealed_column(nullable=True)
    email = encrypted(nullable=True)
    email_sealed: Mapped[bytes | None] = sealed_column(nullable=True)

    case: Mapped[Case] = relationship(back_populates="partners")
    # Read-only views the case page loads with the partners, in the statement that reads
    # them; ``homes.home_of`` and ``services.set_relationships`` change the rows.
    #: the partner's home, once made
    home: Mapped[PartnerHome | None] = relationship(viewonly=True, uselist=False)
    #: the pairs of the relationship map in which this partner is ``partner_a`` (comes first)
    pairs_led: Mapped[list[PartnerRelationship]] = relationship(
        viewonly=True, foreign_keys="PartnerRelationship.partner_a_id"
    )


class PartnerRelationship(UUIDPrimaryKey, db.Model):
    """Two partners of a case who are in a relationship with each other (the relationship map).

    Matching, the comparison and what a partner sees after a release work per relationship:
    partners without a row between them (metamours in a polycule) are never compared.
    """

    __tablename__ = "partner_relationship"
    __table_args__ = (
        CheckConstraint("partner_a_id <> partner_b_id", name="two_partners"),
        UniqueConstraint("partner_a_id", "partner_b_id", name="uq_partner_relationship_pair"),
    )

    case_id: Mapped[uuid.UUID] = cascade_key("case.id")
    #: the pair in case order (partner_a has the lower position), so a pair has one row
    partner_a_id: Mapped[uuid.UUID] = cascade_key("partner.id")
    partner_b_id: Mapped[uuid.UUID] = cascade_key("partner.id")
    # declared so a flush deletes a pair before a partner it names
    partner_a: Mapped[Partner] = relationship(foreign_keys=[partner_a_id])
    partner_b: Mapped[Partner] = relationship(foreign_keys=[partner_b_id])

    @property
    def pair(self) -> frozenset:
        """The two partner ids, unordered."""
        return frozenset((self.partner_a_id, self.partner_b_id))


class CounselingSession(UUIDPrimaryKey, Timestamps, db.Model):
    """One appointment of a case: when, the agenda, private notes and next steps."""

    __tablename__ = "counseling_session"
    __table_args__ = (CheckConstraint("duration_minutes BETWEEN 5 AND 600", name="duration_range"),)

    case_id: Mapped[uuid.UUID] = cascade_key("case.id")
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=50)
    agenda = encrypted(nullable=True)
    agenda_sealed: Mapped[bytes | None] = sealed_column(nullable=True)
    #: never shown to partners, never in a client handout
    notes = encrypted(nullable=True)
    notes_sealed: Mapped[bytes | None] = sealed_column(nullable=True)
    next_steps = encrypted(nullable=True)
    next_steps_sealed: Mapped[bytes | None] = sealed_column(nullable=True)

    case: Mapped[Case] = relationship(back_populates="sessions")


class PartnerHome(db.Model):
    """One partner's home in their case: the standing personal link, its PIN, mail choices.

    One row per partner (a person in two cases is two partners, so has two homes). Only a
    hash of the link's token is kept; the token is shown once to the counselor.
    """

    __tablename__ = "partner_home"

    partner_id: Mapped[uuid.UUID] = cascade_key("partner.id", index=False, primary_key=True)
    case_id: Mapped[uuid.UUID] = cascade_key("case.id")
    #: SHA-256 (hex) of the standing home link's token (None: no home link given yet)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the last time the partner opened their home (shown to the counselor)
    last_opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: argon2 hash of the partner's optional portal PIN; a reissued home link starts without one
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    #: wrong PINs in a row; each one past the free tries doubles the wait before the next
    pin_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pin_blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the partner asked for no more mail (through the link in any mail)
    mail_opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    partner: Mapped[Partner] = relationship()


class SignInLink(UUIDPrimaryKey, db.Model):
    """A short-lived, single-use link to a partner's home, minted for one mail."""

    __tablename__ = "sign_in_link"

    partner_id: Mapped[uuid.UUID] = cascade_key("partner.id")
    #: SHA-256 (hex) of the token in the mail; the token itself is never stored
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = stamped()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: when it started a portal session (it starts one only)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

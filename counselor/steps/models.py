"""Ladders of small steps, the partners' debriefs of each step, and what they chose to share.

A ladder belongs to a case: under one clause of an agreement (its partners are the
agreement's) or on its own for the case (its partners are all of the case's). Every text a
partner or the counselor typed (the step, the shared reflections) is sealed like answers.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

import counselor.agreements.models  # noqa: F401  (relationship("Agreement"), "Case", "Partner")
from counselor.core.crypto import encrypted, sealed_column
from counselor.core.models import UUIDPrimaryKey, cascade_key, children, one_of, stamped
from counselor.extensions import db

#: proposed (by a partner, waiting for the counselor), declined, open (on the ladder, to do),
#: paused (held: nobody goes on until the counselor resumes it), done, skipped
STATUSES = ("proposed", "declined", "open", "paused", "done", "skipped")


class Ladder(UUIDPrimaryKey, db.Model):
    """The steps under one clause of an agreement, or on their own for the case.

    Every change of its steps takes this row's lock first, so two partners pressing at once
    are served one after the other."""

    __tablename__ = "step_ladder"
    __table_args__ = (
        UniqueConstraint("case_id", "agreement_id", "clause_key", name="uq_step_ladder_place"),
    )

    case_id: Mapped[uuid.UUID] = cascade_key("case.id")
    #: None: on its own for the case (all its partners)
    agreement_id: Mapped[uuid.UUID | None] = cascade_key("agreement.id")
    #: the clause's key in the agreement ("" for the agreement as a whole or the case)
    clause_key: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = stamped()

    steps: Mapped[list[Step]] = children(back_populates="ladder", order_by="Step.position")
    case = relationship("Case")
    agreement = relationship("Agreement")


class Step(UUIDPrimaryKey, db.Model):
    """One small, reversible experiment on a ladder."""

    __tablename__ = "step"
    __table_args__ = (one_of("status", STATUSES),)

    ladder_id: Mapped[uuid.UUID] = cascade_key("step_ladder.id")
    case_id: Mapped[uuid.UUID] = cascade_key("case.id")
    #: the order on the ladder (1, 2, ...); proposals and declined ones sort after
    position: Mapped[int] = mapped_column(Integer)
    #: JSON {"what": ..., "size": ..., "conditions": ...}, sealed
    content_json = encrypted()
    content_json_sealed: Mapped[bytes] = sealed_column()
    planned_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    #: the questionnaire each partner debriefs the step with (None: the built-in debrief)
    debrief_questionnaire_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("questionnaire.id", ondelete="SET NULL")
    )
    #: the partner who proposed it (None: the counselor wrote it)
    proposed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("partner.id", ondelete="SET NULL")
    )
    #: who last marked it done, skipped or paused (None: the counselor or a debrief)
    marked_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    marked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: why it is paused: "partner" pressed pause, "debrief" asked to slow down or pause
    paused_because: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = stamped()

    ladder: Mapped[Ladder] = relationship(back_populates="steps")
    case = relationship("Case")
    debriefs: Mapped[list[StepDebrief]] = children(back_populates="step")

    @property
    def content(self) -> dict:
        """The decrypted step: what, how small, conditions."""
        return json.loads(self.content_json)

    @property
    def what(self) -> str:
        return self.content.get("what", "")

    @property
    def size(self) -> str:
        return self.content.get("size", "")

    @property
    def conditions(self) -> str:
        return self.content.get("conditions", "")


class StepDebrief(UUIDPrimaryKey, db.Model):
    """One partner's debrief of one done step: the homework they answer, and what of it they
    chose to share in the log (sealed, as it stood when they sent it)."""

    __tablename__ = "step_debrief"
    __table_args__ = (UniqueConstraint("step_id", "partner_id", name="uq_step_debrief_partner"),)

    step_id: Mapped[uuid.UUID] = cascade_key("step.id")
    partner_id: Mapped[uuid.UUID] = cascade_key("partner.id")
    assignment_id: Mapped[uuid.UUID] = cascade_key("assignment.id")
    #: JSON [{"question": ..., "answer": ...}], sealed; None until sent
    shared_json = encrypted(nullable=True)
    shared_json_sealed: Mapped[bytes | None] = sealed_column(nullable=True)
    #: when the partner sent their choice (the log shows a step once every partner has)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    step: Mapped[Step] = relationship(back_populates="debriefs")
    partner = relationship("Partner")

    @property
    def shared(self) -> list[dict]:
        """The reflections this partner chose to share."""
        return json.loads(self.shared_json) if self.shared_json else []

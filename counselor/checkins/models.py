"""Schedules: a questionnaire recurring for some partners of a case, and the occurrences made.

An occurrence is made exactly once: beat's job advances ``next_on`` with a conditional update
(only the process that still sees the old date wins the row), and the occurrence row is
unique per schedule and number, so a job run twice, or by two processes at once, or after
days of downtime, makes one occurrence and never a burst.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

import counselor.questionnaires.models  # noqa: F401  (relationship("Questionnaire"))
from counselor.cases.models import PartnerMember, WithMembers
from counselor.core.models import (
    UUIDPrimaryKey,
    cascade_key,
    children,
    numbered_within,
    one_of,
    stamped,
)
from counselor.extensions import db

STATUSES = ("active", "paused", "ended")
UNITS = ("days", "weeks")


class Schedule(UUIDPrimaryKey, WithMembers, db.Model):
    """A questionnaire given to chosen partners of a case every N days or weeks."""

    __tablename__ = "schedule"
    __table_args__ = (
        one_of("status", STATUSES),
        one_of("unit", UNITS),
        CheckConstraint("every >= 1", name="every_positive"),
        CheckConstraint("times IS NULL OR times >= 1", name="times_positive"),
        CheckConstraint("made >= 0", name="made_not_negative"),
    )

    case_id: Mapped[uuid.UUID] = cascade_key("case.id")
    questionnaire_id: Mapped[uuid.UUID] = cascade_key("questionnaire.id")
    every: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(8))
    starts_on: Mapped[date] = mapped_column(Date)
    #: no occurrence after this day (None: no end date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    #: how many occurrences to make in all (None: no limit)
    times: Mapped[int | None] = mapped_column(Integer)
    #: the practice's day of the next occurrence; None once the schedule has run its course
    next_on: Mapped[date | None] = mapped_column(Date)
    #: occurrences made so far (also the number of the last one)
    made: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(8), default="active", server_default="active")
    created_at: Mapped[datetime] = stamped()
    #: when the status last changed (paused, resumed, ended)
    changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    questionnaire = relationship("Questionnaire")
    case_rel = relationship("Case")
    members: Mapped[list[SchedulePartner]] = children()
    occurrences: Mapped[list[Occurrence]] = children(order_by="Occurrence.number")


class SchedulePartner(PartnerMember, db.Model):
    """One partner a schedule's occurrences are given to."""

    __tablename__ = "schedule_partner"

    schedule_id: Mapped[uuid.UUID] = cascade_key("schedule.id", index=False, primary_key=True)


class Occurrence(UUIDPrimaryKey, db.Model):
    """One check-in a schedule made: the assignment it became, and the day it was due."""

    __tablename__ = "schedule_occurrence"
    __table_args__ = numbered_within("schedule_id", "schedule_occurrence")

    schedule_id: Mapped[uuid.UUID] = cascade_key("schedule.id", index=False)
    number: Mapped[int] = mapped_column(Integer)
    #: the schedule's day it stands for (after downtime: the day it was finally made)
    falls_on: Mapped[date] = mapped_column(Date)
    #: the homework it became (None if that homework was deleted since)
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("assignment.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = stamped()

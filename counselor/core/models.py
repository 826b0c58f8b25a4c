"""Model mixins shared by every feature."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Timezone-aware now in UTC (stored as UTC everywhere)."""
    return datetime.now(UTC)


def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def practice_zone() -> ZoneInfo:
    """The practice's time zone (COUNSELOR_TIMEZONE): times are typed and shown in it."""
    return ZoneInfo(current_app.config["COUNSELOR_TIMEZONE"])


def to_local(dt: datetime | None) -> datetime | None:
    """A stored UTC time in the practice's zone."""
    dt = aware(dt)
    return dt.astimezone(practice_zone()) if dt else None


def day_text(day: date | None, *, year: bool = True, long: bool = False) -> str:
    """A calendar date as every page and PDF prints it: "2 Mar 2026", "2 Mar" without the
    year, "2 March 2026" with the month spelled out (partner-facing text); empty for None."""
    if day is None:
        return ""
    text = f"{day.day} {(_MONTHS if long else _MONTHS_SHORT)[day.month - 1]}"
    return f"{text} {day.year}" if year else text


#: the months' names as ``strftime``'s ``%B`` and ``%b`` print them in the C locale, which is
#: Python's for dates (it never sets ``LC_TIME``): a look-up, where ``strftime`` cost five times
#: the rest of ``day_text`` (a full caseload page prints up to fifty days)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTHS_SHORT = tuple(month[:3] for month in _MONTHS)


def local_day(dt: datetime | None) -> str:
    """A stored time as the practice's date, e.g. "2 Mar 2026" (empty for None)."""
    local = to_local(dt)
    return day_text(local.date()) if local else ""


def local_datetime(dt: datetime | None) -> str:
    """A stored time as the practice's day and time, e.g. "Mon 2 Mar 2026, 10:00"."""
    local = to_local(dt)
    return local.strftime("%a %-d %b %Y, %H:%M") if local else ""


def combine_local(day: date, at: time) -> datetime:
    """A date and time typed in the practice's zone, as UTC."""
    return datetime.combine(day, at, tzinfo=practice_zone()).astimezone(UTC)


class UUIDPrimaryKey:
    """A random UUID primary key made in Python, so URLs cannot be enumerated and
    encryption can bind a ciphertext to its row before the row is written."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)

    def __init__(self, **kwargs):
        # Assign the id before any encrypted attribute, whose ciphertext is bound to it.
        self.id = kwargs.pop("id", None) or uuid.uuid4()
        for key, value in kwargs.items():
            setattr(self, key, value)


def stamped(**kwargs):
    """A timezone-aware moment the ORM sets to now when the row is made (when it was created,
    requested, acknowledged ...)."""
    return mapped_column(DateTime(timezone=True), default=utcnow, **kwargs)


class Timestamps:
    """created_at / updated_at columns kept by the ORM."""

    created_at: Mapped[datetime] = stamped()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


def cascade_key(target: str, *, index: bool = True, primary_key: bool = False):
    """A foreign key to ``target`` ("table.id") whose row goes with its parent (ON DELETE
    CASCADE), indexed unless told otherwise: erasing a case reaches every row under it. As
    part of a primary key it needs no index of its own where it leads that key."""
    return mapped_column(
        ForeignKey(target, ondelete="CASCADE"), index=index, primary_key=primary_key
    )


def children(*args, **kwargs):
    """A relationship to the rows that belong to this one (their key is a ``cascade_key``):
    saved and deleted with it, and left to the database's ON DELETE CASCADE when it goes
    rather than loaded only to be deleted."""
    return relationship(*args, cascade="all, delete-orphan", passive_deletes=True, **kwargs)


def one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """A check (named after ``column``) that it holds one of ``values``: the module's tuple of
    allowed values and the database's rule are then one list."""
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


def numbered_within(parent: str, table: str) -> tuple[UniqueConstraint, CheckConstraint]:
    """The rules of rows numbered 1, 2, ... within their parent (``parent``: the key column;
    ``table``: this table): each number once, none below 1."""
    return (
        UniqueConstraint(parent, "number", name=f"uq_{table}_number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

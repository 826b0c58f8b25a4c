"""The days a schedule falls on: pure date arithmetic, no Flask, no database.

A schedule falls on ``starts_on + k * period`` (k = 0, 1, 2, ...). After an occurrence the
next one is the first such day after today, so a job that was down for weeks makes one
occurrence when it comes back, not one per missed day.
"""

from __future__ import annotations

from datetime import date, timedelta

#: the longest gap a counselor can choose, and the most occurrences a schedule can have
MAX_EVERY = {"days": 90, "weeks": 26}
MAX_TIMES = 100


def period(every: int, unit: str) -> timedelta:
    """The gap between two occurrences."""
    return timedelta(days=every * (7 if unit == "weeks" else 1))


def on_or_after(starts_on: date, gap: timedelta, day: date) -> date:
    """The first day of the schedule that is ``day`` or later."""
    if day <= starts_on:
        return starts_on
    steps = -(-(day - starts_on).days // gap.days)  # ceiling division
    return starts_on + steps * gap


def on_or_before(starts_on: date, gap: timedelta, day: date) -> date:
    """The last day of the schedule that is ``day`` or earlier (``starts_on`` at the least)."""
    if day <= starts_on:
        return starts_on
    return starts_on + ((day - starts_on).days // gap.days) * gap


def following(
    starts_on: date,
    gap: timedelta,
    today: date,
    *,
    made: int,
    ends_on: date | None,
    times: int | None,
) -> date | None:
    """The next day after ``today``, given ``made`` occurrences so far; None when the
    schedule has run its course (its number of times reached, or past its end date)."""
    if times is not None and made >= times:
        return None
    nxt = on_or_after(starts_on, gap, today + timedelta(days=1))
    if ends_on is not None and nxt > ends_on:
        return None
    return nxt


def describe(every: int, unit: str) -> str:
    """ "every week", "every 3 days" """
    word = unit[:-1]
    return f"every {word}" if every == 1 else f"every {every} {unit}"

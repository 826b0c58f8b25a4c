"""Check-in schedules made through the service, committed, for the schedule and trend tests."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from counselor.core.models import combine_local, to_local, utcnow
from counselor.extensions import db
from tests.support.library import questionnaire, sync

#: the built-in check-in the schedule tests give (it has anxiety and fatigue trend rules)
CHECK_IN = "consent-check-in"


def local_today():
    """The practice's today."""
    return to_local(utcnow()).date()


def at_noon(days_from_today: int) -> datetime:
    """Noon of the practice's day ``days_from_today`` days from today, as UTC (beat's now)."""
    return combine_local(local_today() + timedelta(days=days_from_today), time(12, 0))


def weekly(case, *, partners=None, every=1, unit="weeks", starts_in=0, **kw):
    """A schedule of the built-in check-in for ``case`` (all partners unless given), from
    today (or ``starts_in`` days from now), committed."""
    from counselor.checkins import services

    if questionnaire(CHECK_IN) is None:
        sync()
    schedule = services.create(
        case,
        questionnaire(CHECK_IN),
        [p.id for p in (partners or case.partners)],
        every=every,
        unit=unit,
        starts_on=local_today() + timedelta(days=starts_in),
        **kw,
    )
    db.session.commit()
    return schedule

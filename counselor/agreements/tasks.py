"""Beat's agreement job: review reminders. Tasks take ids, never ORM objects."""

from __future__ import annotations

from celery import shared_task

from counselor.agreements import services
from counselor.extensions import db


@shared_task(name="counselor.agreements.tasks.remind_reviews", ignore_result=True)
def remind_reviews() -> int:
    """Remind the partners of every agreement whose version in force reached its review date;
    safe to run twice (each version's reminder is claimed once)."""
    sent = services.remind_reviews()
    db.session.commit()
    return sent

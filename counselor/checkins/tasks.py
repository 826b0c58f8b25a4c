"""Beat's check-in job. Tasks take ids, never ORM objects."""

from __future__ import annotations

from celery import shared_task

from counselor.checkins import services


@shared_task(name="counselor.checkins.tasks.run_schedules", ignore_result=True)
def run_schedules() -> int:
    """Make every check-in whose day has come, each once (safe to run twice, or at once)."""
    return services.run_due()

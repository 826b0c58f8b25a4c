"""Celery tasks of the outbox. They take ids, never ORM objects, and run in the app context."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task

from counselor.core import practice
from counselor.core.models import utcnow
from counselor.extensions import db
from counselor.mail import drain, notify, partner, services, submitted, transport
from counselor.mail.models import Message
from counselor.worker import lease_task

log = logging.getLogger(__name__)


@lease_task("counselor.mail.tasks.send_message", services.claim)
def send_message(mid: uuid.UUID, token: str) -> str:
    """Send one message; a second delivery of the same task finds it claimed and stops."""
    message = db.session.get(Message, mid)
    if message is None:
        return "gone"  # its case or partner was removed in the meantime
    if not services.still_wanted(message):
        services.cancel(mid, token)
        return "cancelled"
    if message.partner_id is not None:
        # a retry (or a late task) must not reach a partner at night either
        until = practice.quiet_until(utcnow())
        if until is not None:
            services.defer(mid, token, until)
            return "waiting"
    try:
        services.send(message)
    except transport.PermanentFailure as exc:
        log.warning("message %s refused for good", mid)
        db.session.rollback()
        return services.fail(mid, token, str(exc))
    except transport.TemporaryFailure as exc:
        log.info("message %s not sent yet: %s", mid, exc)
        db.session.rollback()
        return services.retry_later(mid, token, str(exc))
    return "sent" if services.mark_sent(mid, token) else "lost-claim"


@shared_task(name=drain.DRAIN_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def drain_outbox() -> int:
    """Send every message due, after clearing the drain's flag (the order matters: see
    counselor.mail.drain); a message another worker holds is skipped. Returns how many sent."""
    drain.clear()
    sent = 0
    for mid in services.sendable():
        try:
            sent += send_message.run(str(mid)) == "sent"
        except Exception:  # one message's fault must not hold back the others
            log.exception("message %s: send failed", mid)
            db.session.rollback()  # its lease runs out; beat's sweep publishes it again
    return sent


@shared_task(name="counselor.mail.tasks.republish_due_messages", ignore_result=True)
def republish_due_messages() -> int:
    """Publish again every message that is due and has no live task (or whose worker died)."""
    return services.republish_due()


@shared_task(name="counselor.mail.tasks.send_submitted_notices", ignore_result=True)
def send_submitted_notices() -> int:
    """Tell counselors of the submits marked since the last sweep (their mail, digest notice
    or nothing); running twice, or twice at once, tells nobody twice."""
    return submitted.sweep()


@shared_task(name="counselor.mail.tasks.send_digests", ignore_result=True)
def send_digests() -> int:
    """Make the day's digests once the digest hour has come; running twice sends nothing twice."""
    return notify.send_digests()


@shared_task(name="counselor.mail.tasks.send_partner_reminders", ignore_result=True)
def send_partner_reminders() -> int:
    """Queue the reminders before and on due dates; running twice queues nothing twice."""
    return partner.send_reminders()

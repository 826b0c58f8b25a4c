"""Mails to partners: new homework, a reminder before the due date and on it, results released.

Only to a partner with an address who has not opted out; never clinical content (see
compose). Each kind is made at most once per (partner, assignment): a unique row claims it,
so a job run twice, or at once in two processes, queues nothing twice. Made inside quiet
hours, a mail waits in the outbox until they end.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from counselor.cases import homes
from counselor.cases.models import Case, Partner
from counselor.core import practice
from counselor.core.models import to_local, utcnow
from counselor.extensions import db
from counselor.mail import compose, services
from counselor.mail.models import Message, PartnerMail
from counselor.questionnaires import signals
from counselor.questionnaires.models import Assignment, Response


def _compose(kind: str, assignment: Assignment, partner: Partner) -> compose.Mail:
    subject = practice.partner_subject()
    ttl = current_app.config["COUNSELOR_SIGN_IN_TTL_DAYS"]
    opt_out = services.external_url("mail.opt_out", opt_out_token=homes.opt_out_token(partner.id))
    due = assignment.due_on.strftime("%A %-d %B") if kind == "reminder" else ""
    return compose.partner_homework(kind, subject, ttl, opt_out, due=due)


def queue_once(
    kind: str, assignment: Assignment, partner: Partner, now: datetime | None = None
) -> Message | None:
    """Queue one kind of mail about an assignment to a partner, unless it was made before,
    the partner has no address or opted out; None when nothing was queued."""
    if not homes.mail_allowed(partner):
        return None
    claim = PartnerMail(partner_id=partner.id, assignment_id=assignment.id, kind=kind)
    try:
        with db.session.begin_nested():  # a taken key undoes only this claim
            db.session.add(claim)
            db.session.flush()
    except IntegrityError:
        return None
    now = now or utcnow()
    message = services.queue(
        _compose(kind, assignment, partner),
        partner.email,
        case_id=assignment.case_id,
        partner_id=partner.id,
        # told if it cannot be delivered
        counselor_id=assignment.case.counselor_id,
        not_before=practice.quiet_until(now),
    )
    claim.message_id = message.id
    return message


@signals.homework_assigned.connect
def _homework_assigned(assignment: Assignment, partners: list[Partner], **_) -> None:
    for partner in partners:
        queue_once("homework", assignment, partner)


@signals.results_released.connect
def _results_released(assignment: Assignment, **_) -> None:
    partners = {p.id: p for p in assignment.case.partners}
    for response in assignment.responses:
        partner = partners.get(response.partner_id)
        if partner is not None:
            queue_once("released", assignment, partner)


def reminders_due(now: datetime) -> list[tuple[str, Assignment, Partner]]:
    """The reminders to make now: (kind, assignment, partner) for unsent homework of active,
    open cases whose due date is today ("due") or within the reminder days ("reminder")."""
    today = to_local(now).date()
    days = practice.reminder_days()
    rows = db.session.execute(
        select(Assignment, Partner)
        .join(Response, Response.assignment_id == Assignment.id)
        .join(Partner, Partner.id == Response.partner_id)
        .join(Case, Case.id == Assignment.case_id)
        .where(
            Assignment.due_on.is_not(None),
            Assignment.due_on >= today,
            Assignment.due_on <= today + timedelta(days=days),
            Assignment.released_at.is_(None),
            Assignment.locked.is_(False),
            Response.status != "submitted",
            Case.status == "active",
        )
    ).all()
    out = []
    for assignment, partner in rows:
        if assignment.due_on == today:
            out.append(("due", assignment, partner))
        # a reminder only for homework given before the reminder day: homework given the day
        # before it is due was just announced by its own mail
        elif to_local(assignment.created_at).date() < assignment.due_on - timedelta(days=days):
            out.append(("reminder", assignment, partner))
    return out


def send_reminders(now: datetime | None = None) -> int:
    """Queue every reminder due now; returns how many. Safe to run twice, or at once."""
    now = now or utcnow()
    made = 0
    for kind, assignment, partner in reminders_due(now):
        made += queue_once(kind, assignment, partner, now) is not None
    db.session.commit()
    return made


def queue_notice(kind: str, lead: str, partner: Partner, now: datetime | None = None):
    """Queue a partner mail another feature words (agreements: ``kind`` names it, ``lead`` is
    its content-free text) with a fresh sign-in link minted at sending, the opt-out link, and
    held until quiet hours end; None when the partner has no address or opted out."""
    if not homes.mail_allowed(partner):
        return None
    mail = compose.partner_notice(
        kind,
        practice.partner_subject(),
        lead,
        current_app.config["COUNSELOR_SIGN_IN_TTL_DAYS"],
        services.external_url("mail.opt_out", opt_out_token=homes.opt_out_token(partner.id)),
    )
    return services.queue(
        mail,
        partner.email,
        case_id=partner.case_id,
        partner_id=partner.id,
        counselor_id=partner.case.counselor_id,
        not_before=practice.quiet_until(now or utcnow()),
    )

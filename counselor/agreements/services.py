"""Agreement rules: publishing, acknowledging, pausing, review reminders. Functions flush;
routes commit. Drafting is in ``drafting``, what pages show in ``views``.

Every state change of an agreement (publish, an answer, a pause, a lift) first takes the
agreement's row lock (``queries.lock``): on one agreement they run one at a time, and each
decides on what the one before it committed. "In force" is kept on the agreement row under
that lock.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from counselor.agreements import clauses as cl
from counselor.agreements import mailing
from counselor.agreements.models import Agreement, AgreementAck, AgreementVersion, ClausePause
from counselor.agreements.queries import (
    acks_of,
    active_pauses,
    compute_in_force,
    in_force,
    latest_published,
    lock,
    pauses_of,
    version_by_id,
)
from counselor.cases import flags
from counselor.cases.models import Partner
from counselor.core import audit
from counselor.core.models import to_local, utcnow
from counselor.extensions import db

MAX_NOTE = 4000


class AgreementError(ValueError):
    """A change is not possible now or not like this; the message says why (a 4xx)."""


class Stale(AgreementError):
    """The page showed a version that is no longer the one to answer (a 409)."""


def publish(agreement: Agreement, draft_id: uuid.UUID) -> AgreementVersion:
    """Publish the draft: it becomes immutable, and the partners are asked to read it."""
    lock(agreement)
    draft = version_by_id(agreement, draft_id)
    if draft is None or draft.published_at is not None:
        raise Stale("This draft was already published. Reload the page to see the agreement.")
    if not draft.clauses:
        raise AgreementError("Add at least one clause before publishing.")
    draft.content_hash = cl.content_hash(draft.title, draft.clauses)
    draft.published_at = utcnow()
    agreement.title = draft.title
    audit.record("agreement.publish", "agreement_version", draft.id)
    mailing.tell_partners(agreement, "new_version")
    return draft


def answer(
    agreement: Agreement, partner: Partner, version_id: uuid.UUID, what: str, note: str | None
) -> AgreementAck:
    """A partner's answer to the version they read: agree, or talk first (with a note for the
    counselor only). Refused when a newer version was published since the page was shown."""
    if what not in ("agree", "talk"):
        raise AgreementError("Choose “I agree” or “I want to talk about this first”.")
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise AgreementError(f"A note may hold at most {MAX_NOTE:,} characters.")
    lock(agreement)
    if partner.id not in agreement.partner_ids:
        raise AgreementError("This agreement is not yours to answer.")
    version = latest_published(agreement)
    if version.id != version_id:
        raise Stale(
            "Your counselor has shared a newer version since you opened this page. "
            "Please read it first; nothing was recorded."
        )
    ack = AgreementAck(
        agreement_id=agreement.id,
        version_id=version.id,
        partner_id=partner.id,
        answer=what,
        content_hash=version.content_hash,
    )
    ack.note = note
    db.session.add(ack)
    db.session.flush()
    _refresh_in_force(agreement)
    audit.by_partner(partner.id, f"agreement.{what}", "agreement_version", version.id)
    return ack


def _refresh_in_force(agreement: Agreement) -> None:
    agreement.in_force_id = compute_in_force(agreement, acks_of(agreement))


def pause(agreement: Agreement, partner: Partner, clause_key: str) -> ClausePause:
    """Pause one clause in force, for everyone at once; one tap, no reason needed. Pausing a
    clause the partner has already paused returns that pause."""
    lock(agreement)
    if partner.id not in agreement.partner_ids:
        raise AgreementError("This agreement is not yours to pause.")
    current = in_force(agreement)
    if current is None or clause_key not in {c["key"] for c in current.clauses}:
        raise Stale(
            "This part is no longer in force, so there is nothing to pause. Reload the page."
        )
    for existing in active_pauses(pauses_of(agreement)):
        if existing.clause_key == clause_key and existing.partner_id == partner.id:
            return existing
    paused = ClausePause(
        agreement_id=agreement.id,
        version_id=current.id,
        clause_key=clause_key,
        partner_id=partner.id,
    )
    db.session.add(paused)
    db.session.flush()
    audit.by_partner(partner.id, "agreement.pause", "clause_pause", paused.id)
    mailing.alert_counselor(agreement)
    mailing.tell_partners(agreement, "paused", but=partner.id)
    return paused


def _own_pause(agreement: Agreement, partner: Partner, pause_id: uuid.UUID) -> ClausePause:
    found = db.session.scalar(
        select(ClausePause).where(
            ClausePause.id == pause_id,
            ClausePause.agreement_id == agreement.id,
            ClausePause.partner_id == partner.id,
        )
    )
    if found is None:
        raise AgreementError("Only the partner who paused this can change that pause.")
    return found


def note_pause(agreement: Agreement, partner: Partner, pause_id: uuid.UUID, note: str) -> None:
    """Add the optional private note (for the counselor) to one's own pause, once."""
    note = (note or "").strip()
    if not note:
        raise AgreementError("The note is empty; nothing was added.")
    if len(note) > MAX_NOTE:
        raise AgreementError(f"A note may hold at most {MAX_NOTE:,} characters.")
    lock(agreement)
    paused = _own_pause(agreement, partner, pause_id)
    if paused.note_sealed is not None:
        raise AgreementError("You have already added a note to this pause.")
    paused.note = note
    audit.by_partner(partner.id, "agreement.pause_note", "clause_pause", paused.id)


def lift(agreement: Agreement, partner: Partner, pause_id: uuid.UUID) -> None:
    """Lift one's own pause (nobody else can)."""
    lock(agreement)
    paused = _own_pause(agreement, partner, pause_id)
    if paused.lifted_at is not None:
        return
    # the case's row lock before anything changes (after the agreement's, as a pause takes
    # them): its mark (cases.flags) is cleared below only if no flag of the case is open
    flags.lock(agreement.case_id)
    paused.lifted_at = utcnow()
    audit.by_partner(partner.id, "agreement.lift", "clause_pause", paused.id)
    db.session.flush()
    flags.settle(agreement.case_id)


def remind_reviews() -> int:
    """Mail the partners and the counselor of each agreement whose version in force reached
    its review date, once per version: a conditional UPDATE claims the reminder, so two runs
    at once send one."""
    from sqlalchemy import or_

    today = to_local(utcnow()).date()
    due = db.session.execute(
        select(Agreement.id, Agreement.in_force_id)
        .join(AgreementVersion, AgreementVersion.id == Agreement.in_force_id)
        .where(
            AgreementVersion.review_on <= today,
            or_(Agreement.reminded_id.is_(None), Agreement.reminded_id != Agreement.in_force_id),
        )
    ).all()
    sent = 0
    for agreement_id, version_id in due:
        claimed = db.session.execute(
            update(Agreement)
            .where(
                Agreement.id == agreement_id,
                Agreement.in_force_id == version_id,
                or_(Agreement.reminded_id.is_(None), Agreement.reminded_id != version_id),
            )
            .values(reminded_id=version_id)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        agreement = db.session.get(Agreement, agreement_id)
        mailing.tell_partners(agreement, "review")
        mailing.remind_counselor(agreement)
        audit.record("agreement.review_reminder", "agreement", agreement_id, actor_kind="system")
        sent += 1
    return sent

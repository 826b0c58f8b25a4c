"""Partner-side rules: resolving links, opening, saving drafts, submitting, reopening."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from counselor.core import audit
from counselor.core.models import aware, to_local, utcnow
from counselor.core.tokens import token_hash
from counselor.extensions import db
from counselor.mail import notify
from counselor.questionnaires import engine
from counselor.questionnaires.models import Assignment, Link, QuestionnaireVersion, Response
from counselor.questionnaires.services import lock_assignment
from counselor.reveal.models import Alert
from counselor.reveal.services import evaluate_alerts

_pin_hasher = PasswordHasher()
PIN_PATTERN = re.compile(r"[0-9]{4,8}")
#: wrong PINs allowed before each further wrong one makes the partner wait
PIN_FREE_TRIES = 3
#: the longest wait after many wrong PINs
PIN_MAX_WAIT = timedelta(hours=1)


class StaleRevision(Exception):
    """The answers changed since the page was loaded (another tab or device)."""


class Stopped(Exception):
    """An answer closes the rest of the questionnaire (an item's stop_if); str is the message."""


class NotEditable(Exception):
    """The answers cannot be changed now; the message tells the partner why."""


#: why answers cannot be changed, in the partner's words (pages and autosave show them)
RELEASED = (
    "Your counselor has already shared what you have in common from these answers, so they "
    "can no longer be changed. If something has changed for you, please tell your counselor."
)
LOCKED = (
    "Your counselor has closed these answers for changes. If something has changed for you, "
    "please tell your counselor."
)
DUE_PASSED = (
    "The due date has passed, so these answers can no longer be changed. If something has "
    "changed for you, please tell your counselor."
)
SUBMITTED = (
    "You have already sent these answers. To change them, choose “Change my answers” on the "
    "start page."
)


@dataclass
class PartnerContext:
    """Everything a portal page works with, resolved from the portal session."""

    link: Link
    assignment: Assignment
    response: Response

    @property
    def definition(self) -> engine.Definition:
        return self.assignment.definition

    @property
    def partner(self):
        return self.link.partner


def _valid(link: Link | None) -> bool:
    return link is not None and link.revoked_at is None and aware(link.expires_at) > utcnow()


def link_for_token(token: str) -> Link | None:
    """The working link for a raw token; None for unknown, expired and revoked alike."""
    if not token or len(token) > 128:
        return None
    link = db.session.scalar(select(Link).where(Link.token_hash == token_hash(token)))
    return link if _valid(link) else None


def context_for(link_id: str, generation: str) -> PartnerContext | None:
    """Resolve a portal session to its link, assignment and response (or None)."""
    try:
        lid = uuid.UUID(link_id)
    except ValueError:
        return None
    # One statement for what every portal request needs: link, response, assignment, partner
    # and the version's id and checksum (its parsed definition is cached per process, so the
    # JSON text is read only when this process has not parsed that version yet).
    row = db.session.execute(
        select(Link, Response)
        .join(
            Response,
            and_(
                Response.assignment_id == Link.assignment_id,
                Response.partner_id == Link.partner_id,
            ),
        )
        .options(
            joinedload(Link.assignment)
            .joinedload(Assignment.version)
            .defer(QuestionnaireVersion.definition_json),
            joinedload(Link.partner),
        )
        .where(Link.id == lid)
    ).first()
    if row is None:
        return None
    link, response = row
    if not _valid(link) or link.token_hash[:16] != generation:
        return None
    return PartnerContext(link, link.assignment, response)


def open_link(ctx: PartnerContext) -> None:
    """Record that the partner opened their link."""
    now = utcnow()
    ctx.link.last_used_at = now
    if ctx.response.status == "not_opened":
        ctx.response.status = "opened"
        ctx.response.opened_at = now
    audit.record(
        "portal.open", "response", ctx.response.id, actor_kind="partner", actor_id=ctx.partner.id
    )


def due_passed(assignment: Assignment) -> bool:
    """Whether the due date (a whole day in the practice's zone) is over."""
    return assignment.due_on is not None and to_local(utcnow()).date() > assignment.due_on


def closed_because(assignment: Assignment) -> str | None:
    """Why nobody may change answers of this assignment now (None: they may)."""
    if assignment.released_at is not None:
        # the others saw matches built from these answers; changing them now would change
        # what was shown without the counselor seeing it first
        return RELEASED
    if assignment.locked:
        return LOCKED
    if due_passed(assignment):
        return DUE_PASSED
    return None


def not_editable_because(ctx: PartnerContext) -> str | None:
    """Why this partner may not change answers now (None: they may)."""
    closed = closed_because(ctx.assignment)
    if closed is None and ctx.response.status == "submitted":
        return SUBMITTED
    return closed


def editable(ctx: PartnerContext) -> bool:
    """The partner may change answers: not released, locked, past due or submitted."""
    return not_editable_because(ctx) is None


def can_reopen(ctx: PartnerContext) -> bool:
    """A submitted response may be reopened until the due date, a lock or a release."""
    return ctx.response.status == "submitted" and closed_because(ctx.assignment) is None


def _lock_editable(ctx: PartnerContext) -> None:
    """Take the assignment's lock, then refuse unless the answers may change (NotEditable)."""
    lock_assignment(ctx.assignment)
    reason = not_editable_because(ctx)
    if reason:
        raise NotEditable(reason)


def save(ctx: PartnerContext, raw_changes: dict, base_revision: int) -> tuple[int, dict[str, str]]:
    """Save a draft change set started from ``base_revision``; returns (new revision, errors).

    With any error nothing is stored (the page shows what was typed with the message);
    a save from a stale revision raises StaleRevision and overwrites nothing.
    """
    _lock_editable(ctx)
    clean, errors = engine.validate_changes(ctx.definition, raw_changes)
    if errors:
        return ctx.response.revision, errors
    response = ctx.response
    if response.revision != base_revision:
        raise StaleRevision
    response.answers = engine.merge(response.answers, clean)
    response.status = "draft"
    response.saved_at = utcnow()
    try:
        db.session.flush()  # the version counter makes a concurrent save fail here
    except StaleDataError:
        db.session.rollback()
        raise StaleRevision from None
    audit.record(
        "portal.save", "response", response.id, actor_kind="partner", actor_id=ctx.partner.id
    )
    stop = engine.stop_for(ctx.definition, response.answers)
    if stop is not None:
        # The partner cannot submit past a stop, so its alert is raised now, not on submit.
        notify.alerts_raised(
            ctx.assignment, evaluate_alerts(ctx.assignment, response, only={stop.link_id})
        )
    return response.revision, {}


def submit(ctx: PartnerContext, base_revision: int) -> dict[str, str]:
    """Submit if every shown required item is answered; returns errors by link_id."""
    _lock_editable(ctx)
    response = ctx.response
    if response.revision != base_revision:
        raise StaleRevision
    stop = engine.stop_for(ctx.definition, response.answers)
    if stop is not None:
        raise Stopped(stop.message)
    missing = engine.missing_required(ctx.definition, response.answers)
    if missing:
        return missing
    response.status = "submitted"
    response.submitted_at = utcnow()
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise StaleRevision from None
    audit.record(
        "portal.submit", "response", response.id, actor_kind="partner", actor_id=ctx.partner.id
    )
    alerts = evaluate_alerts(ctx.assignment, response)
    notify.homework_submitted(ctx.assignment, alerts)
    return {}


def reopen(ctx: PartnerContext) -> None:
    """Turn a submitted response back into a draft so the partner can change it."""
    lock_assignment(ctx.assignment)  # a release waits for this, or this sees the release
    closed = closed_because(ctx.assignment)
    if closed:
        raise NotEditable(closed)
    if ctx.response.status != "submitted":
        return  # already a draft (a second tab or a double click): nothing to reopen
    ctx.response.status = "draft"
    audit.record(
        "portal.reopen", "response", ctx.response.id, actor_kind="partner", actor_id=ctx.partner.id
    )


class PinWait(Exception):
    """Too many wrong PINs: the next try is possible only after ``minutes``."""

    def __init__(self, minutes: int):
        super().__init__(minutes)
        self.minutes = minutes


def set_pin(ctx: PartnerContext, pin: str) -> None:
    """Protect this link with a 4–8 digit PIN (argon2 hash); raises ValueError if malformed."""
    if not PIN_PATTERN.fullmatch(pin or ""):
        raise ValueError("A PIN is 4 to 8 digits, nothing else.")
    ctx.link.pin_hash = _pin_hasher.hash(pin)
    ctx.link.pin_failures = 0
    ctx.link.pin_blocked_until = None
    audit.record(
        "portal.pin_set", "link", ctx.link.id, actor_kind="partner", actor_id=ctx.partner.id
    )


def _wait_minutes(link: Link) -> int:
    left = aware(link.pin_blocked_until) - utcnow() if link.pin_blocked_until else timedelta(0)
    return max(1, -(-int(left.total_seconds()) // 60)) if left > timedelta(0) else 0


def check_pin(ctx: PartnerContext, pin: str) -> bool:
    """Whether ``pin`` is the link's PIN; wrong ones are counted and slow further tries.

    Raises PinWait while a wait from earlier wrong PINs runs (the PIN is not even checked).
    """
    link = ctx.link
    wait = _wait_minutes(link)
    if wait:
        raise PinWait(wait)
    try:
        ok = bool(link.pin_hash) and _pin_hasher.verify(link.pin_hash, pin or "")
    except (VerificationError, InvalidHashError):
        ok = False
    if ok:
        link.pin_failures = 0
        link.pin_blocked_until = None
        audit.record(
            "portal.pin_ok", "link", link.id, actor_kind="partner", actor_id=ctx.partner.id
        )
        return True
    link.pin_failures = (link.pin_failures or 0) + 1
    over = link.pin_failures - PIN_FREE_TRIES
    if over > 0:
        link.pin_blocked_until = utcnow() + min(timedelta(minutes=2 ** (over - 1)), PIN_MAX_WAIT)
    audit.record("portal.pin_wrong", "link", link.id, actor_kind="partner", actor_id=ctx.partner.id)
    return False


def raised_alert(ctx: PartnerContext) -> bool:
    """Whether this partner's submitted answers raised a screening alert still open."""
    return (
        db.session.scalar(
            select(Alert.id)
            .where(Alert.response_id == ctx.response.id, Alert.acknowledged_at.is_(None))
            .limit(1)
        )
        is not None
    )

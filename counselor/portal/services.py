"""Partner-side rules: resolving links, opening, saving drafts, submitting, reopening."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import and_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from counselor.cases import homes
from counselor.cases.models import Case, Partner, PartnerHome
from counselor.core import audit
from counselor.core.models import aware, to_local, utcnow
from counselor.core.tokens import token_hash
from counselor.extensions import db
from counselor.mail import notify
from counselor.questionnaires import engine, signals
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
class PortalContext:
    """One partner of one case, resolved from the portal session: what every page works with.

    Features add pages on it (``ctx.partner``, ``ctx.case``); everything they show a partner
    still goes through the one partner filter (counselor.reveal.services.view_for_partner).
    """

    partner: Partner
    home: PartnerHome

    @property
    def case(self) -> Case:
        return self.partner.case


@dataclass
class PartnerContext:
    """One assignment of the session's partner: what the homework pages work with."""

    portal: PortalContext
    assignment: Assignment
    response: Response

    @property
    def definition(self) -> engine.Definition:
        return self.assignment.definition

    @property
    def partner(self) -> Partner:
        return self.portal.partner

    @property
    def case(self) -> Case:
        return self.portal.partner.case

    @property
    def home(self) -> PartnerHome:
        return self.portal.home


def _valid(link: Link | None) -> bool:
    return link is not None and link.revoked_at is None and aware(link.expires_at) > utcnow()


def link_for_token(token: str) -> Link | None:
    """The working per-assignment link for a raw token; None for unknown, expired and revoked."""
    if not token or len(token) > 128:
        return None
    link = db.session.scalar(select(Link).where(Link.token_hash == token_hash(token)))
    return link if _valid(link) else None


def _source_works(ps, home: PartnerHome, link: Link | None) -> bool:
    """Whether what opened the session still works (else the session is over)."""
    if ps.link_id is not None:
        return _valid(link)
    gen = ps.home_generation or ""
    if gen.startswith(homes.FROM_HOME):
        return homes.home_link_state(home) == "active" and gen == homes.generation(
            home, homes.FROM_HOME
        )
    if gen.startswith(homes.FROM_MAIL):
        # a mail's session ends when the counselor revokes or reissues the home link
        return home.revoked_at is None and gen == homes.generation(home, homes.FROM_MAIL)
    return False


def portal_context(ps) -> PortalContext | None:
    """The partner of a portal session, if the link that opened it still works (else None)."""
    # One statement: the partner, their case, their home and the link that opened the session
    # (none when the home or a mail's sign-in link did).
    row = db.session.execute(
        select(Partner, PartnerHome, Link)
        .options(joinedload(Partner.case))
        .outerjoin(PartnerHome, PartnerHome.partner_id == Partner.id)
        .outerjoin(Link, and_(Link.id == ps.link_id, Link.partner_id == Partner.id))
        .where(Partner.id == ps.partner_id)
    ).first()
    if row is None:
        return None
    partner, home, link = row
    home = home or homes.home_of(partner)
    if not _source_works(ps, home, link):
        return None
    return PortalContext(partner, home)


def assignment_context(pctx: PortalContext, assignment_id) -> PartnerContext | None:
    """One assignment of this partner in this case; None for anything else (the same 404)."""
    if not isinstance(assignment_id, uuid.UUID):
        return None
    # One statement for what every homework page needs: assignment, response and the
    # version's id and checksum (its parsed definition is cached per process, so the JSON
    # text is read only when this process has not parsed that version yet).
    row = db.session.execute(
        select(Assignment, Response)
        .join(Response, Response.assignment_id == Assignment.id)
        .options(
            joinedload(Assignment.version).defer(QuestionnaireVersion.definition_json),
        )
        .where(
            Assignment.id == assignment_id,
            Assignment.case_id == pctx.partner.case_id,
            Response.partner_id == pctx.partner.id,
        )
    ).first()
    if row is None:
        return None
    return PartnerContext(pctx, row[0], row[1])


def open_link(link: Link) -> None:
    """Record that the partner opened a per-assignment link."""
    link.last_used_at = utcnow()


def open_assignment(ctx: PartnerContext) -> None:
    """Record that the partner opened this homework (the counselor sees "Opened")."""
    if ctx.response.status == "not_opened":
        ctx.response.status = "opened"
        ctx.response.opened_at = utcnow()
        audit.record(
            "portal.open",
            "response",
            ctx.response.id,
            actor_kind="partner",
            actor_id=ctx.partner.id,
        )


def open_home(pctx: PortalContext) -> None:
    """Record that the partner opened their home (the counselor sees when, last)."""
    pctx.home.last_opened_at = utcnow()
    audit.record(
        "portal.home_open",
        "partner",
        pctx.partner.id,
        actor_kind="partner",
        actor_id=pctx.partner.id,
    )


# ---- the home -----------------------------------------------------------------------------


@dataclass
class HomeItem:
    """One homework on a partner's home: what it is, its state, where it opens."""

    assignment: Assignment
    response: Response
    title: str
    closed: str | None


@dataclass
class HomeCard:
    """A card another feature adds to the home (agreements, steps, check-ins).

    Register a provider ``PortalContext -> list[HomeCard]`` in
    ``app.extensions["portal_home_cards"]``; its cards are shown under the homework. What a
    card says is that feature's responsibility, through the partner filter.
    """

    title: str
    text: str
    #: the card's button (None: no button)
    url: str | None
    link_text: str
    #: lower comes first
    order: int = 100
    #: lines listed on the card itself, such as resources to read
    entries: list[HomeCardEntry] = field(default_factory=list)


@dataclass(frozen=True)
class HomeCardEntry:
    """One line of a home card: plain text, with an outside link when ``href`` is given (an
    http(s) address: the page shows a link and loads nothing from it)."""

    title: str
    detail: str = ""
    note: str = ""
    href: str | None = None


@dataclass
class HomeView:
    """What a partner's home lists, for that partner in that case only."""

    to_do: list[HomeItem] = field(default_factory=list)
    sent: list[HomeItem] = field(default_factory=list)
    shared: list[HomeItem] = field(default_factory=list)
    cards: list[HomeCard] = field(default_factory=list)


def home_view(pctx: PortalContext) -> HomeView:
    """The partner's homework in this case, sorted into to do, sent and shared, plus cards."""
    rows = db.session.execute(
        select(Assignment, Response)
        .join(Response, Response.assignment_id == Assignment.id)
        .options(
            joinedload(Assignment.version)
            .defer(QuestionnaireVersion.definition_json)
            .joinedload(QuestionnaireVersion.questionnaire)
        )
        .where(Assignment.case_id == pctx.partner.case_id, Response.partner_id == pctx.partner.id)
        .order_by(Assignment.created_at.desc())
    ).all()
    view = HomeView()
    for assignment, response in rows:
        item = HomeItem(
            assignment,
            response,
            assignment.version.questionnaire.title,
            closed_because(assignment),
        )
        if assignment.released_at is not None:
            view.shared.append(item)
        if response.status == "submitted" or item.closed:
            view.sent.append(item)
        else:
            view.to_do.append(item)
    # due soonest first; homework without a due date after it
    view.to_do.sort(key=lambda i: (i.assignment.due_on is None, i.assignment.due_on or 0))
    for provider in current_app.extensions.get("portal_home_cards", ()):
        view.cards.extend(provider(pctx))
    view.cards.sort(key=lambda c: c.order)
    return view


def homework_gate(ctx: PartnerContext) -> str | None:
    """Where the partner must go before answering this homework (another feature's page, such
    as the practice's consent text before an intake), or None. Features register
    ``PartnerContext -> str | None`` in ``app.extensions["portal_homework_gates"]``."""
    for gate in current_app.extensions.get("portal_homework_gates", ()):
        url = gate(ctx)
        if url:
            return url
    return None


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
    for _, raised in signals.homework_submitted.send(ctx.assignment, response=response):
        alerts += raised or []
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


def set_pin(ctx: PortalContext, pin: str) -> None:
    """Protect the partner's portal with a 4–8 digit PIN (argon2 hash); ValueError if malformed."""
    if not PIN_PATTERN.fullmatch(pin or ""):
        raise ValueError("A PIN is 4 to 8 digits, nothing else.")
    ctx.home.pin_hash = _pin_hasher.hash(pin)
    ctx.home.pin_failures = 0
    ctx.home.pin_blocked_until = None
    audit.record(
        "portal.pin_set", "partner", ctx.partner.id, actor_kind="partner", actor_id=ctx.partner.id
    )


def _wait_minutes(link: PartnerHome) -> int:
    left = aware(link.pin_blocked_until) - utcnow() if link.pin_blocked_until else timedelta(0)
    return max(1, -(-int(left.total_seconds()) // 60)) if left > timedelta(0) else 0


def check_pin(ctx: PortalContext, pin: str) -> bool:
    """Whether ``pin`` is the partner's PIN; wrong ones are counted and slow further tries.

    Raises PinWait while a wait from earlier wrong PINs runs (the PIN is not even checked).
    """
    link = ctx.home
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
            "portal.pin_ok",
            "partner",
            ctx.partner.id,
            actor_kind="partner",
            actor_id=ctx.partner.id,
        )
        return True
    link.pin_failures = (link.pin_failures or 0) + 1
    over = link.pin_failures - PIN_FREE_TRIES
    if over > 0:
        link.pin_blocked_until = utcnow() + min(timedelta(minutes=2 ** (over - 1)), PIN_MAX_WAIT)
    audit.record(
        "portal.pin_wrong", "partner", ctx.partner.id, actor_kind="partner", actor_id=ctx.partner.id
    )
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


# ---- saving from the pages (the routes only parse the request and render) ----------------

#: a partner's total answers in one request may not exceed this (characters)
MAX_SAVE_CHARS = 200_000

STALE_PAGE = (
    "Your answers were changed in another tab or on another device since you opened this "
    "page, so this page was not saved. What you typed is still below: copy anything you want "
    "to keep, then reload to see the latest answers."
)


class BadForm(ValueError):
    """A form or save the page could not have sent; the message says what to do (a 400)."""


@dataclass
class SectionSave:
    """What a section form post came to: saved (no errors, no message) or why not."""

    raw: dict
    errors: dict[str, str]
    message: str | None = None
    status: int = 200

    @property
    def saved(self) -> bool:
        return not self.errors and self.message is None


def save_section(ctx: PartnerContext, section, form) -> SectionSave:
    """Save one section's form (the page without JavaScript); nothing typed is lost on refusal.

    Raises BadForm for a form without its revision.
    """
    raw = engine.from_form(ctx.definition, section, form, form.getlist)
    try:
        base = int(form.get("revision", ""))
    except ValueError:
        raise BadForm("The form is missing its revision; reload the page.") from None
    try:
        _, errors = save(ctx, raw, base)
    except StaleRevision:
        return SectionSave(raw, {}, STALE_PAGE, 409)
    except NotEditable as exc:
        return SectionSave(raw, {}, str(exc), 409)
    return SectionSave(raw, errors, None, 400 if errors else 200)


def autosave(ctx: PartnerContext, data) -> tuple[int, dict]:
    """Save a JSON change set ``{"revision": n, "answers": {...}}``; (HTTP status, JSON body)."""
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("answers"), dict)
        or not isinstance(data.get("revision"), int)
        or isinstance(data.get("revision"), bool)
    ):
        return 400, {"error": "This save was not understood (expected revision and answers)."}
    try:
        revision, errors = save(ctx, data["answers"], data["revision"])
    except engine.AnswerError as exc:
        return 400, {"error": str(exc)}
    except NotEditable as exc:
        return 409, {"error": str(exc)}
    except StaleRevision:
        return 409, {
            "error": (
                "Your answers were changed in another tab or on another device. "
                "Reload the page to continue; nothing was overwritten."
            ),
            "stale": True,
        }
    if errors:
        return 400, {"error": "Some answers need a look.", "errors": errors}
    return 200, {"revision": revision, "saved_at": ctx.response.saved_at.isoformat()}

"""Library, import, assignment and link operations. Functions flush; routes commit."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources

from flask import current_app
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from counselor.cases.models import Case, Partner, PartnerHome
from counselor.cases.services import get_in_case_or_404
from counselor.core import audit
from counselor.core.locking import lock_row
from counselor.core.models import aware, to_local, utcnow
from counselor.core.ownership import get_owned_or_404
from counselor.core.tokens import new_token
from counselor.extensions import db
from counselor.questionnaires import signals
from counselor.questionnaires.models import (
    Assignment,
    Link,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    SubmittedForm,
)
from counselor.questionnaires.parsing import ParseError, Problems, parse_definition
from counselor.questionnaires.schema import validate_definition

#: 32 random bytes = 256 bits in every personal link
TOKEN_BYTES = 32


class DefinitionError(Problems):
    """A definition failed validation."""


class AssignmentError(ValueError):
    """An assignment rule was broken; the message is shown to the counselor."""


def import_definition(
    text: str, owner_id: uuid.UUID
) -> tuple[Questionnaire, QuestionnaireVersion | None]:
    """A counselor's own questionnaire (or a new version of one) from the JSON text they typed
    or uploaded; DefinitionError names every problem as "path: reason"."""
    try:
        doc = parse_definition(text)
    except ParseError as exc:
        raise DefinitionError(exc.errors) from None
    questionnaire, version = load_definition(doc, owner_id)
    audit.record("questionnaire.import", "questionnaire", questionnaire.id)
    return questionnaire, version


def checksum(doc: dict) -> str:
    """SHA-256 of the canonical JSON of a definition."""
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _store_version(
    questionnaire: Questionnaire, doc: dict, *, publish: bool = True
) -> QuestionnaireVersion | None:
    """Add a version when the definition differs from the newest; returns it (or None).

    ``publish`` makes it assignable at once (import, library sync); the builder saves drafts.
    Publishing a definition equal to the newest draft publishes that draft."""
    digest = checksum(doc)
    if questionnaire.versions and questionnaire.newest.checksum == digest:
        newest = questionnaire.newest
        if publish and newest.published_at is None:
            newest.published_at = utcnow()
            adopt_names(questionnaire, doc)
            return newest
        return None
    version = QuestionnaireVersion(
        number=len(questionnaire.versions) + 1,
        definition_json=json.dumps(doc, ensure_ascii=False, indent=1),
        checksum=digest,
        published_at=utcnow() if publish else None,
    )
    questionnaire.versions.append(version)
    if publish or questionnaire.latest is None:
        adopt_names(questionnaire, doc)
    return version


def adopt_names(questionnaire: Questionnaire, doc: dict) -> None:
    """The questionnaire's listed title, purpose and kind: those of its newest published
    version (of its newest draft until one is published); others never see a draft's."""
    questionnaire.title, questionnaire.purpose, questionnaire.kind = (
        doc["title"],
        doc["purpose"],
        doc["kind"],
    )


def load_definition(
    doc: dict, owner_id: uuid.UUID | None
) -> tuple[Questionnaire, QuestionnaireVersion | None]:
    """Validate and store a definition: new questionnaire, new version, or nothing if unchanged."""
    errors = validate_definition(doc)
    if errors:
        raise DefinitionError(errors)
    stmt = select(Questionnaire).where(Questionnaire.slug == doc["slug"])
    stmt = stmt.where(
        Questionnaire.owner_id.is_(None) if owner_id is None else Questionnaire.owner_id == owner_id
    )
    questionnaire = db.session.scalar(stmt)
    if questionnaire is None:
        questionnaire = Questionnaire(
            slug=doc["slug"], owner_id=owner_id, title="", purpose="", kind=""
        )
        db.session.add(questionnaire)
    version = _store_version(questionnaire, doc)
    db.session.flush()
    return questionnaire, version


def library_files() -> list[tuple[str, dict]]:
    """The built-in definitions shipped in the package, as (file name, document)."""
    folder = resources.files("counselor.questionnaires") / "library"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            out.append((entry.name, json.loads(entry.read_text(encoding="utf-8"))))
    return out


def starter_resources() -> list[dict]:
    """The starter reading list shipped for the learning-together exercise."""
    entry = resources.files("counselor.questionnaires") / "resources" / "starter.json"
    return json.loads(entry.read_text(encoding="utf-8"))["resources"]


def sync_library() -> tuple[int, int]:
    """Load every built-in definition; returns (files, new versions). Idempotent."""
    files = library_files()
    added = 0
    for name, doc in files:
        try:
            _, version = load_definition(doc, None)
        except DefinitionError as exc:
            raise DefinitionError([f"{name}: {e}" for e in exc.errors]) from None
        added += version is not None
    if added:
        audit.record("library.sync", "questionnaire", "", actor_kind="system")
    return len(files), added


def _readable():
    """Built-ins, and questionnaires their owners share with the practice (read-only)."""
    return or_(Questionnaire.owner_id.is_(None), Questionnaire.shared.is_(True))


def visible_questionnaires(published_only: bool = False) -> list[Questionnaire]:
    """The built-in library, the current counselor's own questionnaires and those shared with
    the practice; ``published_only`` leaves out the ones with no published version yet."""
    stmt = (
        select(Questionnaire)
        .where(or_(_readable(), Questionnaire.owner_id == current_user.id))
        .options(selectinload(Questionnaire.versions))
        .order_by(Questionnaire.owner_id.is_not(None), Questionnaire.title)
    )
    found = list(db.session.scalars(stmt))
    # a draft is its owner's alone, and never assignable
    return [
        q
        for q in found
        if q.latest is not None or (not published_only and q.owner_id == current_user.id)
    ]


def get_questionnaire_or_404(questionnaire_id: uuid.UUID) -> Questionnaire:
    """A built-in, shared or own questionnaire, else 404."""
    return get_owned_or_404(
        Questionnaire, questionnaire_id, owner=Questionnaire.owner_id, shared=_readable()
    )


def get_assignment_or_404(case: Case, assignment_id: uuid.UUID) -> Assignment:
    """An assignment of an owned case, else 404."""
    return get_in_case_or_404(Assignment, case, assignment_id)


@dataclass
class IssuedLink:
    """A link with its raw token, which exists only in the response that shows it."""

    link: Link
    token: str
    case: Case
    partner: Partner


def _issue(assignment: Assignment, partner: Partner) -> IssuedLink:
    token, digest = new_token(TOKEN_BYTES)
    link = Link(
        partner_id=partner.id,
        token_hash=digest,
        expires_at=utcnow() + timedelta(days=assignment.link_ttl_days),
    )
    assignment.links.append(link)
    db.session.flush()
    audit.record("link.issue", "link", link.id)
    return IssuedLink(link, token, assignment.case, partner)


def assign(
    case: Case,
    version: QuestionnaireVersion,
    partner_ids: list[uuid.UUID],
    *,
    due_on: date | None,
    instructions: str | None,
    ttl_days: int | None,
    sections: list[str] | None = None,
    links: bool = False,
    announce: bool = True,
) -> tuple[Assignment, list[IssuedLink]]:
    """Give a questionnaire version to some partners of a case: one response each, on their
    homes (and signals ``homework_assigned``, which mails the partners).

    ``sections`` names the sections (top-level groups) to include; None means all of them.
    ``links`` also mints a per-assignment link per partner, as before homes (scripts and
    tests that open one homework directly); the counselor's pages hand out home links.
    ``announce=False``: no ``homework_assigned`` signal (a feature that mails in its own
    words, such as step debriefs)."""
    partners = (
        [p for p in case.partners if p.id in set(partner_ids)]
        if partner_ids
        else list(case.partners)
    )
    if version is None or version.published_at is None:
        raise AssignmentError("This questionnaire is a draft: publish it before assigning it.")
    if not partners:
        raise AssignmentError("Choose at least one partner of this case.")
    if case.status != "active":
        raise AssignmentError("This case is archived; make it active again to assign homework.")
    ttl = ttl_days or current_app.config["COUNSELOR_LINK_TTL_DAYS"]
    if not 1 <= ttl <= 365:
        raise AssignmentError("Links can live between 1 and 365 days.")
    # the practice's today, the day partners see the due date against
    if due_on is not None and due_on < to_local(utcnow()).date():
        raise AssignmentError("The due date is in the past.")
    assignment = Assignment(
        case_id=case.id,
        version_id=version.id,
        due_on=due_on,
        instructions=(instructions or "").strip() or None,
        link_ttl_days=ttl,
        sections=_chosen_sections(version, sections),
    )
    assignment.case = case
    db.session.add(assignment)
    issued = []
    for partner in partners:
        assignment.responses.append(
            Response(partner_id=partner.id, status="not_opened", revision=0)
        )
        if links:
            issued.append(_issue(assignment, partner))
    db.session.flush()
    audit.record("assignment.create", "assignment", assignment.id)
    if announce:
        signals.homework_assigned.send(assignment, partners=partners)
    return assignment, issued


def _chosen_sections(version: QuestionnaireVersion, sections: list[str] | None) -> list[str] | None:
    """The sections to store: None for all (the default), else the chosen ones in order."""
    if sections is None:
        return None
    known = [s.link_id for s in version.definition.sections]
    if set(sections) - set(known):
        raise AssignmentError("Choose sections of this questionnaire.")
    if not sections:
        raise AssignmentError("Choose at least one section.")
    chosen = [k for k in known if k in set(sections)]
    return None if chosen == known else chosen


def already_assigned(request_key: str) -> bool:
    """Whether a form with this idempotency key was already acted on."""
    return db.session.get(SubmittedForm, request_key) is not None


def assign_to_cases(
    cases: list[Case],
    version: QuestionnaireVersion,
    *,
    due_on: date | None,
    instructions: str | None,
    ttl_days: int | None,
) -> list[Assignment]:
    """Give a questionnaire version to every partner of each case (it appears on their homes);
    the assignments made."""
    return [
        assign(case, version, [], due_on=due_on, instructions=instructions, ttl_days=ttl_days)[0]
        for case in cases
    ]


def claim_form(request_key: str, counselor_id: uuid.UUID) -> None:
    """Take the form's key before acting on it (flushed): a second copy of the same form,
    even one arriving at the same moment, fails with IntegrityError here or at commit."""
    db.session.add(SubmittedForm(request_key=request_key, counselor_id=counselor_id))
    db.session.flush()


def current_link(assignment: Assignment, partner_id: uuid.UUID) -> Link | None:
    """The partner's newest link for an assignment."""
    links = [link for link in assignment.links if link.partner_id == partner_id]
    return max(links, key=lambda link: aware(link.created_at)) if links else None


def link_state(link: Link | None) -> str:
    """active, expired or revoked (for the counselor's status table)."""
    if link is None or link.revoked_at is not None:
        return "revoked"
    if aware(link.expires_at) <= utcnow():
        return "expired"
    return "active"


def reissue(assignment: Assignment, partner_id: uuid.UUID) -> IssuedLink:
    """A new link for a partner; every older link of theirs stops working at once."""
    partner = next((p for p in assignment.case.partners if p.id == partner_id), None)
    if partner is None or not any(r.partner_id == partner_id for r in assignment.responses):
        raise AssignmentError("That partner is not part of this assignment.")
    now = utcnow()
    for link in assignment.links:
        if link.partner_id == partner_id and link.revoked_at is None:
            link.revoked_at = now
    issued = _issue(assignment, partner)
    audit.record("link.reissue", "link", issued.link.id)
    # A new link is what a partner who forgot their PIN asks for: it starts without one.
    home = db.session.get(PartnerHome, partner_id)
    if home is not None:
        home.pin_hash, home.pin_failures, home.pin_blocked_until = None, 0, None
    return issued


def revoke(assignment: Assignment, partner_id: uuid.UUID) -> None:
    """Stop a partner's links working (their answers stay)."""
    now = utcnow()
    hit = False
    for link in assignment.links:
        if link.partner_id == partner_id and link.revoked_at is None:
            link.revoked_at = now
            audit.record("link.revoke", "link", link.id)
            hit = True
    if not hit:
        raise AssignmentError("That partner has no working link to revoke.")


def lock_assignment(assignment: Assignment) -> None:
    """Hold the assignment's row lock until the commit, with it and its responses re-read.

    Release, withdraw, lock, due date changes, reopen, submit and every answer save take it
    first. On one assignment they then run one at a time, and each decides on what the one
    before it committed: a release and a reopen can no longer both pass their checks, so
    "released" always means every response submitted and unchanged since.
    """
    lock_row(
        Assignment,
        assignment.id,
        # the version comes along (it never changes): re-reading the assignment would
        # otherwise make its next use load the version again, one more statement per save
        query=select(Assignment).options(
            joinedload(Assignment.version).defer(QuestionnaireVersion.definition_json)
        ),
        children=[(Response, Response.assignment_id)],
    )


def set_locked(assignment: Assignment, locked: bool) -> None:
    """Close or reopen an assignment for editing by partners."""
    lock_assignment(assignment)
    assignment.locked = locked
    audit.record("assignment.lock" if locked else "assignment.unlock", "assignment", assignment.id)


def set_due(assignment: Assignment, due_on: date | None) -> None:
    """Change the due date (partners may edit until it passes)."""
    # the practice's today, the day partners see the due date against
    if due_on is not None and due_on < to_local(utcnow()).date():
        raise AssignmentError("The new due date is in the past.")
    lock_assignment(assignment)
    assignment.due_on = due_on
    audit.record("assignment.due_change", "assignment", assignment.id)


@dataclass
class PartnerColumn:
    """One partner's status and visible answers on the counselor's assignment page."""

    partner: Partner
    response: Response
    link: Link | None
    link_state: str
    answers: dict
    #: the definition's scored measures for this partner's answers (counselor-facing)
    scores: list = field(default_factory=list)


def assignment_view(assignment: Assignment) -> list[PartnerColumn]:
    """Per assigned partner: status, link state and the answers shown under the version's rules."""
    from counselor.questionnaires import engine, scoring

    defn = assignment.definition
    partners = {p.id: p for p in assignment.case.partners}
    columns = []
    for response in sorted(assignment.responses, key=lambda r: partners[r.partner_id].position):
        link = current_link(assignment, response.partner_id)
        answers = (
            engine.visible_answers(defn, response.answers)
            if response.status in ("draft", "submitted")
            else {}
        )
        columns.append(
            PartnerColumn(
                partners[response.partner_id],
                response,
                link,
                link_state(link),
                answers,
                scoring.scores(defn, answers) if answers else [],
            )
        )
    return columns


def upgrade_desire_answers() -> tuple[int, int]:
    """Rewrite stored desire answers that carry an item-wide ``hard_limit`` in today's shape (a
    limit on every role the partner answered); returns (responses checked, rewritten). Safe to
    run again: an upgraded answer has no ``hard_limit`` left."""
    from counselor.questionnaires import engine

    checked = rewritten = 0
    responses = db.session.scalars(
        select(Response)
        .where(Response.answers_json_sealed.is_not(None))
        .options(selectinload(Response.assignment).selectinload(Assignment.version))
        .execution_options(yield_per=200)
    )
    for response in responses:
        checked += 1
        defn = response.assignment.version.definition
        answers = response.answers
        old = [
            lid
            for lid, value in answers.items()
            if isinstance(value, dict)
            and "hard_limit" in value
            and defn.by_id.get(lid, {}).get("type") == "desire"
        ]
        if not old:
            continue
        for lid in old:
            answers[lid] = engine.desire_value(defn.by_id[lid], answers[lid])
        response.answers = answers
        rewritten += 1
        audit.record("response.upgrade", "response", response.id, actor_kind="system")
    db.session.flush()
    return checked, rewritten

"""Partner-side rules for homework: when answers may change, saving drafts, reopening, and
saving from the pages (the submit is ``submitting``'s). Who the partner is comes from
``context``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from counselor.core import audit
from counselor.core.models import to_local, utcnow
from counselor.core.precompiled import Precompiled
from counselor.extensions import db, session_connection
from counselor.mail import notify
from counselor.portal.context import PartnerContext, ResponseRow
from counselor.questionnaires import engine
from counselor.questionnaires.models import Assignment, Response, StoredAnswers
from counselor.questionnaires.services import lock_assignment
from counselor.reveal.models import Alert
from counselor.reveal.services import evaluate_alerts


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


def _lock(ctx: PartnerContext) -> None:
    """Hold the assignment's lock, with the assignment and response read under it."""
    if not ctx.locked:  # a homework POST read them under the lock already
        lock_assignment(ctx.assignment)


def _lock_editable(ctx: PartnerContext) -> None:
    """Take the assignment's lock, then refuse unless the answers may change (NotEditable)."""
    _lock(ctx)
    reason = not_editable_because(ctx)
    if reason:
        raise NotEditable(reason)


def save(ctx: PartnerContext, raw_changes: dict, base_revision: int) -> tuple[int, dict[str, str]]:
    """Save a draft change set started from ``base_revision``; returns (new revision, errors).

    With any error nothing is stored (the page shows what was typed with the message);
    a save from a stale revision raises StaleRevision and overwrites nothing.
    """
    _lock_editable(ctx)
    defn = ctx.definition
    response = ctx.response
    stored = _stored(response)
    clean, errors = engine.validate_changes(
        defn, _sent_changes(stored.read_of(raw_changes), raw_changes)
    )
    if errors:
        return response.revision, errors
    if response.revision != base_revision:
        raise StaleRevision
    if not _store_draft(response, stored.changed(clean), ctx.partner_id):  # with its event
        db.session.rollback()
        raise StaleRevision
    stops = defn.derived("stops", _stop_rules)
    stop = engine.stop_for(defn, engine.merge(stored.read(), clean)) if stops else None
    if stop is not None:
        # The partner cannot submit past a stop, so its alert is raised now, not on submit.
        loaded = ctx.objects()
        notify.alerts_raised(
            loaded.assignment,
            evaluate_alerts(loaded.assignment, loaded.response, only={stop.link_id}),
        )
    return response.revision, {}


def _sent_changes(stored: dict, raw_changes: dict) -> dict:
    """The answers of ``raw_changes`` that are not exactly the stored ones: a phone sends every
    answer of its section at each save, most of them as they are stored. A stored answer was
    checked when it was stored, against this same version (an assigned version never
    changes), so one sent again exactly is neither checked again nor written; any other,
    changed or unknown, is checked as before and refused when it is not acceptable.

    Exactly: equal, and of the same type where Python's equality mixes types (``True == 1 ==
    1.0``). A stored answer holds text, lists of text or mappings of text but for the answer
    itself (a boolean, a number: its type is compared) and a desire answer's ``fantasy`` tick
    box (a boolean, which Python finds equal to 0 or 1: its type is compared too); the tests
    hold the stored shapes to that (``test_autosave_unchanged``). Worked out inline: this runs
    for every answer of every save."""
    if not stored:
        return raw_changes
    get = stored.get
    return {
        lid: value
        for lid, value in raw_changes.items()
        if type(was := get(lid, _ABSENT)) is not type(value)
        or was != value
        or (type(value) is dict and type(value.get("fantasy", False)) is not bool)
    }


_ABSENT = object()


def _stored(response: Response | ResponseRow) -> StoredAnswers:
    """The response's stored answers, to be read a part at a time (``StoredAnswers``)."""
    if isinstance(response, ResponseRow):  # opened as its bytes, which the parser reads
        opened = Response.answers_json.opener(as_bytes=True)
        text = opened(response.answers_json_sealed, response.id)
    else:
        text = response.answers_json
    return StoredAnswers(text)


def _stop_rules(defn: engine.Definition) -> list[str]:
    """The items of a definition with a ``stop_if`` rule (most have none: a save of their
    answers need not work out which items are shown to look for a stop)."""
    return [lid for lid in defn.order if defn.by_id[lid].get("stop_if")]


_RESPONSE = Response.__table__


def _revision_checked(**values) -> Precompiled:
    """An UPDATE of one response (``row_id``) setting ``values``, made and compiled once,
    checking and bumping the revision as the ORM's version counter does (no other save can
    have come between the read and the write)."""
    return Precompiled(
        update(_RESPONSE)
        .where(_RESPONSE.c.id == bindparam("row_id"), _RESPONSE.c.revision == bindparam("base"))
        .values(**values, revision=_RESPONSE.c.revision + 1)
    )


_SAVED_AT = bindparam("now", type_=_RESPONSE.c.saved_at.type)
#: a draft's save
_SAVE_DRAFT = _revision_checked(
    answers_json_sealed=bindparam("sealed", type_=_RESPONSE.c.answers_json_sealed.type),
    status="draft",
    saved_at=_SAVED_AT,
)
#: a save that changes no answer (a phone sends every answer of its section, changed or
#: not): the same UPDATE without the answers, which stay as they are sealed
_SAVE_UNCHANGED = _revision_checked(status="draft", saved_at=_SAVED_AT)


#: the same with the save's audit event written by the same statement (PostgreSQL: one round
#: trip instead of two; no event when another save got there first)
_SAVE_DRAFT_AUDITED, _SAVE_UNCHANGED_AUDITED = (
    Precompiled(audit.with_event(save.statement.returning(_RESPONSE.c.id)))
    for save in (_SAVE_DRAFT, _SAVE_UNCHANGED)
)


def _store_draft(response: Response | ResponseRow, text: str | None, partner_id) -> bool:
    """Write a draft with one Core UPDATE (the ORM's unit of work cost more than the rest of
    a save): its answers' new text (``StoredAnswers.changed``; None: no answer changed, the
    sealed answers stay), sealed exactly as assigning ``response.answers`` seals them, and
    the partner's ``portal.save`` audit event; the loaded object is told what now holds.
    False (and no event) when another save got there first."""
    now = utcnow()
    changes = {"status": "draft", "saved_at": now}
    parameters = {"now": now}
    if text is not None:
        sealed = Response.answers_json.seal(text, response.id)
        changes["answers_json_sealed"] = parameters["sealed"] = sealed
    if session_connection().dialect.name == "postgresql":
        event = audit.partner_event_parameters(partner_id, "portal.save", "response", response.id)
        statement = _SAVE_UNCHANGED_AUDITED if text is None else _SAVE_DRAFT_AUDITED
        return _write(statement, response, changes, {**parameters, **event})
    if not _write(_SAVE_UNCHANGED if text is None else _SAVE_DRAFT, response, changes, parameters):
        return False
    audit.by_partner(partner_id, "portal.save", "response", response.id)
    return True


def _write(statement, response: Response | ResponseRow, changes: dict, parameters: dict) -> bool:
    """Run a response's revision-checked UPDATE (``_SAVE_DRAFT``) and tell the
    loaded response what it wrote (``changes``, and the revision bumped); False when another
    request changed the response first."""
    done = statement.run({"row_id": response.id, "base": response.revision, **parameters})
    if done != 1:
        return False
    _written(response, changes)
    return True


def _written(response: Response | ResponseRow, changes: dict) -> None:
    """Tell the loaded response what a revision-checked UPDATE wrote (``changes``, and the
    revision bumped)."""
    # an object is told without a change to flush; a plain row just holds the values
    tell = set_committed_value if isinstance(response, Response) else setattr
    for key, value in {**changes, "revision": response.revision + 1}.items():
        tell(response, key, value)


def reopen(ctx: PartnerContext) -> None:
    """Turn a submitted response back into a draft so the partner can change it."""
    _lock(ctx)  # a release waits for this, or this sees the release
    closed = closed_because(ctx.assignment)
    if closed:
        raise NotEditable(closed)
    if ctx.response.status != "submitted":
        return  # already a draft (a second tab or a double click): nothing to reopen
    ctx.response.status = "draft"
    # not to be told as submitted: a submit again marks it anew (one notice for it)
    ctx.response.notice_due = False
    audit.by_partner(ctx.partner_id, "portal.reopen", "response", ctx.response.id)


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

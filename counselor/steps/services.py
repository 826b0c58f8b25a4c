"""Step rules: writing the ladder, marking steps, debriefs and the shared log. Functions flush;
routes commit.

Every change of a ladder's steps (add, edit, move, accept, mark, resume, a debrief sent or a
debrief pausing the next step) first takes the ladder's row lock (``lock``): on one ladder they
run one at a time, and each decides on what the one before it committed. So two partners
pressing "done" at once give one done step and one set of debriefs.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import selectinload

from counselor.agreements import queries as agreement_queries
from counselor.agreements import views as agreement_views
from counselor.alerts.services import raise_rule_alert
from counselor.cases.models import Case, Partner
from counselor.cases.services import get_in_case_or_404
from counselor.core import audit
from counselor.core.locking import lock_row
from counselor.core.models import to_local, utcnow
from counselor.extensions import db
from counselor.mail import notify
from counselor.mail.partner import queue_notice
from counselor.questionnaires import signals
from counselor.questionnaires.models import Assignment, Questionnaire, Response
from counselor.questionnaires.services import assign
from counselor.steps import holds
from counselor.steps.models import Ladder, Step, StepDebrief

MAX_TEXT = 1000
#: the built-in debrief (the library's slug)
DEBRIEF_SLUG = "debrief"
#: the next-step answers that ask to slow down or pause (the debrief's ``*.pace`` item)
SLOW_PACE = ("gentler", "pause")
#: the words of the partner mail when a step is done: nothing of the step itself
DEBRIEF_MAIL = (
    "A step you agreed on was marked as done. A short debrief is waiting for you.\n\n"
    "Please open your personal page when you have a quiet moment. What you write stays "
    "between you and your counselor, unless you choose to share some of it."
)


class StepError(ValueError):
    """A change is not possible now or not like this; the message says why (a 4xx)."""


class Stale(StepError):
    """The page showed a state that has changed since (a 409)."""


# ---- loading and locking -------------------------------------------------------------------


def lock(ladder: Ladder) -> Ladder:
    """Hold the ladder's row lock until the commit, its steps and debriefs re-read."""
    lock_row(
        Ladder,
        ladder.id,
        query=select(Ladder).options(selectinload(Ladder.steps).selectinload(Step.debriefs)),
        children=((Step, Step.ladder_id),),
    )
    return ladder


def get_step_or_404(case: Case, step_id: uuid.UUID) -> Step:
    """A step of an owned case, else 404 (the same for another counselor's)."""
    return get_in_case_or_404(Step, case, step_id)


def ladders_of_case(case: Case) -> list[Ladder]:
    """Every ladder of a case, oldest first, with steps and debriefs."""
    return list(db.session.scalars(_CASE_LADDERS, {"case_id": case.id}))


# Built once per process: making a statement and its cache key costs more CPU than running it
# (README, "Where each page's CPU goes").
_CASE_LADDERS = (
    select(Ladder)
    .where(Ladder.case_id == bindparam("case_id"))
    .options(selectinload(Ladder.steps).selectinload(Step.debriefs))
    .order_by(Ladder.created_at)
)


def partners_of(ladder: Ladder) -> list[Partner]:
    """The partners of a ladder: its agreement's, or the whole case's."""
    partners = list(ladder.case.partners)
    if ladder.agreement_id is None:
        return partners
    return [p for p in partners if p.id in ladder.agreement.partner_ids]


def on_ladder(ladder: Ladder) -> list[Step]:
    """The steps to do, in order (no proposals, no declined ones)."""
    return [s for s in ladder.steps if s.status not in ("proposed", "declined")]


def current(ladder: Ladder) -> Step | None:
    """The step partners are on: the first one not done or skipped."""
    return next((s for s in on_ladder(ladder) if s.status in ("open", "paused")), None)


# ---- where a ladder stands -----------------------------------------------------------------


def places(case: Case) -> list[tuple[str, str]]:
    """Where the counselor may put steps: on their own for the case, or under a clause of an
    agreement's version in force (else its newest published one), as (value, label)."""
    found = [("case", "On their own, for the whole case")]
    for view in agreement_views.case_agreements(case):
        version = view.in_force or (agreement_queries.published(view.agreement) or [None])[-1]
        if version is None:
            continue
        for clause in version.clauses:
            label = agreement_views.clause_summary(clause, view.names)
            found.append((f"{view.agreement.id}:{clause['key']}", f"{version.title} · {label}"))
    return found


def ladder_at(case: Case, place: str) -> Ladder:
    """The ladder at ``place`` (a value of ``places``), made when it is the first step there."""
    if place not in dict(places(case)):
        raise StepError("Choose where the step belongs: the case, or a clause of an agreement.")
    agreement_id, key = (None, "") if place == "case" else place.split(":", 1)
    agreement_id = uuid.UUID(agreement_id) if agreement_id else None
    found = db.session.scalar(
        select(Ladder).where(
            Ladder.case_id == case.id,
            Ladder.agreement_id.is_(None)
            if agreement_id is None
            else Ladder.agreement_id == agreement_id,
            Ladder.clause_key == key,
        )
    )
    if found is not None:
        return found
    ladder = Ladder(case_id=case.id, agreement_id=agreement_id, clause_key=key)
    db.session.add(ladder)
    db.session.flush()
    audit.record("steps.ladder_create", "step_ladder", ladder.id)
    return ladder


def place_label(ladder: Ladder) -> str:
    """Where the ladder stands, as the counselor reads it."""
    if ladder.agreement_id is None:
        return "On their own, for the whole case"
    return next(
        (label for value, label in places(ladder.case) if value.endswith(f":{ladder.clause_key}")),
        ladder.agreement.title,
    )


# ---- writing steps -------------------------------------------------------------------------


def _text(value: str | None, what: str, *, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise StepError(f"Say {what}.")
    if len(text) > MAX_TEXT:
        raise StepError(f"{what[0].upper()}{what[1:]} may hold at most {MAX_TEXT:,} characters.")
    return text


def _content(what: str, size: str, conditions: str) -> str:
    return json.dumps(
        {
            "what": _text(what, "what the step is", required=True),
            "size": _text(size, "how small it is"),
            "conditions": _text(conditions, "the conditions"),
        },
        ensure_ascii=False,
    )


def _planned(planned_on: date | None) -> date | None:
    if planned_on is not None and planned_on < to_local(utcnow()).date():
        raise StepError("The planned date is in the past.")
    return planned_on


def debrief_choices() -> list[Questionnaire]:
    """The questionnaires a step may be debriefed with: the built-in debrief first."""
    from counselor.questionnaires.services import visible_questionnaires

    found = visible_questionnaires(published_only=True)
    return sorted(found, key=lambda q: (q.slug != DEBRIEF_SLUG, q.kind != "debrief", q.title))


def _questionnaire(questionnaire_id: uuid.UUID | None) -> uuid.UUID | None:
    if questionnaire_id is None:
        return None
    if questionnaire_id not in {q.id for q in debrief_choices()}:
        raise StepError("Choose a debrief from the list.")
    return questionnaire_id


def add_step(
    ladder: Ladder,
    what: str,
    size: str = "",
    conditions: str = "",
    planned_on: date | None = None,
    questionnaire_id: uuid.UUID | None = None,
    proposed_by: Partner | None = None,
) -> Step:
    """A new step at the end of the ladder; a partner's is a proposal until accepted."""
    content = _content(what, size, conditions)
    planned_on = _planned(planned_on)
    questionnaire_id = _questionnaire(questionnaire_id) if proposed_by is None else None
    lock(ladder)
    step = Step(
        ladder_id=ladder.id,
        case_id=ladder.case_id,
        position=max((s.position for s in ladder.steps), default=0) + 1,
        planned_on=planned_on,
        status="proposed" if proposed_by else "open",
        debrief_questionnaire_id=questionnaire_id,
        proposed_by=proposed_by.id if proposed_by else None,
    )
    step.content_json = content
    ladder.steps.append(step)
    db.session.flush()
    if proposed_by is not None:
        audit.by_partner(proposed_by.id, "steps.propose", "step", step.id)
    else:
        audit.record("steps.add", "step", step.id)
    return step


def edit_step(
    step: Step,
    what: str,
    size: str,
    conditions: str,
    planned_on: date | None,
    questionnaire_id: uuid.UUID | None,
) -> None:
    """Change a step that is not done or skipped yet."""
    content = _content(what, size, conditions)
    planned_on = _planned(planned_on)
    questionnaire_id = _questionnaire(questionnaire_id)
    lock(step.ladder)
    if step.status in ("done", "skipped"):
        raise Stale("This step is already done or skipped; it stays as it was.")
    step.content_json = content
    step.planned_on = planned_on
    step.debrief_questionnaire_id = questionnaire_id
    audit.record("steps.edit", "step", step.id)


def move(step: Step, direction: str) -> None:
    """Move a step one place up or down among the steps still to do."""
    ladder = lock(step.ladder)
    todo = [s for s in on_ladder(ladder) if s.status in ("open", "paused")]
    if step not in todo or direction not in ("up", "down"):
        raise StepError("Only steps still to do can be moved.")
    n = todo.index(step)
    other = n - 1 if direction == "up" else n + 1
    if 0 <= other < len(todo):
        a, b = todo[n], todo[other]
        a.position, b.position = b.position, a.position
        audit.record("steps.move", "step", step.id)


def decide(step: Step, accept: bool) -> None:
    """Accept a partner's proposal onto the ladder (last), or decline it."""
    ladder = lock(step.ladder)
    if step.status != "proposed":
        raise Stale("This proposal was already answered.")
    if accept:
        step.status = "open"
        step.position = max((s.position for s in on_ladder(ladder)), default=0) + 1
    else:
        step.status = "declined"
    audit.record("steps.accept" if accept else "steps.decline", "step", step.id)


def resume(step: Step) -> None:
    """The counselor lifts a pause: partners can go on with the step."""
    lock(step.ladder)
    if step.status != "paused":
        raise Stale("This step is not paused.")
    step.status = "open"
    step.paused_because = None
    audit.record("steps.resume", "step", step.id)


# ---- the partners: marking, debriefs, sharing ----------------------------------------------


def ladders_of_partner(partner: Partner) -> list[Ladder]:
    """The ladders a partner is in: their case's own, and those under agreements they are in
    and may see (an agreement they are not in is never named to them)."""
    mine = {a.id for a in agreement_queries.agreements_of_partner(partner)}
    return [
        ladder
        for ladder in ladders_of_case(partner.case)
        if ladder.agreement_id is None or ladder.agreement_id in mine
    ]


def for_partner(partner: Partner, ladder_id: uuid.UUID) -> Ladder | None:
    """One ladder the partner is in, else None (the caller's 404 says no more)."""
    return next((x for x in ladders_of_partner(partner) if x.id == ladder_id), None)


MARKS = {"done": "done", "skip": "skipped", "pause": "paused"}


def mark(ladder: Ladder, partner: Partner, step_id: uuid.UUID, action: str) -> Step:
    """A partner marks the current step done, skipped or paused. Refused (Stale) when the page
    showed a step that is no longer the current one, or is paused: whoever pressed first
    decided, and the other partner is told so."""
    if action not in MARKS:
        raise StepError("Choose done, skip or pause.")
    lock(ladder)
    if partner.id not in {p.id for p in partners_of(ladder)}:
        raise StepError("This step is not yours to mark.")
    step = current(ladder)
    if step is None or step.id != step_id:
        raise Stale("Someone has already marked this step. Here is where things stand now.")
    if step.status == "paused":
        raise Stale("This step is paused. Your counselor will go through it with you first.")
    if action != "pause" and holds.clause_paused(ladder):
        raise Stale(holds.HELD)
    step.status = MARKS[action]
    step.marked_by = partner.id
    step.marked_at = utcnow()
    step.paused_because = "partner" if action == "pause" else None
    audit.by_partner(partner.id, f"steps.{action}", "step", step.id)
    if action == "done":
        _start_debriefs(ladder, step)
    elif action == "pause":
        notify.partner_paused(ladder.case)  # the counselor hears of it as of a clause's pause
    return step


def _debrief_version(step: Step):
    questionnaire = None
    if step.debrief_questionnaire_id is not None:
        questionnaire = db.session.get(Questionnaire, step.debrief_questionnaire_id)
    if questionnaire is None:
        questionnaire = db.session.scalar(
            select(Questionnaire).where(
                Questionnaire.slug == DEBRIEF_SLUG, Questionnaire.owner_id.is_(None)
            )
        )
    return questionnaire.latest if questionnaire else None


def _start_debriefs(ladder: Ladder, step: Step) -> None:
    """Each partner of the step gets its debrief on their home, and a mail saying so."""
    version = _debrief_version(step)
    if version is None:
        raise StepError("The debrief questionnaire is missing; ask your counselor.")
    partners = partners_of(ladder)
    assignment, _ = assign(
        ladder.case,
        version,
        [p.id for p in partners],
        due_on=None,
        instructions=f"Your debrief of the step “{step.what}”.",
        ttl_days=None,
        announce=False,
    )
    for partner in partners:
        step.debriefs.append(
            StepDebrief(step_id=step.id, partner_id=partner.id, assignment_id=assignment.id)
        )
        queue_notice("steps.debrief", DEBRIEF_MAIL, partner)
    db.session.flush()


def debrief_of(step: Step, partner: Partner) -> StepDebrief | None:
    """The partner's debrief of a step (None: not done, or not theirs)."""
    return next((d for d in step.debriefs if d.partner_id == partner.id), None)


def response_of(debrief: StepDebrief) -> Response | None:
    """The partner's answers to their debrief."""
    return db.session.scalar(
        select(Response).where(
            Response.assignment_id == debrief.assignment_id,
            Response.partner_id == debrief.partner_id,
        )
    )


def offer(debrief: StepDebrief) -> list[dict]:
    """The reflections the partner may put in the shared log: each written answer of their
    sent debrief, as {"key", "question", "answer"} in the questionnaire's order."""
    response = response_of(debrief)
    if response is None or response.status != "submitted":
        return []
    definition = db.session.get(Assignment, debrief.assignment_id).definition
    answers = response.answers
    found = []
    for item in definition.questions():
        value = answers.get(item["link_id"])
        if item["type"] in ("text", "string") and isinstance(value, str) and value.strip():
            found.append({"key": item["link_id"], "question": item["text"], "answer": value})
    return found


def share(ladder: Ladder, partner: Partner, step_id: uuid.UUID, keys: list[str]) -> StepDebrief:
    """The partner sends what of their debrief goes into the shared log (possibly nothing);
    it is kept as it stands now and cannot be changed after."""
    lock(ladder)
    step = next((s for s in ladder.steps if s.id == step_id), None)
    debrief = debrief_of(step, partner) if step else None
    if debrief is None:
        raise StepError("There is no debrief of yours for this step.")
    if debrief.sent_at is not None:
        raise Stale("You have already sent this. It is in your shared log as it was.")
    offered = offer(debrief)
    if not offered:
        raise StepError("Please send your debrief first; then choose what to share.")
    chosen = set(keys)
    debrief.shared_json = json.dumps(
        [{"question": o["question"], "answer": o["answer"]} for o in offered if o["key"] in chosen],
        ensure_ascii=False,
    )
    debrief.sent_at = utcnow()
    audit.by_partner(partner.id, "steps.share", "step_debrief", debrief.id)
    return debrief


def log_ready(step: Step) -> bool:
    """The shared log shows a step once every partner of it has sent their debrief."""
    return bool(step.debriefs) and all(d.sent_at is not None for d in step.debriefs)


# ---- a debrief asking to slow down ---------------------------------------------------------


#: the ends of the keys ``asks_to_slow`` reads (a key ending so may still have another leaf)
_PACE_LEAVES = ("pace", "fatigue", "anxiety")


def asks_to_slow(answers: dict) -> list[str]:
    """The answers of a debrief that ask to slow down or pause: a ``*.pace`` answer of
    SLOW_PACE, or a ``*.fatigue`` or ``*.anxiety`` number at or above the practice's
    threshold (COUNSELOR_STEP_PAUSE_AT, 0–10)."""
    threshold = current_app.config["COUNSELOR_STEP_PAUSE_AT"]
    found = []
    for key, value in answers.items():
        if not key.endswith(_PACE_LEAVES):
            continue  # most homework is no debrief: one test per answer rules its key out
        leaf = key.rsplit(".", 1)[-1]
        if leaf == "pace" and value in SLOW_PACE:
            found.append(key)
        elif leaf in ("fatigue", "anxiety") and isinstance(value, int | float):
            if not isinstance(value, bool) and value >= threshold:
                found.append(key)
    return found


@signals.homework_submitted.connect
@signals.writes_only_when(lambda definition, answers: bool(asks_to_slow(answers)))
def _debrief_sent(
    assignment: Assignment, response: Response, answers: dict | None = None, **_
) -> list:
    return debrief_sent(assignment, response, answers)


def debrief_sent(assignment: Assignment, response: Response, answers: dict | None = None) -> list:
    """A step's debrief asking to slow down or pause holds the next step for everyone and
    raises a review alert for the counselor; the alerts raised. ``answers``: the response's,
    when the caller opened them already (the submit did: they are not decrypted again)."""
    # the answers first: most submitted homework is no debrief, and no answer asking to slow
    # down means nothing to look up
    if not asks_to_slow(response.answers if answers is None else answers):
        return []
    debrief = db.session.scalar(
        select(StepDebrief).where(
            StepDebrief.assignment_id == assignment.id,
            StepDebrief.partner_id == response.partner_id,
        )
    )
    if debrief is None:
        return []
    ladder = lock(debrief.step.ladder)
    following = current(ladder)
    if following is not None and following.status == "open":
        following.status = "paused"
        following.paused_because = "debrief"
        following.marked_by = None
        following.marked_at = utcnow()
        audit.record("steps.pause_by_debrief", "step", following.id, actor_kind="system")
    alert = raise_rule_alert(assignment, response, "steps.pace")
    return [alert] if alert else []

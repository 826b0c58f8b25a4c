"""What the pages show of steps: the counselor's ladders, a partner's ladders and the shared
log (read models; the routes pass them to the templates).

A partner sees the steps of ladders they are in, their own debriefs and proposals, and of the
other partners only what each chose to share, once every partner of that step has sent their
debrief. Never whether another partner has debriefed, never anything else of their debrief.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, select

from counselor.agreements import queries as agreement_queries
from counselor.agreements import views as agreement_views
from counselor.cases.models import Case, Partner
from counselor.extensions import db
from counselor.steps import holds, services
from counselor.steps.models import Ladder, Step, StepDebrief


def _clause_text(ladder: Ladder, names: dict) -> str:
    """The clause a ladder stands under, as partners of the agreement read it."""
    if ladder.agreement_id is None:
        return ""
    for version in reversed(agreement_queries.published(ladder.agreement)):
        for clause in version.clauses:
            if clause["key"] == ladder.clause_key:
                return agreement_views.clause_summary(clause, names)
    return ""


def names_of(case: Case) -> dict[uuid.UUID, str]:
    """Partner id -> name, for the case's partners."""
    return {p.id: p.display_name for p in case.partners}


# ---- the counselor -------------------------------------------------------------------------


@dataclass
class CounselorLadder:
    """One ladder as the counselor's steps page shows it."""

    ladder: Ladder
    place: str
    partners: list[Partner]
    steps: list[Step]
    proposals: list[Step]
    current: Step | None
    names: dict[uuid.UUID, str]

    def debrief_state(self, step: Step) -> list[tuple[str, str]]:
        """(partner name, where their debrief stands) for a done step."""
        out = []
        for d in sorted(step.debriefs, key=lambda d: self.names.get(d.partner_id, "")):
            response = services.response_of(d)
            if d.sent_at is not None:
                state = f"sent, shared {len(d.shared)} of their reflections"
            elif response is not None and response.status == "submitted":
                state = "answered, has not chosen what to share yet"
            else:
                state = "not answered yet"
            out.append((self.names.get(d.partner_id, "A partner"), state))
        return out


def counselor_ladders(case: Case) -> list[CounselorLadder]:
    """Every ladder of the case with its steps in order and the partners' proposals."""
    names = names_of(case)
    return [
        CounselorLadder(
            ladder=ladder,
            place=services.place_label(ladder),
            partners=services.partners_of(ladder),
            steps=services.on_ladder(ladder),
            proposals=[s for s in ladder.steps if s.status == "proposed"],
            current=services.current(ladder),
            names=names,
        )
        for ladder in services.ladders_of_case(case)
    ]


@dataclass
class CaseSummary:
    """The case page's line about steps."""

    ladders: int
    done: int
    total: int
    paused: int
    proposals: int


_s = Step.__table__.c
_STATUS_COUNTS = (  # built once per process (README, "Where each page's CPU goes")
    select(_s.status, func.count()).where(_s.case_id == bindparam("case_id")).group_by(_s.status)
)


def case_summary(case_id: uuid.UUID, ladders: int) -> CaseSummary:
    """How far the case's ``ladders`` ladders are (the case page's panel): counts of its
    steps by status, one statement (none for a case without ladders)."""
    if not ladders:
        return CaseSummary(0, 0, 0, 0, 0)
    counts = dict(db.session.execute(_STATUS_COUNTS, {"case_id": case_id}).all())
    # on the ladder: every step but proposals and declined ones (services.on_ladder)
    on_ladder = sum(n for status, n in counts.items() if status not in ("proposed", "declined"))
    return CaseSummary(
        ladders=ladders,
        done=counts.get("done", 0) + counts.get("skipped", 0),
        total=on_ladder,
        paused=counts.get("paused", 0),
        proposals=counts.get("proposed", 0),
    )


# ---- the partner ---------------------------------------------------------------------------


@dataclass
class PartnerStep:
    """One step as a partner sees it."""

    step: Step
    number: int
    is_current: bool
    #: this partner's debrief of it (None: not done, or not theirs)
    debrief: StepDebrief | None = None
    #: the reflections they may share (their debrief is answered, the choice not yet sent)
    offer: list[dict] = field(default_factory=list)


@dataclass
class PartnerLadder:
    """A ladder as one partner sees it."""

    ladder: Ladder
    title: str
    clause: str
    steps: list[PartnerStep]
    #: this partner's own proposals waiting for the counselor or declined
    my_proposals: list[Step]
    #: the clause the ladder belongs to is paused: its steps wait (steps.holds)
    held: bool = False

    @property
    def current(self) -> PartnerStep | None:
        return next((s for s in self.steps if s.is_current), None)


def _title(ladder: Ladder) -> str:
    if ladder.agreement_id is None:
        return "Your steps"
    return f"Steps of “{ladder.agreement.title}”"


def partner_ladders(partner: Partner) -> list[PartnerLadder]:
    """The ladders a partner is in, with their own debriefs and what they may share."""
    names = names_of(partner.case)
    found = []
    for ladder in services.ladders_of_partner(partner):
        now = services.current(ladder)
        steps = []
        for n, step in enumerate(services.on_ladder(ladder), start=1):
            mine = services.debrief_of(step, partner)
            steps.append(
                PartnerStep(
                    step=step,
                    number=n,
                    is_current=step is now,
                    debrief=mine,
                    offer=services.offer(mine) if mine and mine.sent_at is None else [],
                )
            )
        found.append(
            PartnerLadder(
                ladder=ladder,
                title=_title(ladder),
                clause=_clause_text(ladder, names),
                steps=steps,
                my_proposals=[
                    s
                    for s in ladder.steps
                    if s.status in ("proposed", "declined") and s.proposed_by == partner.id
                ],
                held=holds.clause_paused(ladder),
            )
        )
    return found


@dataclass
class LogEntry:
    """What one partner chose to share of one step."""

    name: str
    is_me: bool
    shared: list[dict]


@dataclass
class LogStep:
    """One step of the shared log: every partner's share, shown once all have sent theirs."""

    ladder_title: str
    number: int
    what: str
    entries: list[LogEntry]


def shared_log(partner: Partner) -> list[LogStep]:
    """The shared log of a partner: per done step whose every partner has sent their debrief,
    what each chose to share (the partner's own first). Nothing of a step before that."""
    names = names_of(partner.case)
    found = []
    for ladder in services.ladders_of_partner(partner):
        for n, step in enumerate(services.on_ladder(ladder), start=1):
            if step.status != "done" or not services.log_ready(step):
                continue
            if services.debrief_of(step, partner) is None:
                continue
            entries = sorted(
                (
                    LogEntry(
                        names.get(d.partner_id, "A partner"), d.partner_id == partner.id, d.shared
                    )
                    for d in step.debriefs
                ),
                key=lambda e: (not e.is_me, e.name),
            )
            found.append(LogStep(_title(ladder), n, step.what, entries))
    return found


@dataclass
class HomeSummary:
    """What the partner's home cards say of steps."""

    has_ladders: bool = False
    next_step: str = ""
    paused: bool = False
    debriefs_waiting: int = 0
    log_steps: int = 0


def home_summary(partner: Partner) -> HomeSummary:
    """The partner's steps in a sentence's worth of facts (their home's cards)."""
    summary = HomeSummary()
    for view in partner_ladders(partner):
        summary.has_ladders = True
        now = view.current
        if now is not None and not summary.next_step:
            summary.next_step = now.step.what
            summary.paused = now.step.status == "paused"
        summary.debriefs_waiting += sum(
            1 for s in view.steps if s.debrief is not None and s.debrief.sent_at is None
        )
    summary.log_steps = len(shared_log(partner))
    return summary

"""What each composed page shows, gathered from the features' services; reads are audited here.

The functions add their audit event and load every row the page renders, in a fixed number of
statements whatever the size of the case (``tests/test_statement_counts.py``); the view
commits once, then renders.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import joinedload, selectinload

from counselor.agreements import views as agreements
from counselor.agreements.views import CounselorView
from counselor.alerts import services as alerts
from counselor.alerts.services import AlertCard
from counselor.auth.models import Counselor
from counselor.cases import homes as homes_
from counselor.cases import services as cases
from counselor.cases.homes import HomeRow
from counselor.cases.models import Case, CounselingSession, Partner
from counselor.checkins import services as checkins
from counselor.checkins.services import ScheduleRow
from counselor.consent import services as consent
from counselor.consent.services import PartnerConsent
from counselor.core import audit
from counselor.learning import services as learning
from counselor.learning.models import Resource
from counselor.questionnaires import homework
from counselor.questionnaires import services as questionnaires
from counselor.questionnaires.homework import Homework
from counselor.questionnaires.models import Assignment
from counselor.reports import services as reports
from counselor.reports.models import Export
from counselor.steps import views as steps


@dataclass
class CasePage:
    """The case page: the case (partners, sessions) and each feature's panel."""

    case: Case
    #: the pairs of the relationship map, each in case order, the first partner's first
    related: list[tuple[Partner, Partner]]
    #: homework, newest first, with each assigned partner's status
    assignments: list[Homework]
    #: screening alerts still open (one card per response, the most pressing first)
    open_alerts: list[AlertCard]
    #: closed alert cards with their notes (the history)
    closed_alerts: list[AlertCard]
    #: the case's PDF exports, newest first
    exports: list[Export]
    #: per partner: their home, the state of its link, last opened, mail opt-out
    homes: list[HomeRow]
    #: the case's agreements, each with its state (pauses first)
    agreements: list[CounselorView]
    #: per partner id: where they stand with the practice's consent text
    consent: dict[uuid.UUID, PartnerConsent]
    #: how far the case's ladders of steps are
    steps: steps.CaseSummary
    #: check-in schedules with their next date (running ones first)
    schedules: list[ScheduleRow]


@dataclass
class SessionPage:
    """A counseling session's page: the session and its PDF exports."""

    case: Case
    session: CounselingSession
    exports: list[Export]


@dataclass
class AssignmentPage:
    """The counselor's page of one assignment: its status and answers, and its open alerts."""

    case: Case
    assignment: Assignment
    view: list[questionnaires.PartnerColumn]
    open_alerts: list[AlertCard]
    #: resources attached for its partners (None: not the learning-together exercise)
    resources: list[Resource] | None = None


def caseload(counselor: Counselor, query: str, status: str, page: int) -> cases.CaseloadPage:
    """One page of the caseload; cases with an open alert or a clause a partner paused lead
    it, pauses and urgent alerts first."""
    flagged = alerts.caseload_alert_flags(counselor.id)
    for case_id, flag in agreements.caseload_pause_flags(counselor).items():
        # (0, "pause") sorts before (0, "urgent"): a pause is the flag the badge names
        if case_id not in flagged or flag < flagged[case_id]:
            flagged[case_id] = flag
    listing = cases.caseload_page(counselor, query, status, page, flagged)
    audit.record("caseload.view", "counselor", counselor.id)
    return listing


#: what the case page reads with the case, for ``get_case_or_404(..., load=CASE_PAGE_LOAD)``:
#: its sessions in the case's statement (the case row repeats per session), then one more
#: statement for the partners with their homes and the relationship map (a partner has one
#: home and leads at most five pairs, so its rows do not multiply). The template then reads
#: nothing, and the panels that need the partners find them loaded.
CASE_PAGE_LOAD = (
    joinedload(Case.sessions),
    selectinload(Case.partners).options(joinedload(Partner.home), joinedload(Partner.pairs_led)),
)


def case_page(case: Case) -> CasePage:
    """Everything the case page shows besides the case's own rows (the case as looked up with
    ``CASE_PAGE_LOAD``)."""
    audit.record("case.view", "case", case.id)
    open_alerts, closed_alerts = alerts.case_alert_cards(case)
    by_id = {p.id: p for p in case.partners}
    return CasePage(
        case=case,
        related=[
            (a, by_id[r.partner_b_id])
            for a in case.partners
            for r in sorted(a.pairs_led, key=lambda r: by_id[r.partner_b_id].position)
        ],
        open_alerts=open_alerts,
        assignments=homework.case_homework(case),
        closed_alerts=closed_alerts,
        exports=reports.case_exports(case),
        homes=homes_.case_homes(case),
        agreements=agreements.case_agreements(case),
        consent={c.partner.id: c for c in consent.case_status(case)},
        steps=steps.case_summary(case),
        schedules=checkins.case_schedules(case),
    )


def session_page(case: Case, session: CounselingSession) -> SessionPage:
    """A session's page: the session and the exports made of it."""
    audit.record("session.view", "counseling_session", session.id)
    return SessionPage(case, session, reports.case_exports(case, session.id))


def assignment_page(case: Case, assignment: Assignment) -> AssignmentPage:
    """An assignment's status per partner, each partner's answers, and its open alert cards."""
    audit.record("assignment.view", "assignment", assignment.id)
    return AssignmentPage(
        case=case,
        assignment=assignment,
        view=questionnaires.assignment_view(assignment),
        open_alerts=[
            card
            for card in alerts.open_alert_cards(case)
            if card.first.assignment_id == assignment.id
        ],
        resources=learning.attached("assignment", assignment.id)
        if learning.is_learning(assignment)
        else None,
    )

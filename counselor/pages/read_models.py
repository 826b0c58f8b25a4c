"""What each composed page shows, gathered from the features' services; reads are audited here.

The functions add their audit event and load every row the page renders, in a fixed number of
statements whatever the size of the case (``tests/test_statement_counts.py``); the view
commits once, then renders.
"""

from __future__ import annotations

from dataclasses import dataclass

from counselor.agreements import views as agreements
from counselor.alerts import services as alerts
from counselor.alerts.services import AlertCard
from counselor.auth.models import Counselor
from counselor.cases import caseload
from counselor.cases.models import Case, CounselingSession
from counselor.core import audit
from counselor.core.text import escaped_all
from counselor.core.urls import paged_url, urls_of
from counselor.learning import services as learning
from counselor.learning.models import Resource
from counselor.questionnaires import services as questionnaires
from counselor.questionnaires.models import Assignment
from counselor.reports import services as reports
from counselor.reports.models import Export


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


#: what leads the caseload: a clause a partner paused (code 0), then open alerts by severity
#: (code 1 + the severity's rank); kinds[code] is (rank, kind). A pause names the badge over
#: any alert and leads as an urgent alert does.
CASELOAD_FLAGS = caseload.Flags(
    (agreements.CASELOAD_PAUSES, alerts.caseload_alerts(1)),
    ((0, "pause"), *sorted((rank, kind) for kind, rank in alerts.SEVERITY_RANK.items())),
)


def caseload_page(
    counselor: Counselor, query: str, status: str, page: int
) -> caseload.CaseloadPage:
    """One page of the caseload; cases with an open alert or a clause a partner paused lead
    it, pauses and urgent alerts first. The flags are asked in the page's own statement."""
    listing = caseload.caseload_page(
        counselor, query, status, page, CASELOAD_FLAGS, ("caseload.view", "counselor", counselor.id)
    )
    cases = listing.cases
    texts: list[str] = []
    links = urls_of("cases.show", "case_id", [case.key for case in cases])
    for case, url in zip(cases, links, strict=True):
        texts += (url, case.label, case.flag[1] if case.flag else "", case.who, case.when)
    # escaped here for the whole page in one call: the template prints the rows as they are
    shown = iter(escaped_all(texts))
    listing.rows = [
        (url, label, case.status == "archived", kind or None, who, when)
        for case, (url, label, kind, who, when) in zip(
            cases, zip(shown, shown, shown, shown, shown, strict=True), strict=True
        )
    ]
    if listing.pages > 1:
        page_url = paged_url("cases.index", q=query or None, status=status)
        numbers = range(1, listing.pages + 1)
        links = escaped_all(list(map(page_url, numbers)))
        listing.page_links = list(zip(numbers, links, strict=True))
    return listing


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

"""A case's mark as maybe flagged (``case.maybe_flagged``, counselor.cases.flags: the caseload
asks the flags of marked cases only) when a flag opens on a case while another of its flags
closes, on PostgreSQL.

Each side is a thread with its own app context, hence its own database session and
connection (tests/test_last_session_race.py's pattern); a barrier starts them together. Two
races, each on a fresh case: an alert raised while another alert of the case is
acknowledged, and a clause paused in one agreement while a pause of another agreement of the
case is lifted. After each try the case, which has an open flag, must be marked and lead its
counselor's caseload with its badge: without the case's row lock the close decided that no
flag was left on what it could see, and cleared the mark after the raise had set it.
"""

from __future__ import annotations

from flask import current_app

from counselor.agreements import queries
from counselor.agreements import services as agreements
from counselor.agreements.models import Agreement, ClausePause
from counselor.alerts import services as alerts
from counselor.alerts.models import Alert
from counselor.auth.models import Counselor
from counselor.cases.models import Case
from counselor.extensions import db
from counselor.pages import read_models
from counselor.questionnaires.models import Assignment
from tests.support import PG_URL, assign, new_case, service_unavailable, sync
from tests.support.agreements import agree_all, published_agreement
from tests.test_last_session_race import _together

#: tries per race
TRIES = 25


def _leads(account, case_id, kind: str) -> str | None:
    """What is wrong after a try: the case unmarked, or not first on the caseload with its
    badge; None when it leads."""
    db.session.expire_all()
    if not db.session.get(Case, case_id).maybe_flagged:
        return f"case {case_id} has an open flag but is not marked"
    owner = db.session.get(Counselor, account.id)
    with current_app.test_request_context():
        first = read_models.caseload_page(owner, "", "active", 1).cases[0]
    db.session.rollback()
    if first.id != case_id or first.flag is None or first.flag[1] != kind:
        return f"case {case_id} does not lead with {kind!r}: {first.label} {first.flag}"
    return None


def _alerted(account, n: int) -> tuple:
    """A case with an open alert on one assignment and a second assignment to raise one on."""
    case = new_case(account, f"Alert race {n}")
    first, _ = assign(case, "intake")
    second, _ = assign(case, "intake")
    alert = alerts.raise_rule_alert(first, first.responses[0], "steps.pace", "review")
    db.session.commit()
    return case.id, alert.id, second.id


def _acknowledge(alert_id):
    def action():
        alerts.acknowledge(db.session.get(Alert, alert_id), "Talked it through.")

    return action


def _raise(assignment_id):
    def action():
        assignment = db.session.get(Assignment, assignment_id)
        alerts.raise_rule_alert(assignment, assignment.responses[0], "steps.pace", "urgent")

    return action


def test_an_alert_raised_while_another_is_acknowledged_keeps_its_case_leading(app, counselor_a):
    if not PG_URL:
        service_unavailable("PostgreSQL (COUNSELOR_TEST_DATABASE_URL) for the race test")
    sync()
    new_case(counselor_a, "Anyone else")  # a case the flagged one must come before
    wrong = []
    for n in range(TRIES):
        case_id, alert_id, assignment_id = _alerted(counselor_a, n)
        _together(app, _acknowledge(alert_id), _raise(assignment_id))
        wrong += filter(None, [_leads(counselor_a, case_id, "urgent")])
        # close the try's flags, so the next case is the one that must lead
        for open_alert in db.session.query(Alert).filter_by(case_id=case_id, acknowledged_at=None):
            alerts.acknowledge(open_alert, "Done.")
        db.session.commit()
    assert not wrong, f"{len(wrong)} of {TRIES} tries: {wrong[:3]}"


def _paused(account, n: int) -> tuple:
    """A case with two agreements in force, a clause of the first paused."""
    case = new_case(account, f"Pause race {n}")
    first, second = (published_agreement(case), published_agreement(case))
    agree_all(first)
    agree_all(second)
    sam = case.partners[0]
    pause = agreements.pause(first, sam, queries.in_force(first).clauses[0]["key"])
    db.session.commit()
    return case.id, sam.id, first.id, pause.id, second.id


def _lift(agreement_id, partner_id, pause_id):
    def action():
        agreement = db.session.get(Agreement, agreement_id)
        partner = next(p for p in agreement.case.partners if p.id == partner_id)
        agreements.lift(agreement, partner, pause_id)

    return action


def _pause(agreement_id, partner_id):
    def action():
        agreement = db.session.get(Agreement, agreement_id)
        partner = next(p for p in agreement.case.partners if p.id == partner_id)
        agreements.pause(agreement, partner, queries.in_force(agreement).clauses[0]["key"])

    return action


def test_a_clause_paused_while_another_pause_is_lifted_keeps_its_case_leading(app, counselor_a):
    if not PG_URL:
        service_unavailable("PostgreSQL (COUNSELOR_TEST_DATABASE_URL) for the race test")
    sync()
    new_case(counselor_a, "Anyone else")
    wrong = []
    for n in range(TRIES):
        case_id, sam_id, first_id, pause_id, second_id = _paused(counselor_a, n)
        _together(app, _lift(first_id, sam_id, pause_id), _pause(second_id, sam_id))
        wrong += filter(None, [_leads(counselor_a, case_id, "pause")])
        for still in db.session.query(ClausePause).filter_by(partner_id=sam_id, lifted_at=None):
            _lift(still.agreement_id, sam_id, still.id)()
        db.session.commit()
    assert not wrong, f"{len(wrong)} of {TRIES} tries: {wrong[:3]}"

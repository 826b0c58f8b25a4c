"""A case with an agreement in force and a ladder of steps, and partners' phones on it (a plain
module, not a conftest)."""

from __future__ import annotations

from dataclasses import dataclass

from counselor.agreements import queries as agreement_queries
from counselor.cases import homes
from counselor.extensions import db
from counselor.steps import services
from tests.support import new_case, open_portal, portal_csrf, questionnaire, sync
from tests.support.agreements import agree_all, published_agreement

#: answers to the built-in debrief that ask for no pause
CALM = {"step.what": "We tried it", "now.feeling": 8, "now.fatigue": 2, "now.anxiety": 1}


@dataclass
class Ladder:
    """The case, its partners, the agreement and a ladder of three open steps."""

    case: object
    sam: object
    alex: object
    agreement: object
    ladder: object
    steps: list


def ladder_case(account, names=("Sam Rivera", "Alex Novak"), partners=None) -> Ladder:
    """A case whose agreement is in force (between ``partners``, default all) with three steps
    under its activity clause, committed."""
    if questionnaire("debrief") is None:
        sync()
    case = new_case(account, "Sam & Alex", names)
    for partner in case.partners:
        partner.email = f"{partner.display_name.split()[0].lower()}@example.org"
    members = partners(case) if partners else case.partners
    agreement = published_agreement(case, partners=members)
    agree_all(agreement)
    key = agreement_queries.in_force(agreement).clauses[1]["key"]
    ladder = services.ladder_at(case, f"{agreement.id}:{key}")
    steps = [
        services.add_step(ladder, what, size)
        for what, size in (
            ("Hold hands while talking about the day", "Five minutes"),
            ("One instruction, then a check-in", "Ten minutes, clothes on"),
            ("A longer scene with the pause word at hand", "Half an hour"),
        )
    ]
    db.session.commit()
    return Ladder(case, case.partners[0], case.partners[1], agreement, ladder, steps)


def phone(app, partner):
    """A test client holding ``partner``'s portal session; (client, portal CSRF token)."""
    token = homes.issue_home_link(partner)
    db.session.commit()
    client = app.test_client()
    assert open_portal(client, f"/h/{token}").status_code == 302
    return client, portal_csrf(client.get("/p/steps").get_data(as_text=True))


def answer_debrief(client, assignment_id, answers: dict) -> None:
    """Answer and send a debrief as the partner of ``client`` (the homework's own URLs)."""
    import re

    from tests.support import revision_of

    base = f"/p/a/{assignment_id}"
    page = client.get(f"{base}/s/1").get_data(as_text=True)
    csrf = portal_csrf(page)
    r = client.post(
        f"{base}/autosave",
        json={"revision": revision_of(page), "answers": answers},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    page = client.get(f"{base}/review").get_data(as_text=True)
    r = client.post(
        f"{base}/submit", data={"csrf_token": portal_csrf(page), "revision": revision_of(page)}
    )
    assert r.status_code == 302, re.sub(r"\s+", " ", r.get_data(as_text=True))[:800]

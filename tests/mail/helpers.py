"""Helpers of the mail tests: homework a partner submits through the portal."""

from __future__ import annotations

from counselor.extensions import db
from tests.conftest import new_case
from tests.questionnaires.conftest import (
    assign_direct,
    autosave,
    load_own,
    open_link,
    portal_csrf,
    revision_of,
    section,
    small_definition,
)

#: comfort 2 of 10 meets this alert rule
ALERT_RULE = {"operator": "<=", "answer": 3, "message": "Low comfort: follow up privately."}


def definition(title: str = "Small check", slug: str = "mail-check", alert: dict | None = None):
    """The small test questionnaire, with an alert rule on its comfort scale if given."""
    doc = small_definition(slug, title=title)
    if alert:
        rate = doc["items"][0]["items"][3]
        assert rate["link_id"] == "one.rate"
        rate["alert"] = alert
    return doc


def homework(account, label="Sam & Alex", names=("Sam Rivera", "Alex Novak"), doc=None):
    """A case of ``account`` with the small questionnaire assigned; (case, assignment, tokens)."""
    case = new_case(account, label, names)
    q = load_own(account, doc or definition())
    assignment, tokens = assign_direct(case, q.slug, owner_id=account.id)
    db.session.commit()
    return case, assignment, tokens


def submit(app, token: str, answers: dict) -> None:
    """A partner opens their link, answers and submits, as in a browser."""
    browser = app.test_client()
    open_link(browser, token)
    _, csrf, revision = section(browser, 1)
    assert autosave(browser, csrf, revision, answers).status_code == 200
    review = browser.get("/p/review").get_data(as_text=True)
    r = browser.post(
        "/p/submit", data={"csrf_token": portal_csrf(review), "revision": revision_of(review)}
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:500]

"""Two saves of one questionnaire at the same moment (two tabs, or two devices) as real
concurrent HTTP requests on PostgreSQL (issue 15). Each save names the version its page
started from, and saves take the questionnaire's row lock: one wins, the other is told
(409), versions stay numbered 1, 2, 3 … and nothing is lost silently or fails with a 500.
"""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from counselor.extensions import db
from counselor.questionnaires.models import QuestionnaireVersion
from counselor.questionnaires.services import load_definition
from tests.reveal.test_release_race import Browser, _csrf, server  # noqa: F401 - the fixture
from tests.support import small_definition
from tests.support.races import at_once

TRIES = 50


def _signed_in(base: str, account) -> Browser:
    browser = Browser(base)
    page = browser.request("/login")[1]
    status, _ = browser.request(
        "/login", {"csrf_token": _csrf(page), "email": account.email, "password": account.password}
    )
    assert status == 302
    return browser


def test_two_saves_at_once_never_both_win_nor_fail(server, app, counselor_a):  # noqa: F811
    questionnaire, _ = load_definition(small_definition("race-build"), counselor_a.id)
    db.session.commit()
    edit = f"/questionnaires/{questionnaire.id}/edit"
    tabs = [_signed_in(server, counselor_a), _signed_in(server, counselor_a)]
    doc = small_definition("race-build")
    outcomes = {"first tab won": 0, "second tab won": 0}
    problems: list[str] = []
    for n in range(TRIES):
        pages = [tab.request(edit)[1] for tab in tabs]
        base = int(
            re.search(r'id="builder-base" name="base" type="hidden" value="(\d+)"', pages[0])[1]
        )

        bodies = [
            {
                "csrf_token": _csrf(pages[k]),
                "definition": json.dumps({**doc, "title": f"Try {n} tab {k}"}),
                "base": base,
                "action": "publish" if n % 2 else "save",
            }
            for k in (0, 1)
        ]

        got = dict(
            enumerate(
                at_once(
                    lambda body=bodies[0]: tabs[0].request(edit, body)[0],
                    lambda body=bodies[1]: tabs[1].request(edit, body)[0],
                )
            )
        )
        if sorted(got.values()) != [302, 409]:
            problems.append(f"try {n}: {got}")
            continue
        winner = 0 if got[0] == 302 else 1
        outcomes[("first", "second")[winner] + " tab won"] += 1
        db.session.expire_all()
        numbers = list(
            db.session.scalars(
                select(QuestionnaireVersion.number)
                .where(QuestionnaireVersion.questionnaire_id == questionnaire.id)
                .order_by(QuestionnaireVersion.number)
            )
        )
        newest = db.session.scalar(
            select(QuestionnaireVersion)
            .where(QuestionnaireVersion.questionnaire_id == questionnaire.id)
            .order_by(QuestionnaireVersion.number.desc())
        )
        db.session.commit()
        if numbers != list(range(1, len(numbers) + 1)) or len(numbers) != base + 1:
            problems.append(f"try {n}: versions {numbers} after a save from {base}")
        if newest.definition.doc["title"] != f"Try {n} tab {winner}":
            problems.append(f"try {n}: the newest version is not the winner's")
    print(f"{TRIES} races: {outcomes}, {len(problems)} violations")
    assert problems == []


def test_two_plain_form_saves_at_once_never_both_win_nor_fail(server, app, counselor_a):  # noqa: F811
    """The same for the builder's plain forms (an item's rules, without JavaScript)."""
    questionnaire, _ = load_definition(small_definition("race-rules"), counselor_a.id)
    db.session.commit()
    rules = f"/questionnaires/{questionnaire.id}/rules?item=one.pace"
    tabs = [_signed_in(server, counselor_a), _signed_in(server, counselor_a)]
    problems: list[str] = []
    for n in range(TRIES // 5):
        pages = [tab.request(rules)[1] for tab in tabs]
        base = int(re.search(r'id="base" name="base" type="hidden" value="(\d+)"', pages[0])[1])
        bodies = [
            {
                "csrf_token": _csrf(pages[k]),
                "base": base,
                "conditions-0-question": "one.ok",
                "conditions-0-operator": "=",
                "conditions-0-answer": ("yes", "no")[(n + k) % 2],
                "alert": "y",
                "alert_operator": "=",
                "alert_answer": "Slower",
                "alert_severity": "review",
                "alert_message": f"Try {n} tab {k}",
            }
            for k in (0, 1)
        ]

        got = dict(
            enumerate(
                at_once(
                    lambda body=bodies[0]: tabs[0].request(rules, body)[0],
                    lambda body=bodies[1]: tabs[1].request(rules, body)[0],
                )
            )
        )
        if sorted(got.values()) != [302, 409]:
            problems.append(f"try {n}: {got}")
            continue
        winner = 0 if got[0] == 302 else 1
        db.session.expire_all()
        newest = db.session.scalar(
            select(QuestionnaireVersion)
            .where(QuestionnaireVersion.questionnaire_id == questionnaire.id)
            .order_by(QuestionnaireVersion.number.desc())
        )
        db.session.commit()
        if newest.number != base + 1:
            problems.append(f"try {n}: version {newest.number} after a save from {base}")
        pace = newest.definition.doc["items"][0]["items"][2]
        if pace["alert"]["message"] != f"Try {n} tab {winner}":
            problems.append(f"try {n}: the newest version is not the winner's")
    assert problems == []

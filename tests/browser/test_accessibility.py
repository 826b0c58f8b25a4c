"""Accessibility, measured (issue 9 §9): axe-core (WCAG 2.2 A and AA rules) on every portal page
and on the caseload, case, assign, comparison and export pages; focus rings, target sizes.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from counselor.extensions import db
from tests.browser.conftest import PHONE, assign_own, sign_in
from tests.browser.test_portal import PHONE_DOC, choose, open_section_one
from tests.conftest import new_case
from tests.reveal.helpers import small_alert_definition

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def axe_violations(page) -> list[str]:
    """axe-core's violations of the WCAG 2.2 A and AA rules on the page as it is now."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        pytest.skip("axe-playwright-python not installed (pip install -e '.[test]')")
    page.wait_for_load_state("load")
    results = Axe().run(
        page,
        options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]},
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(
            f"{', '.join(n['target'])} [{(n.get('failureSummary') or '').splitlines()[-1:]}]"
            for n in v["nodes"][:4]
        )
        for v in results.response["violations"]
    ]


def check(page, where: str, seen: dict) -> None:
    seen[where] = axe_violations(page)


def test_axe_finds_no_wcag_violation_on_the_portal(app, live_server, new_context, counselor_a):
    case = new_case(counselor_a)
    _, tokens = assign_own(counselor_a, case, small_alert_definition("axe-portal"))
    seen: dict[str, list[str]] = {}
    for options, label in (
        (PHONE, "phone"),
        ({"viewport": {"width": 1280, "height": 900}}, "desk"),
    ):
        context, _ = new_context(live_server, **options)
        page = context.new_page()
        page.goto(f"/l/{tokens['Sam Rivera' if label == 'phone' else 'Alex Novak']}")
        check(page, f"{label} landing", seen)
        page.get_by_role("button", name="Open my homework").click()
        expect(page).to_have_url(re.compile(r"/p/$"))
        check(page, f"{label} overview", seen)
        page.goto("/p/s/1")
        check(page, f"{label} section", seen)
        page.goto("/p/review")
        check(page, f"{label} review", seen)
    for where, found in seen.items():
        print(where, found)
    assert {w: v for w, v in seen.items() if v} == {}


def test_axe_sees_a_violation_when_there_is_one(app, live_server, new_context):
    """The measurement can fail: a page with an unlabelled input and low contrast is caught."""
    context, _ = new_context(live_server)
    page = context.new_page()
    page.goto("/login")
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend',"
        ' \'<input id="bare"><p id="faint">faint text</p>\');'
        "document.getElementById('faint').style.color = '#aaa';"  # CSSOM: allowed by the CSP
    )
    found = " ".join(axe_violations(page))
    assert "label" in found and "color-contrast" in found


def test_axe_finds_no_wcag_violation_on_counselor_pages(app, live_server, new_context, counselor_a):
    from datetime import date
    from datetime import time as clock

    from counselor.cases.services import save_session
    from counselor.reports.services import request_export

    case = new_case(counselor_a)
    assignment, tokens = assign_own(counselor_a, case, PHONE_DOC)
    session = save_session(
        case,
        {
            "date": date(2026, 11, 20),
            "time": clock(14, 0),
            "duration_minutes": 50,
            "agenda": "Pace",
            "notes": "Note",
            "next_steps": "Aftercare",
        },
    )
    db.session.flush()
    export = request_export(case, "clinical", case.sessions[0], None)
    db.session.commit()
    # a partner answers, so the comparison has something in it
    partner, _ = new_context(live_server, **PHONE)
    ppage = open_section_one(partner, tokens["Sam Rivera"])
    choose(ppage, "talk.fantasies", "Yes", tap=True)
    expect(ppage.locator("#autosave-status")).to_contain_text("Saved")

    seen: dict[str, list[str]] = {}
    for options, label in (
        (PHONE, "phone"),
        ({"viewport": {"width": 1280, "height": 900}}, "desk"),
    ):
        context, _ = new_context(live_server, **options)
        page = context.new_page()
        sign_in(page, counselor_a)
        check(page, f"{label} caseload", seen)
        for where, path in (
            ("case", f"/cases/{case.id}"),
            ("assign", f"/cases/{case.id}/assign"),
            ("assignment", f"/cases/{case.id}/assignments/{assignment.id}"),
            ("comparison", f"/cases/{case.id}/assignments/{assignment.id}/compare"),
            ("export", f"/cases/{case.id}/exports/{export.id}"),
        ):
            page.goto(path)
            check(page, f"{label} {where}", seen)
    del session
    for where, found in seen.items():
        print(where, found)
    assert {w: v for w, v in seen.items() if v} == {}

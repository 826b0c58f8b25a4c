"""Check-ins and trends in a real browser: the counselor schedules weekly check-ins on a phone,
sees the next date, pauses with one tap; axe-core finds no WCAG 2.2 A/AA violation on the
case page, the schedule form and the trends page (phone and desk)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from counselor.checkins.models import Schedule
from counselor.extensions import db
from tests.browser.test_accessibility import DESK, axe_violations
from tests.checkins.test_trends import _check_ins, _positions
from tests.support import new_case
from tests.support.browser import PHONE, sign_in_page
from tests.support.library import sync


def test_scheduling_and_pausing_check_ins_and_reading_trends(
    app, live_server, new_context, counselor_a
):
    sync()
    case = new_case(counselor_a)
    sam, alex = _positions(case)
    _check_ins(
        case,
        [
            {sam: {"wellbeing.anxiety": 2}, alex: {"wellbeing.anxiety": 4}},
            {sam: {"wellbeing.anxiety": 3}, alex: {"wellbeing.anxiety": 4}},
        ],
    )
    seen: dict[str, list[str]] = {}
    for options, label in ((PHONE, "phone"), (DESK, "desk")):
        context, _ = new_context(live_server, **options)
        page = context.new_page()
        sign_in_page(page, counselor_a)
        page.goto(f"/cases/{case.id}/schedules/new")
        seen[f"{label} form"] = axe_violations(page)
        if label == "phone":
            page.get_by_label("Every (number)").fill("2")
            page.get_by_role("button", name="Schedule").click()
            expect(page).to_have_url(re.compile(rf"/cases/{case.id}#checkins-h$"))
            expect(page.locator(".case-checkins")).to_contain_text("every 2 weeks from")
            expect(page.locator(".case-checkins")).to_contain_text("Next: ")
        page.goto(f"/cases/{case.id}")
        if label == "phone":
            page.get_by_role("button", name="Pause").click()
            expect(page.locator(".case-checkins")).to_contain_text("Paused")
            expect(page.get_by_role("button", name="Resume")).to_be_visible()
        seen[f"{label} case"] = axe_violations(page)
        page.get_by_role("link", name="Trends").click()
        expect(page.get_by_role("img", name=re.compile("Sam Rivera: How anxious"))).to_be_visible()
        seen[f"{label} trends"] = axe_violations(page)
        context.close()
    db.session.expire_all()
    assert db.session.query(Schedule).one().status == "paused"
    assert {w: v for w, v in seen.items() if v} == {}

"""A long comparison in the browser (issue 16): the overview, a section's page and a partner's
preview, at phone width and on a desk, with no WCAG 2.2 A/AA violation (axe-core) and no CSP
violation, reached from each other by keyboard-reachable links. COUNSELOR_SCREENSHOTS=<dir>
keeps a full-page PNG of each."""

from __future__ import annotations

import os
import re

from playwright.sync_api import expect

from tests.browser.test_accessibility import SCREENS, axe_violations
from tests.support import INVENTORY, inventory_answers, new_case, submitted, sync
from tests.support.browser import sign_in_page


def test_overview_section_and_preview_pages_are_accessible(
    app, live_server, new_context, counselor_a
):
    sync()
    case = new_case(counselor_a, "Couple", ("Sam Rivera", "Alex Novak"))
    assignment = submitted(app, case, INVENTORY, inventory_answers())
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    shots = os.environ.get("COUNSELOR_SCREENSHOTS")
    seen: dict[str, list[str]] = {}
    for options, label in SCREENS:
        context, rec = new_context(live_server, **options)
        page = context.new_page()
        sign_in_page(page, counselor_a)
        page.goto(base + "/compare")
        expect(page.get_by_role("heading", name="Needs attention first")).to_be_visible()
        expect(page.locator("td.cell")).to_have_count(0)
        seen[f"{label} overview"] = axe_violations(page)
        if shots:
            page.screenshot(path=f"{shots}/compare-overview-{label}.png", full_page=True)
        # a section's page from the overview's list
        page.get_by_role("link", name=re.compile(r"^3\. ")).first.click()
        expect(page.get_by_role("heading", name="Desires by pair")).to_be_visible()
        expect(page.locator("td.cell").first).to_be_visible()
        # a row's answers are a link away, on the same page
        page.get_by_role("link", name=re.compile("Answers and notes")).first.click()
        expect(page.locator(".answer-block:target")).to_have_count(1)
        seen[f"{label} section"] = axe_violations(page)
        if shots:
            page.screenshot(path=f"{shots}/compare-section-{label}.png", full_page=True)
        # each partner's preview from the release controls
        page.get_by_role("link", name="Sharing, previews and release").click()
        page.get_by_role("link", name="What Alex Novak will see").click()
        expect(page.get_by_role("heading", name="What Alex Novak will see")).to_be_visible()
        # the inventory's result is long: the preview opens with its sections, as the
        # partner's page does
        expect(page.get_by_role("heading", name="Section by section")).to_be_visible()
        seen[f"{label} preview"] = axe_violations(page)
        if shots:
            page.screenshot(path=f"{shots}/compare-preview-{label}.png", full_page=False)
        page.get_by_role("link", name="Back to release").first.click()
        expect(page.get_by_role("button", name="Release to the partners")).to_be_visible()
        assert rec.csp_messages() == [] and rec.errors == []
    assert {w: v for w, v in seen.items() if v} == {}

"""A long "What you share" in the browser (issue 16): six partners' inventory on a phone opens
with the sections that have shared items, one section a page with the next one a tap away,
and the counselor's preview at a desk pages the same way; no WCAG 2.2 A/AA violation (axe-core)
and no CSP violation. COUNSELOR_SCREENSHOTS=<dir> keeps a full-page PNG of each."""

from __future__ import annotations

import os
import re

from playwright.sync_api import expect

from counselor.extensions import db
from counselor.questionnaires.services import reissue
from tests.browser.test_accessibility import DESK, axe_violations
from tests.support import INVENTORY, inventory_answers, new_case, submitted, sync
from tests.support.browser import PHONE, sign_in_page


def test_a_long_shared_page_and_its_preview_go_section_by_section(
    app, live_server, new_context, counselor_a, client_a
):
    sync()
    case = new_case(counselor_a, "Six", ("Ana", "Ben", "Cas", "Dee", "Eli", "Fay"))
    assignment = submitted(app, case, INVENTORY, inventory_answers())
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    assert client_a.post(base + "/release", data={"confirm": "y"}).status_code == 302
    ana = case.partners[0]
    token = reissue(assignment, ana.id).token
    db.session.commit()
    shots = os.environ.get("COUNSELOR_SCREENSHOTS")
    seen: dict[str, list[str]] = {}

    context, rec = new_context(live_server, **PHONE)
    page = context.new_page()
    page.goto(f"/l/{token}")
    page.get_by_role("button", name="Open my homework").click()
    page.get_by_role("link", name="See what you share").click()
    expect(page.get_by_role("heading", name="Section by section")).to_be_visible()
    expect(page.locator(".shared-item")).to_have_count(0)
    seen["phone contents"] = axe_violations(page)
    if shots:
        page.screenshot(path=f"{shots}/shared-contents-phone.png", full_page=True)
    first = page.locator(".shared-section-list a").first
    title = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    expect(page.locator(".shared-item").first).to_be_visible()
    seen["phone section"] = axe_violations(page)
    if shots:
        page.screenshot(path=f"{shots}/shared-section-phone.png", full_page=True)
    # the next section is a tap away, and the first page one more
    page.locator(".shared-pager a").last.click()
    expect(page).to_have_url(re.compile(r"\?section=\d+$"))
    page.get_by_role("link", name="What you share").click()
    expect(page.get_by_role("heading", name="Section by section")).to_be_visible()
    assert rec.csp_messages() == [] and rec.errors == []

    context, rec = new_context(live_server, **DESK)
    page = context.new_page()
    sign_in_page(page, counselor_a)
    page.goto(f"{base}/partners/{ana.id}/preview")
    expect(page.get_by_role("heading", name="What Ana sees")).to_be_visible()
    expect(page.locator(".shared-item")).to_have_count(0)
    seen["desk preview contents"] = axe_violations(page)
    if shots:
        page.screenshot(path=f"{shots}/shared-preview-contents-desk.png", full_page=True)
    page.get_by_role("link", name=title).click()
    expect(page.locator(".shared-item").first).to_be_visible()
    seen["desk preview section"] = axe_violations(page)
    if shots:
        page.screenshot(path=f"{shots}/shared-preview-section-desk.png", full_page=True)
    assert rec.csp_messages() == [] and rec.errors == []
    assert {w: v for w, v in seen.items() if v} == {}

"""The demo couple's case and comparison pages in a real browser (issue 9 §2, §5, §8): the
alert card with the partner's answer, the release panel's second confirmation naming the open
alert, and the per-partner preview, with no CSP violation."""

from __future__ import annotations

import os
import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from tests.support.browser import sign_in_page

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_demo_case_and_compare_pages_show_alerts_release_check_and_preview(app, serve, new_context):
    live = serve()
    result = live.app.test_cli_runner().invoke(args=["demo"])
    email, password = re.search(r"Demo login: (\S+) / (\S+)", result.output).groups()
    context, rec = new_context(live)
    page = context.new_page()
    sign_in_page(page, SimpleNamespace(email=email, password=password))
    expect(page.locator(".case-alert-flag").first).to_be_visible()
    shots = os.environ.get("COUNSELOR_SCREENSHOTS")
    if shots:
        page.screenshot(path=f"{shots}/caseload.png", full_page=True)
    page.get_by_role("link", name=re.compile("Sam & Alex")).click()
    # the intake's screening answer, Sam's debrief of step 3 that paused step 4, and the
    # anxiety rising over Sam's weekly check-ins
    card = page.locator(".alert-card")
    expect(card).to_have_count(3)
    expect(card.filter(has_text="Sam Rivera answered: A little")).to_have_count(1)
    expect(card.filter(has_text="the next step is paused")).to_have_count(1)
    expect(card.filter(has_text="Consent check-in")).to_have_count(1)
    if shots:
        page.screenshot(path=f"{shots}/case.png", full_page=True)

    # the intake is open for release: its second confirmation names the alert
    page.get_by_role("link", name="Getting started: intake").first.click()
    page.get_by_role("link", name=re.compile("Compare")).first.click()
    expect(page.locator(".release-alert-list")).to_contain_text("Sam Rivera")
    expect(page.get_by_label(re.compile("still want to release"))).to_be_visible()
    if shots:
        page.screenshot(path=f"{shots}/compare.png", full_page=True)
    # each partner's preview is a page of its own, linked from the release controls
    page.get_by_role("link", name="What Sam Rivera will see").click()
    expect(page.get_by_role("heading", name="What Sam Rivera will see")).to_be_visible()
    if shots:
        page.screenshot(path=f"{shots}/preview.png", full_page=True)
    assert rec.csp_messages() == [] and rec.errors == []

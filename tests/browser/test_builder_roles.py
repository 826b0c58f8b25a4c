"""The builder's roles of a desire item, in a real browser: a counselor adds a role, pairs or
unpairs roles (giving completes receiving; a shared role completes nothing) and removes one;
what is saved is what the page showed, and a removed role is nobody's counterpart any more."""

from __future__ import annotations

import os

from playwright.sync_api import expect
from sqlalchemy import select

from counselor.extensions import db
from counselor.questionnaires.models import Questionnaire
from tests.browser.test_accessibility import DESK, axe_violations
from tests.browser.test_builder import CHECK_MS, SHOTS_ENV
from tests.support import sync
from tests.support.browser import sign_in_page


def _roles(item):
    return item.locator("fieldset").filter(has_text="Roles (each partner answers per role)")


def test_a_desire_items_roles_are_added_paired_and_removed(
    app, live_server, new_context, counselor_a, tmp_path
):
    sync()
    context, rec = new_context(live_server, **DESK)
    page = context.new_page()
    sign_in_page(page, counselor_a)
    page.goto("/questionnaires")
    page.get_by_role("button", name="New questionnaire").click()
    item = page.locator(".b-section .b-list .b-item").first
    item.locator(".b-toggle").click()  # open the first question
    item.get_by_label("Kind of question").select_option("desire")
    item = page.locator(".b-section .b-list .b-item").first
    roles = _roles(item)
    # a new desire item starts as giving and receiving, each completing the other
    expect(roles.get_by_label("Role 1", exact=True)).to_have_value("Giving")
    expect(roles.get_by_label("Role 2", exact=True)).to_have_value("Receiving")
    expect(roles.get_by_label("Completed by").first).to_have_value("receiving")

    # a third, shared role
    roles.get_by_role("button", name="Add a role").click()
    roles = _roles(page.locator(".b-section .b-list .b-item").first)
    roles.get_by_label("Role 3", exact=True).fill("Together")
    roles.get_by_label("Stored as").nth(2).fill("together")
    expect(roles.get_by_label("Completed by").nth(2)).to_have_value("")
    # renaming a role's key keeps its pairing
    roles.get_by_label("Stored as").nth(1).fill("taking")
    expect(roles.get_by_label("Completed by").first).to_have_value("taking")

    # removing "Receiving" leaves "Giving" unpaired, not pointing at a role that is gone
    roles.get_by_role("button", name="Remove role 2").click()
    roles = _roles(page.locator(".b-section .b-list .b-item").first)
    expect(roles.get_by_label("Role 2", exact=True)).to_have_value("Together")
    expect(roles.get_by_label("Completed by").first).to_have_value("")
    # four roles at most: the button goes once there are four
    for _ in range(2):
        roles.get_by_role("button", name="Add a role").click()
        roles = _roles(page.locator(".b-section .b-list .b-item").first)
    expect(roles.get_by_role("button", name="Add a role")).to_have_count(0)
    roles.get_by_role("button", name="Remove role 4").click()
    roles.get_by_role("button", name="Remove role 3").click()
    roles = _roles(page.locator(".b-section .b-list .b-item").first)
    # pair giving with the other role: the pair is two-way, as the validator asks
    with page.expect_response(lambda r: r.url.endswith("/check")):
        roles.get_by_label("Completed by").first.select_option("together")
    roles = _roles(page.locator(".b-section .b-list .b-item").first)
    expect(roles.get_by_label("Completed by").nth(1)).to_have_value("giving")
    expect(page.locator("#builder-check")).to_have_text(
        "No problems: ready to save.", timeout=CHECK_MS
    )
    page.screenshot(path=f"{os.environ.get(SHOTS_ENV) or tmp_path}/builder-roles-1280.png")
    assert axe_violations(page) == []

    page.get_by_role("button", name="Save and publish").click()
    expect(page.get_by_text("Published version")).to_be_visible()
    db.session.expire_all()
    mine = db.session.scalar(select(Questionnaire).where(Questionnaire.owner_id == counselor_a.id))
    saved = mine.latest.definition.doc["items"][0]["items"][0]
    assert saved["type"] == "desire"
    assert saved["roles"] == [
        {"key": "giving", "label": "Giving", "counterpart": "together"},
        {"key": "together", "label": "Together", "counterpart": "giving"},
    ]
    assert not rec.errors, rec.errors
    assert rec.csp_messages() == [] and page.evaluate("window.__cspViolations") == []

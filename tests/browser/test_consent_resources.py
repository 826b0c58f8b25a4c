"""Informed consent and the resource library in a real browser (issue 14): axe-core finds no
WCAG 2.2 A/AA violation on the new pages at 390 and 1280 px, the partner acknowledges the
consent text by keyboard and mouse, and the partner's home loads nothing from elsewhere.
Screenshots go to COUNSELOR_SCREENSHOTS when set (else the test's tmp_path)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import expect

from counselor.extensions import db
from counselor.learning import services as learning
from counselor.learning.models import Resource
from tests.browser.test_accessibility import DESK, axe_violations
from tests.support import assign, make_account, new_case, sync
from tests.support.browser import PHONE, sign_in_page


def _shots(tmp_path) -> Path:
    folder = Path(os.environ.get("COUNSELOR_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_consent_and_resource_pages_in_a_browser(
    app, live_server, new_context, counselor_a, tmp_path
):
    shots = _shots(tmp_path)
    admin = make_account("admin@example.org", "Practice Admin", admin=True)
    sync()
    case = new_case(counselor_a, "Sam & Alex & Kai", ("Sam Rivera", "Alex Novak", "Kai Ito"))
    intake, intake_tokens = assign(case, "intake")
    learning_hw, tokens = assign(case, "learning-together")
    learning.seed_starter(counselor_a.id)
    db.session.add(
        Resource(
            owner_id=counselor_a.id,
            title="Consent workshop, spring term",
            source="Our local community centre",
            url="https://example.org/workshop",
            note="Two evenings on asking for what you want and hearing a no.",
        )
    )
    db.session.flush()
    everything = learning.library_of(counselor_a.id)
    picked = [r.id for r in everything[:2]] + [r.id for r in everything if r.url]
    learning.set_attached(case, "assignment", learning_hw.id, picked)
    db.session.commit()

    seen: dict[str, list[str]] = {}
    for options, label, name in ((PHONE, "390", "Sam Rivera"), (DESK, "1280", "Alex Novak")):
        # the partner: the home with its cards, the consent page, acknowledged by typing
        context, rec = new_context(live_server, **options)
        page = context.new_page()
        page.goto(f"/l/{intake_tokens[name]}")
        page.get_by_role("button").filter(has_text=re.compile("Open|Continue|Start")).first.click()
        expect(page).to_have_url(re.compile(r"/p/consent$"))
        seen[f"{label} portal consent"] = axe_violations(page)
        page.screenshot(path=str(shots / f"consent-portal-{label}.png"), full_page=True)
        page.goto("/p/home")
        expect(page.get_by_text("To read and explore together")).to_be_visible()
        seen[f"{label} portal home"] = axe_violations(page)
        page.screenshot(path=str(shots / f"resources-home-{label}.png"), full_page=True)
        outside = [u for u in rec.urls if not u.startswith(live_server.url)]
        assert outside == [], outside
        if label == "390":
            page.goto("/p/consent")
            page.get_by_label("Type your name").fill("Sam Rivera")
            page.get_by_role("button", name="I have read this and agree").click()
            expect(page.get_by_text("Getting started: intake").first).to_be_visible()

        # the counselor: library, edit, attach, assignment, consent record, new agreement
        context, _ = new_context(live_server, **options)
        page = context.new_page()
        sign_in_page(page, counselor_a)
        own = learning.library_of(counselor_a.id)[0]
        for where, path in (
            ("resources", "/resources"),
            ("resource-edit", f"/resources/{own.id}/edit"),
            ("attach", f"/cases/{case.id}/assignments/{learning_hw.id}/resources"),
            ("assignment", f"/cases/{case.id}/assignments/{learning_hw.id}"),
            ("case", f"/cases/{case.id}"),
            ("consent-record", f"/cases/{case.id}/consent"),
            ("agreement-new", f"/cases/{case.id}/agreements/new"),
        ):
            page.goto(path)
            seen[f"{label} {where}"] = axe_violations(page)
            page.screenshot(path=str(shots / f"{where}-{label}.png"), full_page=True)

        # the practice admin: the consent text
        context, _ = new_context(live_server, **options)
        page = context.new_page()
        sign_in_page_admin(page, admin)
        page.goto("/admin/practice/consent")
        seen[f"{label} consent text"] = axe_violations(page)
        page.screenshot(path=str(shots / f"consent-text-{label}.png"), full_page=True)
    assert {w: v for w, v in seen.items() if v} == {}


def sign_in_page_admin(page, account) -> None:
    """Sign in as the practice admin (who lands on the accounts page, not the caseload)."""
    page.goto("/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/counselors$"))

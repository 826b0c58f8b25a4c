"""Accessibility, measured (issue 9 §9): axe-core (WCAG 2.2 A and AA rules) on every portal page
and on the caseload, case, assign, comparison and export pages; focus rings, target sizes.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from counselor.extensions import db
from tests.browser.test_portal import PHONE_DOC, choose, open_section_one
from tests.support import assign, load_own, new_case, small_alert_definition
from tests.support.browser import PHONE, sign_in_page

DESK = {"viewport": {"width": 1280, "height": 900}}
SCREENS = ((PHONE, "phone"), (DESK, "desk"))
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
    _, tokens = assign(case, load_own(counselor_a, small_alert_definition("axe-portal")))
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
        if label == "phone":
            # the pages after sending: thank you, safety resources, own answers
            page.goto("/p/s/1")
            page.locator('label[for="a-check.pushed-3"]').click()
            expect(page.locator("#autosave-status")).to_contain_text("Saved")
            page.goto("/p/review")
            page.get_by_role("button", name="Send to my counselor").click()
            expect(page.get_by_text("If you need support")).to_be_visible()
            check(page, "phone sent, safety resources", seen)
            page.goto("/p/s/1")
            check(page, "phone section, closed", seen)
            page.goto("/p/")
            page.get_by_text("Protect this page with a PIN").click()
            page.get_by_label("PIN", exact=True).fill("4821")
            page.get_by_label("PIN again").fill("4821")
            page.get_by_role("button", name="Set PIN").click()
            check(page, "phone PIN set", seen)
            other, _ = new_context(live_server, **PHONE)
            p2 = other.new_page()
            p2.goto(f"/l/{tokens['Sam Rivera']}")
            p2.get_by_role("button", name="Open my homework").click()
            expect(p2.get_by_role("heading", name="Enter your PIN")).to_be_visible()
            check(p2, "phone PIN asked", seen)
            p2.get_by_label("PIN").fill("0000")
            p2.get_by_role("button", name="Continue").click()
            check(p2, "phone PIN wrong", seen)
            page.get_by_role("button", name="Forget this device").click()
            check(page, "phone forgotten", seen)
            page.goto("/p/")
            check(page, "phone not found", seen)
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
    assignment, tokens = assign(case, load_own(counselor_a, PHONE_DOC))
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
        sign_in_page(page, counselor_a)
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


def _contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    def lum(c):
        ch = [v / 255 for v in c]
        ch = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _rgb(css: str) -> tuple[float, float, float]:
    nums = [float(n) for n in re.findall(r"[\d.]+", css)[:3]]
    return nums[0], nums[1], nums[2]


def test_answer_buttons_are_44_px_and_the_focus_ring_is_visible(
    app, live_server, new_context, counselor_a
):
    case = new_case(counselor_a)
    _, tokens = assign(case, load_own(counselor_a, small_alert_definition("sizes")))
    _, desire_tokens = assign(case, load_own(counselor_a, PHONE_DOC))
    context, _ = new_context(live_server, **PHONE)
    page = open_section_one(context, tokens["Sam Rivera"])
    sizes = page.eval_on_selector_all(
        ".choice-btn, .scale-btn, .desire-btn, .choice-option label, .portal-actions .btn,"
        " .btn-quick-exit",
        "els => els.filter(e => e.offsetParent).map(e => {"
        " const r = e.getBoundingClientRect();"
        " return [e.textContent.trim().slice(0, 20), r.width, r.height]; })",
    )
    assert len(sizes) >= 11 + 3  # the 0-10 scale, the choices, the actions
    small = [s for s in sizes if s[1] < 44 or s[2] < 44]
    assert small == [], small
    page2 = open_section_one(context, desire_tokens["Sam Rivera"])
    desire = page2.eval_on_selector_all(
        ".desire-btn",
        "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })",
    )
    assert desire and all(w >= 44 and h >= 44 for w, h in desire), desire

    # Keyboard focus on an answer button: a solid ring, >= 2 px, >= 3:1 against the card.
    page.keyboard.press("Tab")
    for _ in range(40):
        if page.evaluate("document.activeElement.classList.contains('btn-check')"):
            break
        page.keyboard.press("Tab")
    ring = page.evaluate(
        "(() => { const l = document.activeElement.nextElementSibling;"
        " const s = getComputedStyle(l);"
        " const card = getComputedStyle(l.closest('.card'));"
        " return [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor,"
        " card.backgroundColor]; })()"
    )
    style, width, color, background = ring
    assert style == "solid" and width >= 2, ring
    assert _contrast(_rgb(color), _rgb(background)) >= 3, ring

"""Partner safety in a real browser (issue 9 §1 and §6): Quick exit by keyboard leaves at once,
Back does not return and the session ends on the server; an answer typed just before the
page goes away is flushed by a beacon; the Saved status is on screen where the partner types.
"""

from __future__ import annotations

import re
import threading

from flask import request, request_finished
from playwright.sync_api import expect
from sqlalchemy import func, select

from counselor.core.practice import PracticeSettings
from counselor.extensions import db
from counselor.portal.models import PortalSessionRecord
from counselor.questionnaires.models import Response
from tests.browser.test_portal import PHONE_DOC, open_section_one
from tests.support import assign, fresh_row, load_own, new_case
from tests.support.browser import PHONE


def _neutral(live_server) -> str:
    """Quick exit goes to a page of the test server (no request may leave the machine)."""
    url = f"{live_server.url}/login?neutral=1"
    db.session.add(PracticeSettings(id=1, quick_exit_url=url))
    db.session.commit()
    return url


def test_quick_exit_by_keyboard_replaces_history_and_ends_the_session(
    app, live_server, new_context, counselor_a
):
    case = new_case(counselor_a)
    _, tokens = assign(case, load_own(counselor_a, PHONE_DOC))
    neutral = _neutral(live_server)
    context, rec = new_context(live_server, **PHONE)
    page = open_section_one(context, tokens["Sam Rivera"])
    expect(page.get_by_text("Talking about fantasies", exact=True)).to_be_visible()
    assert db.session.scalar(select(func.count()).select_from(PortalSessionRecord)) == 1

    # Keyboard only: "Skip to content", then Quick exit.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Quick exit")).to_be_focused()
    # A beacon is invisible to Playwright's network events (and may outlive the page): the
    # server says when it landed.
    ended = threading.Event()

    def finished(sender, response, **extra):
        if request.path == "/p/exit" and request.method == "POST":
            ended.set()

    request_finished.connect(finished, live_server.app)
    try:
        page.keyboard.press("Enter")
        expect(page).to_have_url(neutral)
        assert ended.wait(30), "the Quick exit never reached the server"
    finally:
        request_finished.disconnect(finished, live_server.app)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(PortalSessionRecord)) == 0

    # Back does not return to the section: that entry was replaced, and the page before it
    # (the start page) is fetched anew and finds no session.
    page.go_back()
    assert not page.url.endswith("/p/s/1")
    expect(page.get_by_text("Talking about fantasies", exact=True)).to_have_count(0)
    page.goto("/p/s/1")
    expect(page.get_by_text("Talking about fantasies", exact=True)).to_have_count(0)
    assert page.evaluate("window.__cspViolations") == []
    assert not rec.errors


def test_quick_exit_without_javascript_still_leaves_and_ends_the_session(
    app, live_server, new_context, counselor_a
):
    case = new_case(counselor_a)
    _, tokens = assign(case, load_own(counselor_a, PHONE_DOC))
    neutral = _neutral(live_server)
    context, _ = new_context(live_server, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"/l/{tokens['Alex Novak']}")
    page.get_by_role("button", name="Open my homework").click()
    expect(page).to_have_url(re.compile(r"/p/$"))
    page.get_by_role("button", name="Quick exit").click()
    expect(page).to_have_url(neutral)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(PortalSessionRecord)) == 0


def test_an_answer_typed_just_before_leaving_is_flushed_by_a_beacon(
    app, live_server, new_context, counselor_a
):
    case = new_case(counselor_a)
    _, tokens = assign(case, load_own(counselor_a, PHONE_DOC))
    context, rec = new_context(live_server, **PHONE)
    page = open_section_one(context, tokens["Sam Rivera"])
    box = page.get_by_label("In your own words: what would you like more of?")
    # A beacon is invisible to Playwright's network events: the server says when it landed.
    saved = threading.Event()

    def finished(sender, response, **extra):
        if request.path == "/p/autosave" and response.status_code == 200:
            saved.set()

    request_finished.connect(finished, live_server.app)
    box.fill("beacon-words")
    page.goto("about:blank")  # leave well within the 0.9 s autosave delay
    assert saved.wait(30), "nothing was saved as the page went away"
    sam = next(p for p in case.partners if p.display_name == "Sam Rivera")
    stored = fresh_row(Response, partner_id=sam.id)
    assert stored.answers.get("talk.words") == "beacon-words"


def test_the_saved_status_is_on_screen_where_the_partner_types(
    app, live_server, new_context, counselor_a
):
    case = new_case(counselor_a)
    _, tokens = assign(case, load_own(counselor_a, PHONE_DOC))
    context, _ = new_context(live_server, **{**PHONE, "viewport": {"width": 390, "height": 500}})
    page = open_section_one(context, tokens["Sam Rivera"])
    box = page.get_by_label("In your own words: what would you like more of?")
    box.scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")  # the top of a long section, far from the buttons
    page.locator('[id="item-talk.fantasies"] label').first.tap()
    status = page.locator("#autosave-status")
    expect(status).to_contain_text("Saved")
    rect = status.bounding_box()
    assert rect is not None and 0 <= rect["y"] and rect["y"] + rect["height"] <= 500, rect
